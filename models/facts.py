"""One timeline of every kind of fact: events, statistics and targets, ordered by date."""

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from peewee import SQL, Value

from models import search
from models.tables import (
    Event,
    Indicator,
    Record,
    Segment,
    Source,
    Statistic,
    Target,
    citation,
)

TYPES = ("event", "statistic", "target")
SOURCE_COLUMNS = (
    Source.publisher.alias("source_publisher"),
    Source.title.alias("source_title"),
    Source.published_on.alias("source_published_on"),
    Source.url.alias("source_url"),
)


def _events() -> Any:
    return Event.select(
        Value("event").alias("type"),
        Event.id.alias("id"),
        Event.date.alias("date"),
        Event.title,
        Event.country.alias("region"),
        Event.industry,
        Event.source.alias("source_id"),
        Event.quote,
        *SOURCE_COLUMNS,
    ).join(Source)


def _statistics() -> Any:
    return (
        Statistic.select(
            Value("statistic").alias("type"),
            Statistic.id.alias("id"),
            Statistic.period_end.alias("date"),
            Value(None).alias("title"),
            Statistic.region,
            Indicator.industry,
            Statistic.source.alias("source_id"),
            Statistic.quote,
            *SOURCE_COLUMNS,
        )
        .join(Indicator)
        .switch(Statistic)
        .join(Source)
    )


def _targets() -> Any:
    return (
        Target.select(
            Value("target").alias("type"),
            Target.id.alias("id"),
            Target.announced_on.alias("date"),
            Target.title,
            Target.region,
            Target.industry,
            Target.source.alias("source_id"),
            Target.quote,
            *SOURCE_COLUMNS,
        )
        .join(Source)
        .where(Target.announced_on.is_null(False))
    )


# type -> (its select, the columns its region, industry and date filters apply to)
PARTS: dict[str, tuple[Callable[[], Any], type[Record], Any, Any, Any]] = {
    "event": (_events, Event, Event.country, Event.industry, Event.date),
    "statistic": (
        _statistics,
        Statistic,
        Statistic.region,
        Indicator.industry,
        Statistic.period_end,
    ),
    "target": (_targets, Target, Target.region, Target.industry, Target.announced_on),
}


def timeline(
    types: Iterable[str] = TYPES,
    region: Sequence[str] | None = None,
    industry: Sequence[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: str | None = None,
) -> Any:
    """Every matching fact as a dict, oldest first (then by type and id); see `describe`."""
    parts = []
    for name in dict.fromkeys(types):  # types=event,event is still one list of events
        select, model, region_column, industry_column, date_column = PARTS[name]
        query = select()
        if region:
            query = query.where(region_column.in_(region))
        if industry:
            query = query.where(industry_column.in_(industry))
        if date_from:
            query = query.where(date_column >= date_from)
        if date_to:
            query = query.where(date_column <= date_to)
        if q:
            query, _ = search.matching(query, model, q)
        parts.append(query)
    union = parts[0]
    for part in parts[1:]:
        union = union.union_all(part)
    return union.order_by(SQL("date"), SQL("type"), SQL("id")).dicts()


def describe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give a page of timeline rows their titles (composed for statistics) and citations."""
    titles = _statistic_titles(row["id"] for row in rows if row["type"] == "statistic")
    for row in rows:
        row["title"] = row["title"] or titles[row["id"]]
        row["citation"] = citation(
            row.pop("source_publisher"),
            row.pop("source_title"),
            row.pop("source_published_on"),
            row.pop("source_url"),
        )
    return rows


def _statistic_titles(ids: Iterable[int]) -> dict[int, str]:
    """A readable title for each statistic: what, where, which part, when, how much."""
    rows: Iterable[Any] = (  # Statistics with their indicator's and segment's columns
        Statistic.select(Statistic, Indicator.name, Indicator.unit, Segment.name.alias("part"))
        .join(Indicator)
        .switch(Statistic)
        .join(Segment)
        .where(Statistic.id.in_(list(ids)))
        .objects()
    )
    return {
        row.id: f"{row.name}, {row.region}, {row.part}, {row.period}: "
        f"{row.value.normalize():f} {row.unit}"
        for row in rows
    }
