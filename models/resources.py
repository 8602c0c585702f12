"""Each kind of record declared once: its collection, filters, sorts, rules, search and hooks.

Everything the domain does per kind of record (listing, writing, searching, versioning,
importing, exporting) reads a `Resource` from here, never a table of its own keyed by
model. `register` checks a declaration against its table, so a declaration that misses or
misnames something fails when the service starts, not on a request.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from peewee import Expression, Field, ForeignKeyField, Model, Select, fn

from models import history, rules
from models.checks import annotate_statistics
from models.periods import frequency
from models.tables import Event, EventTopic, Indicator, Record, Segment, Source, Statistic, Target


def _unchanged(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Resource:
    """A kind of record, as the domain handles it."""

    model: type[Record]
    collection: str  # the name the API lists its records under: `statistics`
    # Filter name -> what builds its condition from the filter's value. The names are the API's.
    filters: Mapping[str, Callable[[Any], Expression]]
    # Sort name -> column; only columns that are never NULL, so that keyset pages are exact.
    sorts: Mapping[str, Field]
    default_sort: tuple[str, ...]
    # The fields besides the primary key that identify a record (a 409 when repeated); a
    # unique index on the table must hold them.
    natural_key: tuple[str, ...] = ()
    # What tells apart records an import gives, where there is no natural key.
    import_identity: tuple[str, ...] | None = None
    rules: Callable[[dict[str, Any], Any], dict[str, str]] = rules.no_rules
    # The client's fields plus what is derived from them (a statistic's frequency); it may
    # add them to the dict it is given, a copy (`records._prepared`).
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = _unchanged
    # What a read adds to the records it returns (a statistic's derived change).
    annotate: Callable[[list[Any]], list[Any]] = _unchanged
    # The search document: a select of (id, text) for every record; None if not searchable.
    document: Callable[[], Select] | None = None
    # The other kinds of record whose text the document shows, so that a change to one of
    # them rebuilds the documents that quote it.
    document_quotes: tuple[type[Record], ...] = ()
    # Index tables kept with each record (an event's topics), each with what gives its rows
    # (in the table's field order) for a record as stored: rewritten on every write and
    # versioned with the record. A part refers to its record by a foreign key.
    parts: Mapping[type[Model], Callable[[dict[str, Any]], list[tuple[Any, ...]]]] = field(
        default_factory=dict
    )

    @property
    def key(self) -> Field:
        return cast(Field, self.model._meta.primary_key)  # a record's table has one

    @property
    def identity(self) -> tuple[str, ...]:
        return self.natural_key if self.import_identity is None else self.import_identity


# Collection name -> resource, in the order the API documents them.
REGISTRY: dict[str, Resource] = {}
_BY_TABLE: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    """Add a declaration, after checking it against its table."""
    problems = _problems(resource)
    if problems:
        raise TypeError(f"Resource {resource.collection}: {'; '.join(problems)}.")
    REGISTRY[resource.collection] = resource
    _BY_TABLE[resource.model._meta.table_name] = resource
    history.track(resource.model, resource.key.name)
    for part in resource.parts:
        history.track(part, reference(part, resource.model).name)
    return resource


def unregister(collection: str) -> None:
    """Take a declaration out again (for tests that declare a resource of their own)."""
    resource = REGISTRY.pop(collection)
    del _BY_TABLE[resource.model._meta.table_name]
    for table in (resource.model, *resource.parts):
        history.untrack(table)


def _problems(resource: Resource) -> list[str]:
    model, fields = resource.model, resource.model._meta.fields
    problems = []
    if resource.collection in REGISTRY or model._meta.table_name in _BY_TABLE:
        problems.append("declared twice")
    for name in (*resource.natural_key, *(resource.import_identity or ())):
        if name not in fields:
            problems.append(f"{name!r} is not a field of {model.__name__}")
    indexes = [index for index in model._meta.indexes if isinstance(index, tuple)]
    unique = {tuple(columns) for columns, is_unique in indexes if is_unique}
    unique |= {(f.name,) for f in fields.values() if f.unique or f.primary_key}
    if resource.natural_key and tuple(resource.natural_key) not in unique:
        problems.append(f"no unique index holds its natural key {resource.natural_key}")
    for name, column in resource.sorts.items():
        if column.model is not model or column.null:
            problems.append(f"sort {name!r} is not a non-NULL column of {model.__name__}")
    if not resource.default_sort or not set(resource.default_sort) <= set(resource.sorts):
        problems.append(f"its default sort {resource.default_sort} is not among its sorts")
    for table in resource.parts:
        if not _references(table, model):
            problems.append(f"its part {table.__name__} does not refer to it")
    for quoted in resource.document_quotes:
        if not _references(model, quoted):
            problems.append(f"its document quotes {quoted.__name__}, which it does not refer to")
    return problems


def in_dependency_order() -> list[Resource]:
    """Every resource after those its records refer to: the order to store them in.

    Raises TypeError if a resource refers to a kind of record that is not declared, or if
    resources refer to each other in a circle (no order could store them).
    """
    ordered: dict[str, Resource] = {}
    visiting: set[str] = set()

    def visit(resource: Resource) -> None:
        if resource.collection in ordered:
            return
        if resource.collection in visiting:
            raise TypeError(f"Resource {resource.collection} refers to itself through others.")
        visiting.add(resource.collection)
        for fk in resource.model._meta.refs:
            other = _BY_TABLE.get(fk.rel_model._meta.table_name)
            if other is None:
                raise TypeError(
                    f"Resource {resource.collection}: {fk.name} refers to "
                    f"{fk.rel_model.__name__}, which is not declared."
                )
            if other is not resource:  # a record under another of its kind is stored after it
                visit(other)
        ordered[resource.collection] = resource

    for resource in REGISTRY.values():
        visit(resource)
    return list(ordered.values())


def of(model: type[Model]) -> Resource:
    """The declaration of a table's records."""
    return _BY_TABLE[model._meta.table_name]


def collection(table: type[Model] | str) -> str:
    """The collection a table's records are listed in, for the table or its name (as a
    revision or the timeline gives it): `statistics` for Statistic and for "statistic"."""
    name = table if isinstance(table, str) else table._meta.table_name
    return _BY_TABLE[name].collection


def tables() -> list[type[Model]]:
    """Every resource's table and its parts, each after the tables it refers to."""
    return [table for r in in_dependency_order() for table in (r.model, *r.parts)]


def searchable() -> list[Resource]:
    return [resource for resource in REGISTRY.values() if resource.document]


def _references(model: type[Model], other: type[Model]) -> list[ForeignKeyField]:
    return [fk for fk in model._meta.refs if fk.rel_model is other]


def reference(model: type[Model], other: type[Model]) -> ForeignKeyField:
    """The field by which `model` refers to `other`."""
    return _references(model, other)[0]


# -- what declarations are built from ------------------------------------------------------


def any_of(column: Field) -> Callable[[list[Any]], Expression]:
    return lambda values: column.in_(values)


def since(column: Field) -> Callable[[Any], Expression]:
    return lambda value: column >= value


def until(column: Field) -> Callable[[Any], Expression]:
    return lambda value: column <= value


def text(*columns: Field) -> Any:
    """The columns as one space-separated text, NULLs skipped, in SQL both backends speak."""
    joined: Any = fn.COALESCE(columns[0], "")
    for column in columns[1:]:
        joined = Expression(Expression(joined, "||", " "), "||", fn.COALESCE(column, ""))
    return joined.alias("body")


# -- the service's resources ---------------------------------------------------------------


def _industry_of_indicator(industries: list[Any]) -> Expression:
    return Statistic.indicator.in_(
        Indicator.select(Indicator.code).where(Indicator.industry.in_(industries))
    )


def _topic(topics: list[Any]) -> Expression:
    return Event.id.in_(EventTopic.select(EventTopic.event).where(EventTopic.topic.in_(topics)))


def _with_frequency(data: dict[str, Any]) -> dict[str, Any]:
    if "period_start" in data:
        # In place, not a second copy: an import prepares many rows.
        data["frequency"] = frequency(data["period_start"], data["period_end"])
    return data


register(
    Resource(
        Source,
        "sources",
        filters={
            "publisher": any_of(Source.publisher),
            "published_from": since(Source.published_on),
            "published_to": until(Source.published_on),
        },
        sorts={"id": Source.id, "publisher": Source.publisher, "title": Source.title},
        default_sort=("id",),
        natural_key=("url",),
        document=lambda: Source.select(Source.id, text(Source.publisher, Source.title)),
    )
)

register(
    Resource(
        Event,
        "events",
        filters={
            "country": any_of(Event.country),
            "industry": any_of(Event.industry),
            "kind": any_of(Event.kind),
            "topic": _topic,
            "source_id": any_of(Event.source),
            "date_from": since(Event.date),
            "date_to": until(Event.date),
        },
        sorts={"date": Event.date, "id": Event.id, "title": Event.title, "kind": Event.kind},
        default_sort=("date",),
        import_identity=("title", "date", "source"),
        rules=rules.event_rules,
        document=lambda: Event.select(
            Event.id,
            text(Event.title, Event.theme, Event.summary, Event.topics, Event.quote, Source.title),
        ).join(Source),
        document_quotes=(Source,),
        parts={
            EventTopic: lambda event: [(event["id"], t) for t in dict.fromkeys(event["topics"])]
        },
    )
)

register(
    Resource(
        Statistic,
        "statistics",
        filters={
            "indicator": any_of(Statistic.indicator),
            "region": any_of(Statistic.region),
            "segment": any_of(Statistic.segment),
            "industry": _industry_of_indicator,
            "source_id": any_of(Statistic.source),
            "event_id": any_of(Statistic.event),
            "frequency": any_of(Statistic.frequency),
            # Periods overlap the asked range: they end after it starts and start before it ends.
            "period_from": lambda period: Statistic.period_end >= period.start,
            "period_to": lambda period: Statistic.period_start <= period.end,
            # Exactly this period: every figure answering one question (models/series.py).
            "period": lambda period: (
                (Statistic.period_start == period.start) & (Statistic.period_end == period.end)
            ),
            "status": any_of(Statistic.status),
            "rank": any_of(Statistic.rank),
            "value_min": since(Statistic.value),
            "value_max": until(Statistic.value),
        },
        sorts={
            "period_start": Statistic.period_start,
            "period_end": Statistic.period_end,
            "value": Statistic.value,
            "indicator": Statistic.indicator,
            "region": Statistic.region,
            "segment": Statistic.segment,
            "id": Statistic.id,
            "updated_at": Statistic.updated_at,
        },
        default_sort=("period_start",),
        natural_key=("indicator", "region", "segment", "period_start", "period_end", "source"),
        rules=rules.statistic_rules,
        prepare=_with_frequency,
        annotate=annotate_statistics,
        document=lambda: (
            Statistic.select(
                Statistic.id, text(Indicator.name, Segment.name, Statistic.quote, Source.title)
            )
            .join(Indicator)
            .switch(Statistic)
            .join(Segment)
            .switch(Statistic)
            .join(Source)
        ),
        document_quotes=(Source, Indicator, Segment),
    )
)

register(
    Resource(
        Target,
        "targets",
        filters={
            "region": any_of(Target.region),
            "indicator": any_of(Target.indicator),
            "segment": any_of(Target.segment),
            "status": any_of(Target.status),
            "value_status": any_of(Target.value_status),
            "rank": any_of(Target.rank),
            "industry": any_of(Target.industry),
            "source_id": any_of(Target.source),
            "event_id": any_of(Target.event),
            "year_from": lambda year: Target.target_period_end >= date(year, 1, 1),
            "year_to": lambda year: Target.target_period_end <= date(year, 12, 31),
        },
        sorts={
            "target_period_end": Target.target_period_end,
            "target_value": Target.target_value,
            "region": Target.region,
            "indicator": Target.indicator,
            "id": Target.id,
        },
        default_sort=("target_period_end",),
        import_identity=("title", "source"),
        rules=rules.target_rules,
        document=lambda: Target.select(
            Target.id, text(Target.title, Target.issuer, Target.quote, Source.title)
        ).join(Source),
        document_quotes=(Source,),
    )
)

register(
    Resource(
        Indicator,
        "indicators",
        filters={"industry": any_of(Indicator.industry)},
        sorts={"code": Indicator.code, "name": Indicator.name},
        default_sort=("code",),
        natural_key=("code",),
        rules=rules.indicator_rules,
    )
)

register(
    Resource(
        Segment,
        "segments",
        filters={"parent": any_of(Segment.parent)},
        sorts={"code": Segment.code, "name": Segment.name},
        default_sort=("code",),
        natural_key=("code",),
        rules=rules.segment_rules,
    )
)
