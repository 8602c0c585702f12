"""System-versioned history: every version of every record, and reads as of any past instant.

Each table has a history table with the same columns plus `valid_from` and `valid_to`: the
interval in which that version was the current one (`valid_to` is NULL while it still is).
A change closes the record's open version and copies the new one, in the change's own
transaction and at the same instant as its revision.

A read as of an instant T puts, in front of each of its selects, one common table expression
per table, named like the table and selecting that table's history rows valid at T. SQL
resolves a name to a common table expression before a table, so every query of the service
(filters, sorts, joins, subqueries, series, checks) reads the past without being rewritten.
The WITH clause is rendered once per backend; T is its only parameter.

A version is stored here only: a revision names it by its record and version (a delete's, the
version it closed) and reads the record from it (`revised`).
"""

import copy
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast

from peewee import (
    JOIN,
    AutoField,
    Case,
    CommaNodeList,
    DateField,
    DateTimeField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    fn,
)

from models.db import BaseModel, among, database, key_list, preamble
from models.tables import Record, Revision, Source, as_text


def _column(field: Field) -> Field:
    """A copy of `field` for a history table: same column and type, no key or uniqueness."""
    if isinstance(field, ForeignKeyField):
        target = field.rel_field
        column = IntegerField() if isinstance(target, AutoField) else copy.copy(target)
        column.null, column.column_name = field.null, field.column_name
    elif isinstance(field, AutoField):
        column = IntegerField()
    else:
        column = copy.copy(field)
    column.primary_key = column.unique = False
    column.index = field.index and not field.unique
    return column


def _history_table(model: type[Model], key: str) -> Any:  # a model made at run time
    fields = {field.name: _column(field) for field in model._meta.sorted_fields}
    indexes = [(columns, False) for columns, _ in model._meta.indexes]
    meta = type(
        "Meta",
        (),
        {
            "table_name": f"{model._meta.table_name}_history",
            "primary_key": False,
            # A version's record first (to close it), then the other table's own indexes:
            # filters read the past as fast as they read the present.
            "indexes": [((key, "valid_from"), False), *indexes],
        },
    )
    return type(
        f"{model.__name__}History",
        (BaseModel,),
        {
            **fields,
            "valid_from": DateTimeField(),
            "valid_to": DateTimeField(null=True),
            "Meta": meta,
            "__doc__": f"Every version of every {model.__name__.lower()}, with when it held.",
        },
    )


# Table -> the field that names a record in it, and -> its history table: every resource's
# table (models/resources.py registers each), and its parts, versioned with it (an event's
# topics, by their event).
KEYS: dict[type[Model], str] = {}
HISTORY: dict[type[Model], Any] = {}  # models made at run time


def track(table: type[Model], key: str) -> None:
    """Keep every version of `table`'s rows from now on, each named by its field `key`."""
    KEYS[table] = key
    HISTORY[table] = _history_table(table, key)
    _with_clause.cache_clear()
    _keep_sql.cache_clear()


def untrack(table: type[Model]) -> None:
    del KEYS[table], HISTORY[table]
    _with_clause.cache_clear()
    _keep_sql.cache_clear()


def tables() -> tuple[type[Model], ...]:
    """The history tables."""
    return tuple(HISTORY.values())


def keep(model: type[Model], keys: list[Any], at: datetime, change: str) -> None:
    """Record a change (create, update or delete) of records at `at`: close their open
    versions, which a new record has none of, and copy their new ones, unless deleted."""
    backend: type = type(database.obj)
    for table in (model, *(part for part in HISTORY if KEYS[part] in _owners(part, model))):
        closing, copying, both = _keep_sql(table, backend)
        # Each statement takes the instant, then the keys (as `among` passes them).
        params = [_INSTANT.db_value(at), key_list(keys)]
        if change == "update" and both:
            database.execute_sql(both, params * 2)
            continue
        if change != "create":
            database.execute_sql(closing, params)
        if change != "delete":
            database.execute_sql(copying, params)


_INSTANT = DateTimeField()
_DAY = DateField()


@cache
def _keep_sql(table: type[Model], backend: type) -> tuple[str, str, str | None]:
    """The SQL that closes the open versions of some of `table`'s records, the SQL that
    copies their current ones, and where the backend can, one statement that does both, for
    `backend`. Every change runs them; building them anew with peewee each time cost more
    than running them."""
    history, stand_in = HISTORY[table], [0]
    closing = history.update(valid_to=datetime(1, 1, 1)).where(
        among(getattr(history, KEYS[table]), stand_in), history.valid_to.is_null()
    )
    current = table.select(
        *table._meta.sorted_fields, history.valid_from.to_value(datetime(1, 1, 1))
    )
    current = current.where(among(getattr(table, KEYS[table]), stand_in))
    copying = history.insert_from(current, _history_fields(table) + [history.valid_from])
    closing_sql, copying_sql = closing.sql()[0], copying.sql()[0]
    if issubclass(backend, SqliteDatabase):  # no UPDATE in a WITH clause
        return closing_sql, copying_sql, None
    # An update's two statements as one, a round trip fewer: its parts see the same snapshot,
    # so the version copied is not among those closed, as when they run one after the other.
    return closing_sql, copying_sql, f'WITH "closed" AS ({closing_sql}) {copying_sql}'


def backfill() -> None:
    """Give each current row without an open version one, valid from its last change.

    For tables made before history existed, and for restores of dumps made before it.
    """
    for table, history in HISTORY.items():
        since = _last_change(table)
        match = [getattr(history, name) == getattr(table, name) for name in _identity(table)]
        known = history.select().where(*match, history.valid_to.is_null())
        current = table.select(*table._meta.sorted_fields, since).where(~fn.EXISTS(known))
        history.insert_from(current, _history_fields(table) + [history.valid_from]).execute()


def _owners(part: type[Model], model: type[Model]) -> list[str]:
    """The fields by which `part` refers to `model`: a part's versions are its record's."""
    return [fk.name for fk in part._meta.refs if fk.rel_model is model and part is not model]


def _last_change(table: type[Model]) -> Any:
    """When each row of `table` last changed: its own `updated_at`, or its record's."""
    if "updated_at" in table._meta.fields:
        return table._meta.fields["updated_at"]
    fk = table._meta.fields[KEYS[table]]
    owner = fk.rel_model
    return owner.select(owner.updated_at).where(owner._meta.primary_key == fk)


def _identity(table: type[Model]) -> list[str]:
    if table._meta.primary_key:
        return [KEYS[table]]
    return list(table._meta.sorted_field_names)  # a part's row is all it holds


def _history_fields(table: type[Model]) -> list[Any]:
    return [getattr(HISTORY[table], field.name) for field in table._meta.sorted_fields]


def _resources() -> dict[str, Any]:
    """Each resource's table by name, as a revision names it (parts have no revisions)."""
    return {table._meta.table_name: table for table in HISTORY if issubclass(table, Record)}


def revised(model: type[Model], query: Any) -> Any:
    """`query` on revisions of `model`'s records, each read with the version it made (for a
    delete, the one it closed): `record_of` gives it."""
    history = HISTORY[model]
    on = _version_of_revision(model)
    return query.select_extend(*_history_fields(model)).join(
        history, JOIN.LEFT_OUTER, on=on, attr="stored"
    )


def with_records(revisions: list[Revision]) -> list[Revision]:
    """`revisions` (of any resources, in any order) read again as `revised` reads them: one
    query per resource among them."""
    by_id: dict[int, Revision] = {}
    for resource in dict.fromkeys(revision.resource for revision in revisions):
        ids = [revision.id for revision in revisions if revision.resource == resource]
        query = revised(_resources()[resource], Revision.select().where(among(Revision.id, ids)))
        by_id.update((found.id, found) for found in query)
    return [by_id[revision.id] for revision in revisions]


def record_of(revision: Revision) -> dict[str, Any] | None:
    """The record as a revision read by `revised` left it (for a delete, as it was), by
    field name, as JSON holds it: decimals, dates and times as text."""
    stored = getattr(revision, "stored", None)
    if stored is None or stored.version is None:
        return None
    names = _resources()[revision.resource]._meta.sorted_field_names
    return {
        name: as_text(value) if isinstance(value, Decimal | date) else value
        for name, value in ((name, stored.__data__.get(name)) for name in names)
    }


def _version_of_revision(model: type[Model]) -> Any:
    """The join of a revision to its version: a create or update made the version it names;
    a delete is a version of its own, after the one it closed."""
    history = HISTORY[model]
    key = getattr(history, KEYS[model])
    named = (
        Revision.key.cast("INTEGER")
        if isinstance(model._meta.primary_key, AutoField)
        else Revision.key
    )
    closed = Case(None, [(Revision.change == "delete", 1)], 0)
    return (
        (Revision.resource == model._meta.table_name)
        & (key == named)
        & (history.version == Revision.version - closed)
    )


def lost_versions() -> list[int]:
    """The ids of revisions whose version history does not hold, one per missing version (a
    delete closes the version an update made; either holds it): those of a database whose
    records changed before history began, or of a dump made then."""
    lost: dict[tuple[str, str, int], int] = {}
    for name, model in _resources().items():
        history = HISTORY[model]
        closed = Case(None, [(Revision.change == "delete", 1)], 0)
        query = (
            Revision.select(Revision.id, Revision.key, Revision.version - closed)
            .join(history, JOIN.LEFT_OUTER, on=_version_of_revision(model))
            .where(Revision.resource == name, history.version.is_null())
            .order_by(Revision.id)
        )
        for revision_id, key, version in cast(Iterable[tuple[int, str, int]], query.tuples()):
            lost.setdefault((name, key, version), revision_id)
    return sorted(lost.values())


def keep_versions(revisions: Iterable[tuple[Any, ...]]) -> None:
    """Store in history the versions that revisions of an older schema held, each given as
    (resource, key, version, change, at, record as JSON text).

    Each is valid for no instant (from its revision's `at` to the same): a read as of any
    instant answers as it did, when history began after them; their revisions read them.
    """
    tables_by_name = _resources()
    columns: dict[str, set[str]] = {}  # those each history table has had by the migration
    for resource, _key, version, change, at, text in revisions:
        model = tables_by_name[resource]
        history = HISTORY[model]
        name = history._meta.table_name
        if name not in columns:
            columns[name] = {column.name for column in database.get_columns(name)}
        fields = history._meta.fields
        record = {f.name: f.default for f in fields.values() if isinstance(f.default, str)}
        record |= {name: value for name, value in json.loads(text).items() if name in fields}
        record |= {"version": version - (change == "delete"), "valid_from": at, "valid_to": at}
        # Only the columns the table has (peewee would add later ones' defaults): a later
        # migration gives the others their values.
        row = {
            fields[f].column_name: fields[f].db_value(value)
            for f, value in record.items()
            if fields[f].column_name in columns[name]
        }
        marks = ", ".join([database.obj.param] * len(row))
        names = ", ".join(f'"{column}"' for column in row)
        database.execute_sql(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', list(row.values()))


# The instant being read, for what is not a table's current state: revisions are history.
instant: ContextVar[datetime | None] = ContextVar("instant", default=None)
# What read_as_of returns, for stop_reading_as_of to undo it.
ReadingTokens = tuple[Token[tuple[str, list[Any]] | None], Token[datetime | None]]
# Stand-ins for the instant and the day in the WITH clause, told apart in its parameters.
_AT, _ON = datetime(1, 1, 1), date(1, 1, 2)
# Read as the instant `now`: only the versions still open, which are the current rows.
_NOW = datetime(9999, 12, 31)


def read_as_of(at: datetime | None = None, known_on: date | None = None) -> ReadingTokens:
    """From now on in this context, every select reads the database as it stood at `at`
    (else as it stands), and of the facts only those whose sources had published them by
    `known_on`, if given."""
    backend: type = type(database.obj)
    sql, stand_ins = _with_clause(backend, known_on is not None)
    values = {_AT: _INSTANT.db_value(at or _NOW), _ON: _DAY.db_value(known_on)}
    return preamble.set((sql, [values[s] for s in stand_ins])), instant.set(at)


def stop_reading_as_of(tokens: ReadingTokens) -> None:
    preamble.reset(tokens[0])
    instant.reset(tokens[1])


@contextmanager
def as_of(at: datetime | None = None, known_on: date | None = None) -> Iterator[None]:
    """`read_as_of` for the length of a block."""
    token = read_as_of(at, known_on)
    try:
        yield
    finally:
        stop_reading_as_of(token)


def reading_the_past() -> bool:
    return instant.get() is not None


def made_by_then(query: Any) -> Any:
    """`query` on revisions, narrowed to those made by the instant being read."""
    at = instant.get()
    return query if at is None else query.where(Revision.at <= at)


@cache
def _with_clause(backend: type, known: bool) -> tuple[str, list[Any]]:
    """The WITH clause that stands every table in for itself at an instant, and if `known`,
    each fact for itself only if its source was published by a day, as SQL for `backend`;
    and its parameters, each `_AT` (the instant) or `_ON` (the day)."""
    ctes = []
    for table, history in HISTORY.items():
        fields = _history_fields(table)
        since, until = history.valid_from, history.valid_to
        valid = (since <= _AT) & (until.is_null() | (until > _AT))
        published = _published(table, history) if known else None
        if published is not None:
            valid &= published
        columns = [field.column_name for field in fields]
        # NOT MATERIALIZED: a table read twice in one query (a union, a subquery) must still
        # be narrowed by that query's conditions, not copied whole first.
        query = history.select(*fields).where(valid)
        ctes.append(query.cte(table._meta.table_name, columns=columns, materialized=False))
    context = database.get_sql_context()
    with context.scope_cte(subquery=False):  # as peewee renders a query's own WITH
        context.literal("WITH ").sql(CommaNodeList(ctes)).literal(" ")
    sql, params = context.query()
    rendered = {_INSTANT.db_value(_AT): _AT, _DAY.db_value(_ON): _ON}
    return sql, [rendered[param] for param in params]


def _published(table: type[Model], history: Any) -> Any | None:
    """The condition on `table`'s history that its rows were published by the day `_ON`: a
    source by its publication date (unknown: not known to be published), a fact by its
    source's, read from the source's own common table expression."""
    if table is Source:
        return history.published_on <= _ON
    cited = [fk for fk in table._meta.refs if fk.rel_model is Source]
    if not cited:
        return None  # not a fact: a vocabulary, or a part of a record
    return getattr(history, cited[0].name).in_(Source.select(Source.id))
