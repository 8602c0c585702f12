"""How far a target is from reality: the latest actual figure, the gap, the growth still needed.

The rules, in order:
- forecasts are left out before anything else: progress is judged on facts only;
- of several figures for a period, the preferred one, else the most recently published
  normal one, never a deprecated one (as the series chooses);
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
from models.series import Observation, chosen, percent, stored_figures
from models.tables import Indicator, Target

NO_FACTS = "Only forecasts of this series: progress is judged on facts."


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
    # The statistic `actual` is (a share's part), how many other figures answer its question,
    # and that question, which lists them all.
    statistic_id: int | None = None
    alternatives: int | None = None
    question: dict[str, str] | None = None


def progress(target: Target) -> Progress:
    """The progress of one target against the stored statistics."""
    unit = "percent" if target.share_of_id else Indicator.get_by_id(target.indicator_id).unit
    if target.segment_id is None:
        return Progress("insufficient_data", unit=unit, note="The target names no segment.")
    observed, forecasts = _actuals(target)
    if not observed:
        note = NO_FACTS if forecasts else "No observation of this series."
        return Progress("insufficient_data", unit=unit, note=note)
    annual = [(p, v, f) for p, v, f in observed if p.frequency == "annual"]
    period, actual, used = annual[-1] if annual else observed[-1]
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
        statistic_id=used.id,
        alternatives=used.alternatives,
        question={
            "indicator": target.indicator_id,
            "region": target.region,
            "segment": target.segment_id,
            "period": period.label,
        },
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
        (first_period, first, _) = annual[0]
        years = period.end.year - first_period.end.year
        achieved = (actual / first) ** (Decimal(1) / years) - 1 if first > 0 else None
        if achieved is not None:
            result.achieved_annual_growth_pct = percent(achieved)
            on_track = result.achieved_annual_growth_pct >= result.required_annual_growth_pct
            result.status = "on_track" if on_track else "off_track"
    else:
        result.note = "Fewer than two annual figures: no trend to judge by."
    return result


def _actuals(target: Target) -> tuple[list[tuple[Period, Decimal, Observation]], bool]:
    """(period, value, the statistic used) of the target's series, oldest first, a share as a
    percentage (the statistic its part); and whether forecasts were all there was."""

    def used(segment: str | None) -> tuple[dict[Period, Observation], bool]:
        stored = stored_figures(target.indicator_id, target.region, segment)
        facts = chosen(stored, forecasts=False)
        return facts, not facts and bool(chosen(stored))

    parts, only_forecasts = used(target.segment_id)
    if not target.share_of_id:
        return [(period, row.value, row) for period, row in parts.items()], only_forecasts
    wholes, no_whole_but_forecasts = used(target.share_of_id)
    shares = [
        (period, percent(row.value / wholes[period].value), row)
        for period, row in parts.items()
        if period in wholes and wholes[period].value
    ]
    return shares, not shares and (only_forecasts or no_whole_but_forecasts)


def _reached(direction: str, actual: Decimal, goal: Decimal) -> bool:
    if direction == "at_most":
        return actual <= goal
    if direction == "exactly":
        return actual == goal
    return actual >= goal
