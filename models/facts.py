"""One timeline of every kind of fact: events, statistics and targets, ordered by date.

Of several statistics answering one question (an indicator, region, segment and period),
the timeline holds the one the series would use (models/figures.py), and says how many
others there are; a question whose figures are all deprecated is left out.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from peewee import SQL, Case, Tuple, Value, fn

from models import search
from models.figures import RANK_ORDER
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


def _preference(statistic: Any, source: Any) -> Any:
    """models.figures.preference as SQL: the rank's order, the publication date (a missing
    one first), the source's id; compared as a row, the greater is preferred."""
    rank = Case(statistic.rank, list(RANK_ORDER.items()), 0)
    # date.min as models.figures reads a missing date; a literal, typed by the column.
    published = fn.COALESCE(source.published_on, SQL("'0001-01-01'"))
    return Tuple(rank, published, statistic.source)


def _same_question(other: Any) -> list[Any]:
    """The conditions that `other` (an alias of Statistic) is another figure answering the
    same question as the statistic being read: indicator, region, segment and period."""
    return [
        other.indicator == Statistic.indicator,
        other.region == Statistic.region,
        other.segment == Statistic.segment,
        other.period_start == Statistic.period_start,
        other.period_end == Statistic.period_end,
        other.id != Statistic.id,
    ]


def _chosen() -> Any:
    """Whether a statistic is the figure used for its question: not deprecated, and no
    figure for the same question that may be used is preferred to it."""
    other, other_source = Statistic.alias(), Source.alias()
    better = (
        other.select(SQL("1"))
        .join(other_source, on=(other.source == other_source.id))
        .where(
            *_same_question(other),
            other.rank != "deprecated",
            _preference(other, other_source) > _preference(Statistic, Source),
        )
    )
    return (Statistic.rank != "deprecated") & ~fn.EXISTS(better)


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
        .where(_chosen())
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
    """Give a page of timeline rows their titles (composed for statistics) and citations; a
    statistic also how many other figures answer its question (`alternatives`) and that
    question (`question`: indicator, region, segment, period), which lists them all."""
    described = _described_statistics(row["id"] for row in rows if row["type"] == "statistic")
    for row in rows:
        title, row["alternatives"], row["question"] = described.get(
            (row["type"], row["id"]), (None, None, None)
        )
        row["title"] = row["title"] or title
        row["citation"] = citation(
            row.pop("source_publisher"),
            row.pop("source_title"),
            row.pop("source_published_on"),
            row.pop("source_url"),
        )
    return rows


def _described_statistics(ids: Iterable[int]) -> dict[tuple[str, int], tuple[str, int, Any]]:
    """("statistic", id) -> a readable title (what, where, which part, when, how much), how
    many other figures answer the same question, and the question."""
    other = Statistic.alias()
    others = other.select(fn.COUNT(SQL("1"))).where(*_same_question(other)).alias("others")
    rows: Iterable[Any] = (  # Statistics with their indicator's and segment's columns
        Statistic.select(
            Statistic, Indicator.name, Indicator.unit, Segment.name.alias("part"), others
        )
        .join(Indicator)
        .switch(Statistic)
        .join(Segment)
        .where(Statistic.id.in_(list(ids)))
        .objects()
    )
    return {
        ("statistic", row.id): (
            f"{row.name}, {row.region}, {row.part}, {row.period}: "
            f"{row.value.normalize():f} {row.unit}",
            row.others,
            {
                "indicator": row.indicator_id,
                "region": row.region,
                "segment": row.segment_id,
                "period": row.period.label,
            },
        )
        for row in rows
    }
