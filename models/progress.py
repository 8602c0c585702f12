"""How far a target is from reality: the latest actual figure, the gap, the growth still needed.

The rules, in order:
- insufficient_data: no observation of the target's series, or only partial-year figures of
  a level (a quarter's exports say nothing reliable about a year's; they are reported,
  clearly labelled, but never annualized or judged);
- met: the latest figure reaches the target in its direction (a share can be judged on a
  partial period: a share of a quarter is a share);
- off_track: the target's period is over and it was not met, or the growth achieved between
  the first and the latest annual figures is below the growth still required;
- on_track: that achieved growth is at least the growth required;
- insufficient_data again when the target is not met and fewer than two annual figures exist.
"""

from dataclasses import dataclass
from decimal import Decimal

from models.periods import Period
from models.series import observations, percent
from models.tables import Indicator, Target


@dataclass
class Progress:
    status: str
    basis: str | None = None  # the frequency of `period`: "annual" when a full year exists
    partial: bool | None = None  # a shorter period, reported as it is (never annualized)
    period: Period | None = None
    actual: Decimal | None = None
    unit: str | None = None
    percent_reached: Decimal | None = None
    gap: Decimal | None = None
    years_left: int | None = None
    required_annual_growth_pct: Decimal | None = None
    achieved_annual_growth_pct: Decimal | None = None
    note: str | None = None


def progress(target: Target) -> Progress:
    """The progress of one target against the stored statistics."""
    unit = "percent" if target.share_of_id else Indicator.get_by_id(target.indicator_id).unit
    if target.segment_id is None:
        return Progress("insufficient_data", unit=unit, note="The target names no segment.")
    observed = _actuals(target)
    if not observed:
        return Progress("insufficient_data", unit=unit, note="No observation of this series.")
    annual = [(p, v) for p, v in observed if p.frequency == "annual"]
    period, actual = annual[-1] if annual else observed[-1]
    goal, deadline = target.target_value, target.target_period_end.year
    years_left = deadline - period.end.year
    result = Progress(
        status="insufficient_data",
        basis=period.frequency,
        partial=not annual,
        period=period,
        actual=actual,
        unit=unit,
        percent_reached=percent(actual / goal) if goal else None,
        gap=goal - actual,
        years_left=years_left,
    )
    if _reached(target.direction, actual, goal):
        result.status = "met"
        return result
    if not annual and not target.share_of_id:
        result.note = f"Only {period.frequency} figures: a level is judged on a full year."
        return result
    if annual and years_left > 0 and actual > 0 and goal > 0:
        required = (goal / actual) ** (Decimal(1) / years_left) - 1
        result.required_annual_growth_pct = percent(required)
    if years_left <= 0:
        result.status = "off_track"
        result.note = "The target's period is over and it was not met."
    elif len(annual) >= 2 and result.required_annual_growth_pct is not None:
        (first_period, first) = annual[0]
        years = period.end.year - first_period.end.year
        achieved = (actual / first) ** (Decimal(1) / years) - 1 if first > 0 else None
        if achieved is not None:
            result.achieved_annual_growth_pct = percent(achieved)
            on_track = result.achieved_annual_growth_pct >= result.required_annual_growth_pct
            result.status = "on_track" if on_track else "off_track"
    else:
        result.note = "Fewer than two annual figures: no trend to judge by."
    return result


def _actuals(target: Target) -> list[tuple[Period, Decimal]]:
    """(period, value) of the target's series, oldest first; a share as a percentage."""

    def values(segment: str | None) -> dict[Period, Decimal]:
        # One figure per period; where sources differ, the most recently published one.
        chosen = observations(target.indicator_id, target.region, segment, None, None)
        return {period: row.value for period, row in chosen.items()}

    parts = values(target.segment_id)
    if not target.share_of_id:
        return list(parts.items())
    wholes = values(target.share_of_id)
    return [
        (period, percent(value / wholes[period]))
        for period, value in parts.items()
        if wholes.get(period)
    ]


def _reached(direction: str, actual: Decimal, goal: Decimal) -> bool:
    if direction == "at_most":
        return actual <= goal
    if direction == "exactly":
        return actual == goal
    return actual >= goal
