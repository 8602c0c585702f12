"""Read and write any record: domain rules, natural keys, references and optimistic locking."""

from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter

from peewee import AutoField, IntegrityError, Model, fn

from models import history, search
from models.db import (
    among,
    database,
    db_values,
    defaults,
    insert_rows,
    one_of,
    rendered,
)
from models.errors import Conflict, DomainError, Invalid, NotFound, PreconditionFailed
from models.periods import Period
from models.tables import (
    Event,
    EventTopic,
    Indicator,
    Record,
    Revision,
    Segment,
    Statistic,
    Target,
    utc_now,
)

BATCH = 500  # values per IN list: well within every backend's limit on parameters

# Who makes the changes being recorded: the HTTP layer says "api"; the CLI is the default.
actor: ContextVar[str] = ContextVar("actor", default="cli")
# Indicators' measures already read while `create_many` checks its rows: a query for each
# row's indicator cost more than the rest of the import together.
measures: ContextVar[dict | None] = ContextVar("measures", default=None)


def fetch(model: type[Record], key) -> Record:
    """The record with primary key `key`, or NotFound."""
    sql, params = _fetch_sql(model, type(database.obj))
    row = next(iter(model.raw(sql, *params[:-1], key)), None)
    if row is None:
        raise NotFound(f"There is no {_label(model)} {key}.")
    return row


@cache
def _fetch_sql(model: type[Record], backend: type) -> tuple[str, list]:
    # Reading one record is the hottest path; building its SQL anew each time cost more
    # than running it. The SQL differs per backend (placeholders, quoting), hence the key.
    # The primary key is the last parameter; 0 stands in for it.
    return model.full().where(model._meta.primary_key == 0).sql()


def create(model: type[Record], data: dict) -> Record:
    """Insert a record after checking its rules, references and natural key."""
    with database.atomic():
        record = _prepared(model, data)
        _check(model, record, key=None)
        _continue_versions(model, [record])
        row = model(**record)
        _write(lambda: row.save(force_insert=True))
        return _written(model, row._pk, "create")


def create_many(model: type[Record], rows: list[dict], twins: dict | None = None):
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
    prepared = [_prepared(model, data) for data in rows]
    stored = {
        fk: _existing(fk.rel_field, {record.get(fk.name) for record in prepared} - {None})
        for fk in model._meta.refs
    }
    twins = find_twins(model, prepared, model.natural_key) if twins is None else dict(twins)
    errors, accepted = {}, {}
    # The rows' indicators cannot change while they are checked: each is read once.
    token = measures.set({})
    try:
        for index, record in enumerate(prepared):
            try:
                _check_rules(model, record, None, lambda fk, value: value in stored[fk])
                twin = twins.get(_identity(record, model.natural_key))
                if twin is not None:
                    raise _twin_conflict(model, twin)
            except DomainError as error:
                errors[index] = error
                continue
            accepted[index] = record
            if model.natural_key:
                twins[_identity(record, model.natural_key)] = "an earlier row"
    finally:
        measures.reset(token)
    if not accepted:
        return {}, errors
    _continue_versions(model, list(accepted.values()))
    stored = _stored_rows(model, list(accepted.values()))
    pk = model._meta.primary_key.name
    ids = dict(zip(accepted, (record[pk] for record in stored), strict=True))
    if model is Event:
        topics = [(r["id"], topic) for r in stored for topic in dict.fromkeys(r["topics"])]
        if topics:
            EventTopic.insert_many(topics, fields=[EventTopic.event, EventTopic.topic]).execute()
    if model in search.SEARCHABLE:
        search.index(model, among(model._meta.primary_key, list(ids.values())))
    _revise(model, stored, "create")
    return ids, errors


def _stored_rows(model: type[Record], records: list[dict]) -> list[dict]:
    """Insert `records` with one statement; returns them as stored: every field, the key and
    the defaults (one instant for all) included."""
    pk = model._meta.primary_key
    fields = [field for field in model._meta.sorted_fields if not isinstance(field, AutoField)]
    names = [field.name for field in fields]
    blank = dict.fromkeys(names) | {field.name: value for field, value in defaults(model).items()}
    stored = [blank | record for record in records]
    rows = list(map(itemgetter(*names), stored))
    keys = _write(lambda: insert_rows(model, fields, rows, returning=pk))
    for record, key in zip(stored, keys, strict=True):
        record[pk.name] = key
    return stored


def _one_at_a_time(model: type[Record], rows: list[dict]) -> tuple[dict, dict]:
    # A record may hang under one created just before it (a segment under a new segment):
    # its parent, and the cycle its parent might close, are checked once that is stored.
    ids, errors = {}, {}
    for index, data in enumerate(rows):
        try:
            with database.atomic():  # a savepoint: a refused row leaves nothing behind
                ids[index] = create(model, data)._pk
        except DomainError as error:
            errors[index] = error
    return ids, errors


def find_twins(model: type[Record], records: list[dict], fields: tuple[str, ...]) -> dict:
    """The stored records with the same `fields` as some of `records`: values -> key."""
    if not fields:
        return {}
    columns = [getattr(model, name) for name in fields]
    wanted = list({_identity(record, fields) for record in records})
    found = {}
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        sql = rendered(_twins, model, fields, len(batch))
        for *values, key in database.execute_sql(sql, db_values(columns, batch)):
            values = (
                column.python_value(value) for column, value in zip(columns, values, strict=True)
            )
            found[tuple(values)] = key
    return found


def _twins(model: type[Record], fields: tuple[str, ...], count: int):
    columns = [getattr(model, name) for name in fields]
    wanted = [[None] * len(fields)] * count  # placeholders: rendered once per count
    return one_of(model.select(*columns, model._meta.primary_key), columns, wanted)


def _identity(record: dict, fields: tuple[str, ...]) -> tuple:
    return tuple(record[name] for name in fields)


def _existing(column, values: set) -> set:
    """Those of `values` that `column` holds."""
    values, found = list(values), set()
    for start in range(0, len(values), BATCH):
        query = column.model.select(column).where(column.in_(values[start : start + BATCH]))
        found.update(value for (value,) in query.tuples())
    return found


def update(model: type[Record], key, data: dict, versions: set[int] | None) -> Record:
    """Change the given fields of a record whose version is one of `versions` (None: any).

    The version test is repeated in the UPDATE's WHERE clause, so of two
    writers holding the same version exactly one succeeds, whatever the
    isolation level.
    """
    pk = model._meta.primary_key
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


def delete(model: type[Record], key, versions: set[int] | None) -> None:
    """Delete a record that nothing refers to, under the same version rule as `update`."""
    pk = model._meta.primary_key
    with database.atomic():
        row = _current(model, key, versions)
        users = Counter()
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


def _current(model: type[Record], key, versions: set[int] | None) -> Record:
    row = fetch(model, key)
    if versions is not None and row.version not in versions:
        raise PreconditionFailed(
            f"The {_label(model)} is at version {row.version}; "
            "read it again and resend with its current ETag."
        )
    return row


def revisions(model: type[Record], key):
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


def _revise(model: type[Record], records: list[dict], change: str) -> None:
    """Record a change to `records` (each as stored after it, by field name; only its key
    and version are read) in the write's own transaction, after it: both are kept, or neither.

    The revision and the record's history share one instant, so reading as of a revision's
    `at` shows the record as that revision left it; the revision reads the record from there.
    """
    # Revision ids follow commit order, or a feed reader who has seen id 11 would never see
    # an id 10 that committed later: writers take turns for their whole transaction, on
    # both backends (models/db.py).
    at = datetime.now(UTC).replace(tzinfo=None)
    pk = model._meta.primary_key.name
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


REVISION_FIELDS = [
    Revision.resource,
    Revision.key,
    Revision.version,
    Revision.change,
    Revision.at,
    Revision.by,
]


def _written(model: type[Record], key, change: str) -> Record:
    """The record as stored after a change, read once to bring its indexes up to date and
    to keep its revision, in the change's transaction."""
    row = fetch(model, key)
    if model is Event:
        EventTopic.delete().where(EventTopic.event == key).execute()
        rows = [(key, topic) for topic in dict.fromkeys(row.topics)]
        if rows:
            EventTopic.insert_many(rows, fields=[EventTopic.event, EventTopic.topic]).execute()
    search.refresh_record(model, key)
    _revise(model, [{model._meta.primary_key.name: key, "version": row.version}], change)
    return row


def _version_test(model: type[Record], versions: set[int] | None) -> list:
    """The WHERE clause that settles If-Match in the database (none for `*`)."""
    return [] if versions is None else [model.version.in_(versions)]


def _write(statement):
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


def _prepared(model: type[Record], data: dict) -> dict:
    """The client's fields plus what is derived from them (a statistic's frequency)."""
    data = dict(data)
    if model is Statistic and "period_start" in data:
        data["frequency"] = Period(data["period_start"], data["period_end"]).frequency
    return data


def _continue_versions(model: type[Record], records: list[dict]) -> None:
    """A code given again after its record was deleted starts where that record's versions
    ended: its revisions and history stay one sequence, and no ETag is handed out twice.
    (Ids are never given again, so only models keyed by a code have any to continue.)"""
    pk = model._meta.primary_key
    if isinstance(pk, AutoField):
        return
    last = dict(
        Revision.select(Revision.key, fn.MAX(Revision.version))
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


def _check(model: type[Record], record: dict, key) -> None:
    """Raise Invalid or Conflict unless `record` (the whole record after a change) may be stored."""
    _check_rules(model, record, key, _stored)
    if model.natural_key:
        pk = model._meta.primary_key
        same = model.select(pk).where(
            *(getattr(model, name) == record[name] for name in model.natural_key)
        )
        if key is not None:
            same = same.where(pk != key)
        twin = same.scalar()
        if twin is not None:
            raise _twin_conflict(model, twin)


def _check_rules(model: type[Record], record: dict, key, exists) -> None:
    """Raise Invalid unless `record` refers only to records that `exists(fk, value)` says are
    stored, and keeps its model's rules."""
    errors = {}
    for fk in model._meta.refs:
        value = record.get(fk.name)
        if value is not None and not exists(fk, value):
            errors[fk.name] = f"There is no {_label(fk.rel_model)} {value!r}."
    errors.update(RULES.get(model, _no_rules)(record, key))
    if errors:
        raise Invalid(errors)


def _stored(fk, value) -> bool:
    return fk.rel_model.select().where(fk.rel_field == value).exists()


def _twin_conflict(model: type[Record], twin) -> Conflict:
    return Conflict(
        f"{_a(model).capitalize()} with the same {', '.join(model.natural_key)} "
        f"already exists: {twin}."
    )


def _no_rules(record: dict, key) -> dict:
    return {}


def _is_count(indicator_code) -> bool:
    known = measures.get()
    if known is not None and indicator_code in known:
        return known[indicator_code] == "count"
    measure = Indicator.select(Indicator.measure).where(Indicator.code == indicator_code).scalar()
    if known is not None:
        known[indicator_code] = measure
    return measure == "count"


def _statistic_rules(record: dict, key) -> dict:
    errors = {}
    if _is_count(record["indicator"]):
        errors.update(_count_rules(record["value"], record.get("change_pct")))
    if record.get("change_pct") is not None and not record.get("change_basis"):
        errors["change_basis"] = "Say what change_pct compares with (for example yoy)."
    return errors


def _count_rules(value, change_pct) -> dict:
    # value = prior * (1 + change_pct / 100), and a count's prior is at least 0: a fall of
    # more than 100% would need a negative prior, and a fall of exactly 100% leaves nothing.
    errors = {}
    if value < 0:
        errors["value"] = "A count cannot be negative."
    if change_pct is None:
        return errors
    if change_pct < -100:
        errors["change_pct"] = (
            "A count cannot fall by more than 100%: the value before would have been negative."
        )
    elif change_pct == -100 and value != 0:
        errors["change_pct"] = "A fall of 100% leaves a count of 0, not this value."
    return errors


def _event_rules(record: dict, key) -> dict:
    if record.get("end_date") and record["end_date"] < record["date"]:
        return {"end_date": "The event cannot end before it starts."}
    return {}


def _target_rules(record: dict, key) -> dict:
    errors = {}
    if record.get("share_of"):
        if not record.get("segment"):
            errors["segment"] = "A share target needs the segment whose share it sets."
        elif record["segment"] in lineage(record["share_of"]):
            errors["share_of"] = share_of_a_part(record["segment"], record["share_of"])
    elif record["target_value"] < 0 and _is_count(record["indicator"]):
        errors["target_value"] = "A count cannot be negative."
    if (record.get("baseline_value") is None) != (record.get("baseline_period_start") is None):
        errors["baseline_value"] = "Give baseline_value and baseline_period together."
    return errors


def _segment_rules(record: dict, key) -> dict:
    # Meeting this segment again on the way up from its new parent would make a cycle.
    above = list(lineage(record.get("parent")))
    if record["code"] in above:
        return {"parent": "A segment cannot be its own ancestor."}
    if key is None or Segment.get_by_id(key).parent_id == record.get("parent"):
        return {}
    # Moved: a share target whose whole is this segment or under it must not be of a segment
    # that would now be above it.
    clash = (
        Target.select(Target.id, Target.segment, Target.share_of)
        .where(Target.share_of.in_(_subtree(record["code"])), Target.segment.in_(above))
        .first()
    )
    if clash:
        return {
            "parent": f"Target {clash.id} gives {clash.segment_id!r} as a share of "
            f"{clash.share_of_id!r}, which would then be part of it."
        }
    return {}


def _subtree(code: str) -> set[str]:
    """A segment's code and those of every segment under it."""
    found, level = {code}, {code}
    while level:
        children = Segment.select(Segment.code).where(Segment.parent.in_(list(level)))
        level = {child for (child,) in children.tuples()} - found
        found |= level
    return found


def lineage(code: str | None) -> Iterator[str]:
    """A segment's code, then its parent's, and so on up to the top; a chain that loops back
    on itself (stored before its rule was checked) ends where it would repeat."""
    seen = set()
    while code is not None and code not in seen:
        yield code
        seen.add(code)
        code = Segment.select(Segment.parent).where(Segment.code == code).scalar()


def share_of_a_part(segment: str, share_of: str) -> str:
    """Why `segment` cannot be taken as a share of `share_of`, which is it or part of it."""
    if segment == share_of:
        return "A segment cannot be a share of itself."
    return f"Segment {share_of!r} is part of {segment!r}, which would be over 100% of it."


def _indicator_rules(record: dict, key) -> dict:
    # Stored values were measured in the old unit: relabelling them would change their meaning.
    if key is None:
        return {}
    old = Indicator.get_by_id(key)
    in_use = old.statistics.exists() or old.targets.exists()
    changed = [f for f in ("unit", "measure") if record[f] != getattr(old, f)]
    if in_use and changed:
        return {f: f"Indicator {key} has data; its {f} cannot change." for f in changed}
    return {}


RULES = {
    Statistic: _statistic_rules,
    Event: _event_rules,
    Target: _target_rules,
    Segment: _segment_rules,
    Indicator: _indicator_rules,
}
