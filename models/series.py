"""Observation series: one value per period, and the transforms analysts ask of them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from models.errors import Invalid
from models.periods import Period
from models.rules import lineage, share_of_a_part
from models.tables import Indicator, Segment, Source, Statistic, citation

TRANSFORMS = ("none", "change", "change_pct", "yoy", "yoy_pct", "share")
# Transform -> (the period a point is compared with, what to say when it has no observation).
COMPARED_WITH: dict[str, tuple[Callable[[Period], Period | None], str]] = {
    "change": (Period.previous, "No observation for the previous period."),
    "change_pct": (Period.previous, "No observation for the previous period."),
    "yoy": (Period.year_earlier, "No observation a year earlier."),
    "yoy_pct": (Period.year_earlier, "No observation a year earlier."),
    "share": (lambda period: period, "No observation of the whole for this period."),
}
PERCENT_TRANSFORMS = ("change_pct", "yoy_pct", "share")
# Percentages are given to two decimal places, as statistical offices publish them.
PERCENT_PLACES = Decimal("0.01")


def percent(ratio: Decimal) -> Decimal:
    """`ratio` as a percentage, rounded as every percentage the service computes is."""
    return (ratio * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class Point:
    """One period of a series: the transformed value, and what it was computed from."""

    period: Period
    value: Decimal | None
    observed: Decimal
    source_id: int
    statistic_id: int
    basis: Decimal | None = None
    basis_statistic_id: int | None = None
    basis_source_id: int | None = None
    note: str | None = None
    citation: str | None = None


@dataclass
class Series:
    indicator: Indicator
    region: str
    segment: Segment
    frequency: str | None
    transform: str
    unit: str
    share_of: str | None
    sources: list[Source]
    points: list[Point]


def series(
    indicator: str,
    region: str,
    segment: str,
    *,
    transform: str = "none",
    share_of: str | None = None,
    source: int | None = None,
    frequency: str | None = None,
    period_from: Period | None = None,
    period_to: Period | None = None,
    latest: int | None = None,
) -> Series:
    """The series and its transform; comparisons reach outside the asked range when needed."""
    measured = Indicator.get_or_none(Indicator.code == indicator)
    part = Segment.get_or_none(Segment.code == segment)
    whole = (share_of or (part.parent_id if part else None)) if transform == "share" else None
    errors = {}
    if measured is None:
        errors["indicator"] = f"There is no indicator {indicator!r}."
    if part is None:
        errors["segment"] = f"There is no segment {segment!r}."
    elif transform == "share" and whole is None:
        errors["share_of"] = f"Segment {segment!r} has no parent: say which segment with share_of."
    if share_of is not None:
        if transform != "share":
            errors["share_of"] = "share_of only applies to transform=share."
        elif not Segment.select().where(Segment.code == share_of).exists():
            errors["share_of"] = f"There is no segment {share_of!r}."
        elif part is not None and segment in lineage(share_of):
            errors["share_of"] = share_of_a_part(segment, share_of)
    if errors:
        raise Invalid(errors)
    assert measured is not None and part is not None  # else `errors` said so

    observed = observations(indicator, region, segment, source, frequency)
    frequencies = sorted({period.frequency for period in observed})
    if len(frequencies) > 1:
        raise Invalid(
            {
                "frequency": f"This series has {', '.join(frequencies)} observations: "
                "choose one with frequency."
            }
        )
    # A share compares with the whole; every other transform with the series itself.
    others = observations(indicator, region, whole, source, frequency) if whole else observed
    points = [_point(period, row, transform, others) for period, row in observed.items()]
    if period_from:
        points = [p for p in points if p.period.end >= period_from.start]
    if period_to:
        points = [p for p in points if p.period.start <= period_to.end]
    if latest:
        points = points[-latest:]
    used = {p.source_id for p in points} | {p.basis_source_id for p in points if p.basis_source_id}
    sources = list(Source.select().where(Source.id.in_(used)).order_by(Source.id))
    cited = {s.id: citation(s.publisher, s.title, s.published_on, s.url) for s in sources}
    for point in points:
        point.citation = cited[point.source_id]
    return Series(
        indicator=measured,
        region=region,
        segment=part,
        frequency=frequencies[0] if frequencies else frequency,
        transform=transform,
        unit="percent" if transform in PERCENT_TRANSFORMS else measured.unit,
        share_of=whole,
        sources=sources,
        points=points,
    )


def observation_query(
    indicator: str,
    region: str,
    segment: str | None,
    source: int | None = None,
    frequency: str | None = None,
) -> Any:
    """The statistics of one series, by period, with their source's publication date."""
    query = (
        Statistic.select(
            Statistic.id,
            Statistic.period_start,
            Statistic.period_end,
            Statistic.value,
            Statistic.source.alias("source_id"),
            Source.published_on,
        )
        .join(Source)
        .where(
            Statistic.indicator == indicator,
            Statistic.region == region,
            Statistic.segment == segment,
        )
    )
    if source is not None:
        query = query.where(Statistic.source == source)
    if frequency is not None:
        query = query.where(Statistic.frequency == frequency)
    # Plain rows, not model instances: a series can be long, and this is on the request path.
    return query.order_by(Statistic.period_start, Statistic.period_end).namedtuples()


def observations(
    indicator: str,
    region: str,
    segment: str | None,
    source: int | None,
    frequency: str | None,
) -> dict[Period, Any]:
    """Period -> statistic, one per period: of several sources, the latest published wins."""
    chosen: dict[Period, Any] = {}
    for row in observation_query(indicator, region, segment, source, frequency):
        period = Period(row.period_start, row.period_end)
        best = chosen.get(period)
        if best is None or _recency(row) > _recency(best):
            chosen[period] = row
    return chosen


def _recency(row: Any) -> tuple[date, int]:
    return (row.published_on or date.min, row.source_id)


def _point(period: Period, row: Any, transform: str, others: dict[Period, Any]) -> Point:
    point = Point(period, row.value, row.value, row.source_id, row.id)
    if transform == "none":
        return point
    shift, point.note = COMPARED_WITH[transform]
    point.value = None
    compared = shift(period)
    if compared is None:
        point.note = f"No comparable period: {period} is {_incomparable(period)}."
        return point
    other = others.get(compared)
    if other is None:
        return point
    point.basis, point.basis_statistic_id, point.basis_source_id = (
        other.value,
        other.id,
        other.source_id,
    )
    point.note = None
    if transform in ("change", "yoy"):
        point.value = row.value - other.value
    elif other.value == 0:
        point.note = "The comparison value is zero."
    elif transform == "share":
        point.value = percent(row.value / other.value)
    else:
        point.value = percent(row.value / other.value - 1)
    return point


def _incomparable(period: Period) -> str:
    if period.frequency == "irregular":
        return "irregular, so it has no previous period of the same length"
    return "a day that recurs only in leap years, or the first period on the calendar"
