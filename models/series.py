"""Observation series: one value per period, and the transforms analysts ask of them.

Where several stored figures answer one question (an indicator, region, segment and period),
the series uses one, as models/figures.py ranks them: the preferred one, else the most
recently published normal one, never a deprecated one. Forecasts are used like any other
figure (each point says its status); target progress leaves them out before choosing. A
point whose figure has status `break` starts the series anew: no transform compares it, or
a later point, with a period that starts before it. Vintages list every figure of a period
as published, and the figure the rule would have chosen among those published by a date.
"""

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from models.errors import Invalid
from models.figures import preference
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


# At most this many vintage dates a request may ask for: each is a column.
MOST_VINTAGE_DATES = 20


class Observation(NamedTuple):
    """The figure a series uses for one period, and how many other stored figures answer
    the same question (deprecated ones included)."""

    id: int
    value: Decimal
    source_id: int
    published_on: date | None
    status: str
    rank: str
    alternatives: int


@dataclass
class Point:
    """One period of a series: the transformed value, and what it was computed from."""

    period: Period
    value: Decimal | None
    observed: Decimal
    source_id: int
    statistic_id: int
    status: str = "reported"
    rank: str = "normal"
    alternatives: int = 0
    basis: Decimal | None = None
    basis_statistic_id: int | None = None
    basis_source_id: int | None = None
    note: str | None = None
    citation: str | None = None


@dataclass
class Release:
    """One stored figure of a period, as its source published it."""

    statistic_id: int
    source_id: int
    published_on: date | None
    value: Decimal
    status: str
    rank: str
    chosen: bool  # the figure the series uses today


@dataclass
class AsPublished:
    """The figure the choice rule picks among those published on or before `date`."""

    date: date
    value: Decimal | None
    statistic_id: int | None


@dataclass
class Vintage:
    """Every stored figure of one period, oldest publication first, and as of each date."""

    period: Period
    releases: list[Release] | None = None
    by_date: list[AsPublished] | None = None


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
    vintage_dates: list[date] | None = None
    vintages: list[Vintage] | None = None
    # The series' question, without its period: what lists a point's stored figures.
    question: dict[str, str] = field(default_factory=dict)


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
    vintages: bool = False,
    vintage_dates: Iterable[date] | None = None,
) -> Series:
    """The series and its transform; comparisons reach outside the asked range when needed.

    With `vintages`, each period's stored figures as published; with `vintage_dates`, the
    figure chosen among those published by each date. Both are of stored figures, so they
    take no transform.
    """
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
    dates = sorted(set(vintage_dates or ()))
    if len(dates) > MOST_VINTAGE_DATES:
        errors["vintage_dates"] = f"At most {MOST_VINTAGE_DATES} dates."
    if (vintages or dates) and transform != "none":
        asked = "vintages" if vintages else "vintage_dates"
        errors["transform"] = (
            f"{asked} lists stored figures as published: it takes no transform (give none)."
        )
    if errors:
        raise Invalid(errors)
    assert measured is not None and part is not None  # else `errors` said so

    stored = stored_figures(indicator, region, segment, frequency)
    observed = chosen(stored, source)
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
    # Where the series starts anew: a break is never compared across (not so for a share,
    # which compares parts of one period).
    breaks = [p for p, row in observed.items() if row.status == "break"]
    if transform == "share":
        breaks = []
    points = [_point(period, row, transform, others, breaks) for period, row in observed.items()]
    points = _within(points, period_from, period_to, latest)
    found = None
    if vintages or dates:
        found = _within(
            _vintages(stored, observed, source, vintages, dates), period_from, period_to, latest
        )
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
        vintage_dates=dates or None,
        vintages=found,
        question={"indicator": indicator, "region": region, "segment": segment},
    )


def _within(
    items: list[Any], period_from: Period | None, period_to: Period | None, latest: int | None
) -> list[Any]:
    """The points (or vintages) in the asked range, and only the latest of them if asked."""
    if period_from:
        items = [p for p in items if p.period.end >= period_from.start]
    if period_to:
        items = [p for p in items if p.period.start <= period_to.end]
    return items[-latest:] if latest else items


def observation_query(
    indicator: str,
    region: str,
    segment: str | None,
    source: int | None = None,
    frequency: str | None = None,
) -> Any:
    """The statistics of one series, by period, with their source's publication date, every
    figure of a period (each source's) included."""
    query = (
        Statistic.select(
            Statistic.id,
            Statistic.period_start,
            Statistic.period_end,
            Statistic.value,
            Statistic.source.alias("source_id"),
            Source.published_on,
            Statistic.status,
            Statistic.rank,
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


def stored_figures(
    indicator: str, region: str, segment: str | None, frequency: str | None = None
) -> dict[Period, list[Any]]:
    """Period -> every stored figure answering the question for that period, by period."""
    stored: dict[Period, list[Any]] = {}
    for row in observation_query(indicator, region, segment, None, frequency):
        period = Period(row.period_start, row.period_end)
        figures = stored.get(period)
        if figures is None:
            stored[period] = [row]
        else:
            figures.append(row)
    return stored


def chosen(
    stored: dict[Period, list[Any]], source: int | None = None, forecasts: bool = True
) -> dict[Period, Observation]:
    """Period -> the figure to use (models.figures.preference), among one source's figures if
    `source` is given and never a deprecated one; without `forecasts`, forecasts are left
    out before choosing. A period none of whose figures may be used has no entry."""
    used: dict[Period, Observation] = {}
    for period, figures in stored.items():
        best = None
        for row in figures:
            if (
                row.rank == "deprecated"
                or (source is not None and row.source_id != source)
                or (not forecasts and row.status == "forecast")
            ):
                continue
            if best is None or _preference(row) > _preference(best):
                best = row
        if best is not None:
            used[period] = Observation(
                best.id,
                best.value,
                best.source_id,
                best.published_on,
                best.status,
                best.rank,
                len(figures) - 1,
            )
    return used


def observations(
    indicator: str,
    region: str,
    segment: str | None,
    source: int | None,
    frequency: str | None,
    forecasts: bool = True,
) -> dict[Period, Observation]:
    """Period -> the figure used for it: of several, the one models.figures prefers."""
    return chosen(stored_figures(indicator, region, segment, frequency), source, forecasts)


def _preference(row: Any) -> tuple[Any, ...]:
    return preference(row.rank, row.published_on, row.source_id)


def _vintages(
    stored: dict[Period, list[Any]],
    used: dict[Period, Observation],
    source: int | None,
    releases: bool,
    dates: list[date],
) -> list[Vintage]:
    """Each period's figures, oldest publication first (a source without a date first), and
    the figure chosen among those published by each of `dates` (a figure whose source has
    no publication date was published on no known date, so by none of them)."""
    found = []
    for period, figures in stored.items():
        mine = [row for row in figures if source is None or row.source_id == source]
        if not mine:
            continue
        mine.sort(key=lambda row: (_published(row) or date.min, row.source_id))
        vintage = Vintage(period)
        if releases:
            today = used.get(period)
            vintage.releases = [
                Release(
                    row.id,
                    row.source_id,
                    _published(row),
                    row.value,
                    row.status,
                    row.rank,
                    today is not None and today.id == row.id,
                )
                for row in mine
            ]
        if dates:
            vintage.by_date = []
            for day in dates:
                by_then = [r for r in mine if (_published(r) or date.max) <= day]
                pick = chosen({period: by_then}).get(period)
                vintage.by_date.append(
                    AsPublished(day, pick.value if pick else None, pick.id if pick else None)
                )
        found.append(vintage)
    return found


def _published(row: Any) -> date | None:
    value: date | str | None = row.published_on
    if isinstance(value, str):  # raw SQLite rows carry dates as ISO text
        return date.fromisoformat(value)
    return value


def _point(
    period: Period,
    row: Observation,
    transform: str,
    others: dict[Period, Observation],
    breaks: list[Period],
) -> Point:
    point = Point(
        period,
        row.value,
        row.value,
        row.source_id,
        row.id,
        row.status,
        row.rank,
        row.alternatives,
    )
    if transform == "none":
        return point
    shift, point.note = COMPARED_WITH[transform]
    point.value = None
    compared = shift(period)
    if compared is None:
        point.note = f"No comparable period: {period} is {_incomparable(period)}."
        return point
    # The latest break at or before this period: a comparison may not reach before it.
    last = bisect_right(breaks, period.start, key=lambda p: p.start) - 1
    if last >= 0 and compared.start < breaks[last].start:
        point.note = f"Series break at {breaks[last].label}: not compared across it."
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
