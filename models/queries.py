"""List queries: a filter for every dimension, sorting, full-text search and keyset pages."""

import operator
from collections.abc import Callable
from datetime import date
from functools import reduce
from typing import Any, cast

from peewee import Field, Tuple

from models import search
from models.tables import Event, EventTopic, Indicator, Record, Segment, Source, Statistic, Target


def _any_of(column: Field) -> Callable[[Any], Any]:
    return lambda values: column.in_(values)


def _from(column: Field) -> Callable[[Any], Any]:
    return lambda value: column >= value


def _to(column: Field) -> Callable[[Any], Any]:
    return lambda value: column <= value


def _industry_of_indicator(industries: list[str]) -> Any:
    return Statistic.indicator.in_(
        Indicator.select(Indicator.code).where(Indicator.industry.in_(industries))
    )


def _topic(topics: list[str]) -> Any:
    return Event.id.in_(EventTopic.select(EventTopic.event).where(EventTopic.topic.in_(topics)))


# Filter name -> condition builder. Names are the API's; each column filtered has an index
# (which the planner may pass over for a better one, as EXPLAIN in `make bench` shows).
FILTERS: dict[type[Record], dict[str, Callable[[Any], Any]]] = {
    Source: {
        "publisher": _any_of(Source.publisher),
        "published_from": _from(Source.published_on),
        "published_to": _to(Source.published_on),
    },
    Indicator: {"industry": _any_of(Indicator.industry)},
    Segment: {"parent": _any_of(Segment.parent)},
    Event: {
        "country": _any_of(Event.country),
        "industry": _any_of(Event.industry),
        "kind": _any_of(Event.kind),
        "topic": _topic,
        "source_id": _any_of(Event.source),
        "date_from": _from(Event.date),
        "date_to": _to(Event.date),
    },
    Statistic: {
        "indicator": _any_of(Statistic.indicator),
        "region": _any_of(Statistic.region),
        "segment": _any_of(Statistic.segment),
        "industry": _industry_of_indicator,
        "source_id": _any_of(Statistic.source),
        "event_id": _any_of(Statistic.event),
        "frequency": _any_of(Statistic.frequency),
        # Periods overlap the asked range: they end after it starts and start before it ends.
        "period_from": lambda period: Statistic.period_end >= period.start,
        "period_to": lambda period: Statistic.period_start <= period.end,
        "value_min": _from(Statistic.value),
        "value_max": _to(Statistic.value),
    },
    Target: {
        "region": _any_of(Target.region),
        "indicator": _any_of(Target.indicator),
        "segment": _any_of(Target.segment),
        "status": _any_of(Target.status),
        "industry": _any_of(Target.industry),
        "source_id": _any_of(Target.source),
        "event_id": _any_of(Target.event),
        "year_from": lambda year: Target.target_period_end >= date(year, 1, 1),
        "year_to": lambda year: Target.target_period_end <= date(year, 12, 31),
    },
}

# Sort name -> column. Only columns that are never NULL, so that keyset pages are exact.
SORTS: dict[type[Record], dict[str, Field]] = {
    Source: {"id": Source.id, "publisher": Source.publisher, "title": Source.title},
    Indicator: {"code": Indicator.code, "name": Indicator.name},
    Segment: {"code": Segment.code, "name": Segment.name},
    Event: {"date": Event.date, "id": Event.id, "title": Event.title, "kind": Event.kind},
    Statistic: {
        "period_start": Statistic.period_start,
        "period_end": Statistic.period_end,
        "value": Statistic.value,
        "indicator": Statistic.indicator,
        "region": Statistic.region,
        "segment": Statistic.segment,
        "id": Statistic.id,
        "updated_at": Statistic.updated_at,
    },
    Target: {
        "target_period_end": Target.target_period_end,
        "target_value": Target.target_value,
        "region": Target.region,
        "indicator": Target.indicator,
        "id": Target.id,
    },
}
DEFAULT_SORT = {
    Source: ["id"],
    Indicator: ["code"],
    Segment: ["code"],
    Event: ["date"],
    Statistic: ["period_start"],
    Target: ["target_period_end"],
}


def listing(
    model: type[Record],
    filters: dict[str, Any],
    sort: list[str] | None = None,
    q: str | None = None,
) -> tuple[Any, list[tuple[Field, bool]] | None]:
    """The records matching every filter (and the words of `q`), with their order.

    Returns (query, order): `order` is a list of (column, descending) ending in the primary
    key, the complete order that keyset pages walk. With `q` and no `sort`, the best
    matches come first and `order` is None (a ranked list is paged by number only).
    """
    query = model.full()
    for name, value in filters.items():
        query = query.where(FILTERS[model][name](value))
    if q:
        query, rank = search.matching(query, model, q)
        if not sort:
            return query.order_by(rank, model._meta.primary_key), None
    order = order_of(model, sort or DEFAULT_SORT[model])
    return query.order_by(*(column.desc() if desc else column for column, desc in order)), order


def after(query: Any, order: list[tuple[Field, bool]], values: list[Any]) -> Any:
    """`query` narrowed to the rows that come after the row with these `order` values."""
    columns = [column for column, _ in order]
    directions = {desc for _, desc in order}
    if len(directions) == 1:
        # One direction: a row-value comparison, which an index on the columns can serve.
        compare = operator.lt if directions == {True} else operator.gt
        return query.where(compare(Tuple(*columns), Tuple(*values)))
    later = [
        reduce(
            operator.and_,
            [columns[j] == values[j] for j in range(i)]
            + [columns[i] < values[i] if desc else columns[i] > values[i]],
        )
        for i, (_, desc) in enumerate(order)
    ]
    return query.where(reduce(operator.or_, later))


def order_of(model: type[Record], sort: list[str]) -> list[tuple[Field, bool]]:
    """(column, descending) pairs for `-name` style sort keys, the primary key last."""
    order = [(SORTS[model][key.lstrip("-")], key.startswith("-")) for key in sort]
    pk = cast(Field, model._meta.primary_key)  # False only in a table without one
    if all(column is not pk for column, _ in order):
        order.append((pk, order[-1][1]))
    return order
