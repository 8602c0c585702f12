"""Read and write any record: domain rules, natural keys, references and optimistic locking."""

from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any, TypeVar, cast

from peewee import (
    AutoField,
    DateTimeField,
    Field,
    ForeignKeyField,
    IntegrityError,
    Model,
    SqliteDatabase,
    fn,
)
from playhouse.shortcuts import model_to_dict

from models import history, resources, rules, search, stamp
from models.db import (
    among,
    column_type,
    database,
    db_columns,
    db_values,
    defaults,
    in_arrays,
    insert_rows,
    is_sqlite,
    key_list,
    one_of,
    rendered,
)
from models.errors import Conflict, DomainError, Invalid, NotFound, PreconditionFailed
from models.tables import Record, Revision, utc_now

BATCH = 500  # values per IN list: well within every backend's limit on parameters

# Who makes the changes being recorded: the HTTP layer says "api"; the CLI is the default.
actor: ContextVar[str] = ContextVar("actor", default="cli")

R = TypeVar("R", bound=Record)
T = TypeVar("T")


def fetch(model: type[R], key: int | str) -> R:
    """The record with primary key `key`, or NotFound."""
    backend: type = type(database.obj)
    sql, params = _fetch_sql(model, backend)
    row: R | None = next(iter(model.raw(sql, *params[:-1], key)), None)
    if row is None:
        raise NotFound(f"There is no {_label(model)} {key}.")
    return row


@cache
def _fetch_sql(model: type[Record], backend: type) -> tuple[str, list[Any]]:
    # Reading one record is the hottest path; building its SQL anew each time cost more
    # than running it. The SQL differs per backend (placeholders, quoting), hence the key.
    # The primary key is the last parameter; 0 stands in for it.
    sql: tuple[str, list[Any]] = model.full().where(model._meta.primary_key == 0).sql()
    return sql


def create(model: type[R], data: dict[str, Any]) -> R:
    """Insert a record after checking its rules, references and natural key."""
    with database.atomic():
        record = _prepared(model, data)
        _check(model, record, key=None)
        _continue_versions(model, [record])
        row = model(**record)
        _write(lambda: row.save(force_insert=True))
        # Model._pk, the primary key's value, is missing from peewee's stubs.
        return _written(model, row._pk, "create")  # type: ignore[attr-defined]


def create_many(
    model: type[Record], rows: list[dict[str, Any]], twins: dict[tuple[Any, ...], Any] | None = None
) -> tuple[dict[int, Any], dict[int, DomainError]]:
    """Insert new records in bulk, each checked as `create` checks one.

    Returns (ids, errors), each by position in `rows`. A row that breaks a rule, refers to
    a missing record or repeats a natural key (stored, or earlier in `rows`) is left out
    with its error; the others are stored with their revisions, history and search
    documents, a few statements for all of them rather than a dozen each. `twins` is what
    `find_twins` says of the rows' natural keys, when the caller has asked it already. Call
    it inside the transaction that decides whether any of it is kept.
    """
    if any(fk.rel_model is model for fk in model._meta.refs):
        return _one_at_a_time(model, rows)
    resource = resources.of(model)
    natural_key = resource.natural_key
    prepared = [_prepared(model, data) for data in rows]
    given = {fk: {record.get(fk.name) for record in prepared} - {None} for fk in model._meta.refs}
    existing = {fk: _existing(fk.rel_field, values) for fk, values in given.items()}
    # Unless some reference is missing (in most chunks none is), no row need look for its own.
    all_stored = all(values <= existing[fk] for fk, values in given.items())
    keys = list(map(identity(natural_key), prepared))
    twins = find_twins(model, keys, natural_key) if twins is None else dict(twins)
    errors, accepted = {}, {}
    # The rows' indicators cannot change while they are checked: each is read once.
    with rules.measures_read_once():
        for index, record in enumerate(prepared):
            try:
                if all_stored:
                    _check_own_rules(resource, record)
                else:
                    _check_rules(model, record, None, lambda fk, value: value in existing[fk])
                twin = twins.get(keys[index])
                if twin is not None:
                    raise _twin_conflict(model, twin)
            except DomainError as error:
                errors[index] = error
                continue
            accepted[index] = record
            if natural_key:
                twins[keys[index]] = "an earlier row"
    if not accepted:
        return {}, errors
    _continue_versions(model, list(accepted.values()))
    stored = _stored_rows(model, list(accepted.values()))
    pk = cast(Field, model._meta.primary_key).name  # a record's table has one (else False)
    ids = dict(zip(accepted, (record[pk] for record in stored), strict=True))
    _store_parts(model, stored)
    if resources.of(model).document:
        search.index_records(model, list(ids.values()))
    _revise_created(model, list(ids.values()))
    return ids, errors


def _stored_rows(model: type[Record], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert `records` with one statement; returns them as stored: every field, the key and
    the defaults (one instant for all) included."""
    pk = cast(Field, model._meta.primary_key)
    fields = [field for field in model._meta.sorted_fields if not isinstance(field, AutoField)]
    names = [field.name for field in fields]
    blank = dict.fromkeys(names) | {field.name: value for field, value in defaults(model).items()}
    stored = [blank | record for record in records]
    rows = list(map(itemgetter(*names), stored))
    keys = _write(lambda: insert_rows(model, fields, rows, returning=pk))
    for record, key in zip(stored, keys, strict=True):
        record[pk.name] = key
    return stored


def _one_at_a_time(
    model: type[Record], rows: list[dict[str, Any]]
) -> tuple[dict[int, Any], dict[int, DomainError]]:
    # A record may hang under one created just before it (a segment under a new segment):
    # its parent, and the cycle its parent might close, are checked once that is stored.
    ids: dict[int, Any] = {}
    errors: dict[int, DomainError] = {}
    for index, data in enumerate(rows):
        try:
            with database.atomic():  # a savepoint: a refused row leaves nothing behind
                ids[index] = create(model, data)._pk  # type: ignore[attr-defined]  # as above
        except DomainError as error:
            errors[index] = error
    return ids, errors


def find_twins(
    model: type[Record], keys: list[tuple[Any, ...]], fields: tuple[str, ...]
) -> dict[tuple[Any, ...], Any]:
    """The stored records whose `fields` hold one of `keys` (each `identity(fields)` of a
    record): values -> primary key."""
    if not fields:
        return {}
    columns = [getattr(model, name) for name in fields]
    wanted = list(set(keys))
    if is_sqlite():
        # A VALUES list a batch at a time: within SQLite's limit on parameters.
        batches = [wanted[start : start + BATCH] for start in range(0, len(wanted), BATCH)]
        queries = [
            (rendered(_twins, model, fields, len(batch)), db_values(columns, batch))
            for batch in batches
        ]
    else:
        # All at once, one array a column: a short statement, parsed once (`insert_rows`).
        arrays = [list(column) for column in db_columns(columns, wanted)]
        queries = [(rendered(_twins_in_arrays, model, fields), arrays)] if wanted else []
    found = {}
    for sql, params in queries:
        for *values, key in database.execute_sql(sql, params):
            values = (
                column.python_value(value) for column, value in zip(columns, values, strict=True)
            )
            found[tuple(values)] = key
    return found


def _twins(model: type[Record], fields: tuple[str, ...], count: int) -> Any:
    columns = [getattr(model, name) for name in fields]
    wanted = [[None] * len(fields)] * count  # placeholders: rendered once per count
    return one_of(model.select(*columns, model._meta.primary_key), columns, wanted)


def _twins_in_arrays(model: type[Record], fields: tuple[str, ...]) -> Any:
    columns = [getattr(model, name) for name in fields]
    return in_arrays(model.select(*columns, model._meta.primary_key), model, columns)


@cache
def identity(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """What reads a record's `fields` as a tuple (a natural key): itemgetter, which gives a
    bare value for one field, made to give a tuple always."""
    if not fields:
        return lambda record: ()
    if len(fields) == 1:
        (name,) = fields
        return lambda record: (record[name],)
    return cast(Callable[[dict[str, Any]], tuple[Any, ...]], itemgetter(*fields))


def _existing(column: Field, values: set[Any]) -> set[Any]:
    """Those of `values` that `column` holds."""
    if not values:
        return set()
    # With SQL rendered once: for the few values of a chunk's column (its one indicator,
    # say), building the query took longer than running it.
    cursor = database.execute_sql(rendered(_holding, column), [key_list(list(values))])
    return {column.python_value(value) for (value,) in cursor}


def _holding(column: Field) -> Any:
    return column.model.select(column).where(among(column, [None]))  # None: a stand-in


def update(model: type[R], key: int | str, data: dict[str, Any], versions: set[int] | None) -> R:
    """Change the given fields of a record whose version is one of `versions` (None: any).

    The version test is repeated in the UPDATE's WHERE clause, so of two
    writers holding the same version exactly one succeeds, whatever the
    isolation level.
    """
    pk = cast(Field, model._meta.primary_key)
    with database.atomic():
        row = _current(model, key, versions)
        if pk.name in data and data[pk.name] != key:
            raise Invalid({pk.name: f"The {pk.name} of {_a(model)} cannot change."})
        changes = _prepared(model, data)
        _check(model, {**row.__data__, **changes}, key=key)
        query = model.update(**changes, version=model.version + 1, updated_at=utc_now()).where(
            pk == key, *_version_test(model, versions)
        )
        if not _write(query.execute):
            raise PreconditionFailed(f"The {_label(model)} changed while this request ran.")
        return _written(model, key, "update")


def delete(model: type[Record], key: int | str, versions: set[int] | None) -> None:
    """Delete a record that nothing refers to, under the same version rule as `update`."""
    pk = cast(Field, model._meta.primary_key)
    with database.atomic():
        row = _current(model, key, versions)
        users: Counter[type[Record]] = Counter()
        for fk, referrer in model._meta.backrefs.items():
            # Index rows (an event's topics) go with the record; only other records hold it.
            if issubclass(referrer, Record):
                users[referrer] += referrer.select().where(fk == key).count()
        if users.total():
            cited = ", ".join(
                f"{n} {m._meta.table_name}{'s' if n > 1 else ''}" for m, n in users.items() if n
            )
            raise Conflict(
                f"{_label(model).capitalize()} {key} is still referred to by {cited}; "
                "delete those or point them elsewhere first."
            )
        search.forget(model, key)
        query = model.delete().where(pk == key, *_version_test(model, versions))
        if not _write(query.execute):
            raise PreconditionFailed(f"The {_label(model)} changed while this request ran.")
        _revise(model, [{pk.name: key, "version": row.version}], "delete")


def _current(model: type[R], key: int | str, versions: set[int] | None) -> R:
    row = fetch(model, key)
    if versions is not None and row.version not in versions:
        raise PreconditionFailed(
            f"The {_label(model)} is at version {row.version}; "
            "read it again and resend with its current ETag."
        )
    return row


def revisions(model: type[Record], key: int | str) -> Any:
    """The revisions of a record, newest first, each with its version (`history.record_of`);
    they outlive the record itself."""
    query = Revision.select().where(
        Revision.resource == model._meta.table_name, Revision.key == str(key)
    )
    query = history.revised(model, history.made_by_then(query))
    return query.order_by(Revision.version.desc())


def changes(after: int, limit: int) -> list[Revision]:
    """Up to `limit` revisions of every resource, in commit order, after revision `after`,
    each with its version (`history.record_of`)."""
    query = history.made_by_then(Revision.select().where(Revision.id > after))
    return history.with_records(list(query.order_by(Revision.id).limit(limit)))


def _revise(model: type[Record], records: list[dict[str, Any]], change: str) -> None:
    """Record a change to `records` (each as stored after it, by field name; only its key
    and version are read) in the write's own transaction, after it: both are kept, or neither.

    The revision and the record's history share one instant, so reading as of a revision's
    `at` shows the record as that revision left it; the revision reads the record from there.
    """
    # Revision ids follow commit order, or a feed reader who has seen id 11 would never see
    # an id 10 that committed later: writers take turns for their whole transaction, on
    # both backends (models/db.py).
    at = datetime.now(UTC).replace(tzinfo=None)
    pk = cast(Field, model._meta.primary_key).name
    step = 1 if change == "delete" else 0  # a deletion is a version of its own
    rows = [
        (
            model._meta.table_name,
            str(record[pk]),
            record["version"] + step,
            change,
            at,
            actor.get(),
        )
        for record in records
    ]
    insert_rows(Revision, REVISION_FIELDS, rows)
    history.keep(model, [record[pk] for record in records], at, change)
    stamp.restamp()  # every change to a record passes here: the cached reads of it end


def _revise_created(model: type[Record], keys: list[Any]) -> None:
    """`_revise` of records just created, `keys` in the order they were stored: their
    revisions are copied from the stored rows by one INSERT ... SELECT, in that order, rather
    than sent a value at a time (which took three times as long to run)."""
    at = datetime.now(UTC).replace(tzinfo=None)
    backend: type = type(database.obj)
    sql = _revising_sql(model, backend)
    database.execute_sql(sql, ["create", _INSTANT.db_value(at), actor.get(), key_list(keys)])
    history.keep(model, keys, at, "create")
    stamp.restamp()


_INSTANT = DateTimeField()


@cache
def _revising_sql(model: type[Record], backend: type) -> str:
    """The SQL of `_revise_created` for `backend`: its parameters are the change, the instant,
    the actor and the keys (as `key_list` passes them), each key's revision in their order."""
    key = cast(Field, model._meta.primary_key)
    pk = key.column_name
    if issubclass(backend, SqliteDatabase):
        mark, keys, position = "?", "json_each(?) AS wanted", "wanted.key"
    else:
        keys = f"unnest(%s::{column_type(key)}[]) WITH ORDINALITY AS wanted (value, position)"
        mark, position = "%s", "wanted.position"
    columns = ", ".join(f'"{field.column_name}"' for field in REVISION_FIELDS)
    return (
        f'INSERT INTO "{Revision._meta.table_name}" ({columns}) '
        f'SELECT \'{model._meta.table_name}\', CAST(stored."{pk}" AS TEXT), stored."version", '
        f"{mark}, {mark}, {mark} "
        f'FROM {keys} JOIN "{model._meta.table_name}" AS stored ON stored."{pk}" = wanted.value '
        f"ORDER BY {position}"
    )


REVISION_FIELDS: list[Field] = [
    Revision.resource,
    Revision.key,
    Revision.version,
    Revision.change,
    Revision.at,
    Revision.by,
]


def _written(model: type[R], key: int | str, change: str) -> R:
    """The record as stored after a change, read once to bring its indexes up to date and
    to keep its revision, in the change's transaction."""
    row = fetch(model, key)
    record = model_to_dict(row, recurse=False)
    _store_parts(model, [record], replace=True)
    search.refresh_record(model, key)
    _revise(model, [record], change)
    return row


def _store_parts(model: type[Record], records: list[dict[str, Any]], replace: bool = False) -> None:
    """Write the index rows kept with `records` (an event's topics), in place of those they
    had if `replace`."""
    pk = cast(Field, model._meta.primary_key).name
    for table, rows_of in resources.of(model).parts.items():
        if replace:
            owner = resources.reference(table, model)
            table.delete().where(among(owner, [record[pk] for record in records])).execute()
        rows = [row for record in records for row in rows_of(record)]
        if rows:
            table.insert_many(rows, fields=table._meta.sorted_fields).execute()


def _version_test(model: type[Record], versions: set[int] | None) -> list[Any]:
    """The WHERE clause that settles If-Match in the database (none for `*`)."""
    return [] if versions is None else [model.version.in_(versions)]


def _write(statement: Callable[[], T]) -> T:
    """Run a write; a constraint the checks could not foresee (a race) is a conflict, not a 500."""
    try:
        return statement()
    except IntegrityError as error:
        raise Conflict(f"The change conflicts with stored data ({error}).") from None


def _label(model: type[Model]) -> str:
    return model.__name__.lower()


def _a(model: type[Model]) -> str:
    label = _label(model)
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _prepared(model: type[Record], data: dict[str, Any]) -> dict[str, Any]:
    """The client's fields plus what is derived from them (a statistic's frequency)."""
    return resources.of(model).prepare(dict(data))


def _continue_versions(model: type[Record], records: list[dict[str, Any]]) -> None:
    """A code given again after its record was deleted starts where that record's versions
    ended: its revisions and history stay one sequence, and no ETag is handed out twice.
    (Ids are never given again, so only models keyed by a code have any to continue.)"""
    pk = cast(Field, model._meta.primary_key)
    if isinstance(pk, AutoField):
        return
    # peewee's stubs have a select iterate as models, whatever tuples() made of it.
    last: dict[str, int] = dict(
        Revision.select(Revision.key, fn.MAX(Revision.version))  # type: ignore[arg-type]
        .where(
            Revision.resource == model._meta.table_name,
            Revision.key.in_([str(record[pk.name]) for record in records]),
        )
        .group_by(Revision.key)
        .tuples()
    )
    for record in records:
        if (version := last.get(str(record[pk.name]))) is not None:
            record["version"] = version + 1


def _check(model: type[Record], record: dict[str, Any], key: int | str | None) -> None:
    """Raise Invalid or Conflict unless `record` (the whole record after a change) may be stored."""
    _check_rules(model, record, key, _stored)
    natural_key = resources.of(model).natural_key
    if natural_key:
        pk = model._meta.primary_key
        same = model.select(pk).where(
            *(getattr(model, name) == record[name] for name in natural_key)
        )
        if key is not None:
            same = same.where(pk != key)
        twin = same.scalar()
        if twin is not None:
            raise _twin_conflict(model, twin)


def _check_rules(
    model: type[Record],
    record: dict[str, Any],
    key: int | str | None,
    exists: Callable[[ForeignKeyField, Any], bool],
) -> None:
    """Raise Invalid unless `record` refers only to records that `exists(fk, value)` says are
    stored, and keeps its model's rules."""
    errors = {}
    for fk in model._meta.refs:
        value = record.get(fk.name)
        if value is not None and not exists(fk, value):
            errors[fk.name] = f"There is no {_label(fk.rel_model)} {value!r}."
    errors.update(resources.of(model).rules(record, key))
    if errors:
        raise Invalid(errors)


def _check_own_rules(resource: resources.Resource, record: dict[str, Any]) -> None:
    """`_check_rules` of a new record whose references are all stored: its model's rules."""
    errors = resource.rules(record, None)
    if errors:
        raise Invalid(errors)


def _stored(fk: ForeignKeyField, value: Any) -> bool:
    return bool(fk.rel_model.select().where(fk.rel_field == value).exists())


def _twin_conflict(model: type[Record], twin: object) -> Conflict:
    return Conflict(
        f"{_a(model).capitalize()} with the same {', '.join(resources.of(model).natural_key)} "
        f"already exists: {twin}."
    )
