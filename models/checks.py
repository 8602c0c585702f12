"""Checks on the numbers: a stated change against the data, parts against their whole, and
sources against each other; each within the bounds the figures allow, forecasts never judged."""

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from typing import Any, cast

from peewee import Case, Field, fn

from models.db import db_values, one_of, rendered
from models.figures import Bounds, agree, bounds, bounds_of, preference
from models.periods import Period
from models.series import percent
from models.tables import Segment, Source, Statistic

# A forecast is not a fact that happened: no check judges one, or judges anything by one.
FORECAST = "forecast"
# A deprecated figure is never the one used, so never what a stated change is compared with.
DEPRECATED = "deprecated"

# Which period a stated change compares with.
COMPARED_PERIOD = {"yoy": Period.year_earlier, "previous_period": Period.previous}


@dataclass
class DerivedChange:
    implied_prior_value: Decimal | None = None
    derived_change_pct: Decimal | None = None
    change_consistent: bool | None = None
    change_note: str | None = None  # why the change was not checked, when it was not


def annotate_statistics(rows: list[Any]) -> list[Any]:
    """Set each statistic's derived-change fields and the range it may lie in; returns rows."""
    derived = derived_changes(rows)
    for row in rows:
        row.__dict__.update(vars(derived.get(row.id, DerivedChange())))
        limits = bounds_of(row)
        row.precision_basis, row.range_low, row.range_high = (
            limits.basis,
            limits.low,
            limits.high,
        )
    return rows


def derived_changes(rows: list[Any]) -> dict[int, DerivedChange]:
    """For each statistic with a stated change: the prior value it implies, and, where the
    compared period has a figure to use, the change computed from it and whether the two
    agree within both figures' bounds. A forecast is neither judged nor judged by."""
    compared_periods = {}
    wanted = {}
    for row in rows:
        shift = COMPARED_PERIOD.get(row.change_basis)
        compared = shift(row.period) if shift and row.change_pct is not None else None
        if compared and row.status != FORECAST:
            compared_periods[row.id] = compared
            wanted[row.id] = (
                row.indicator_id,
                row.region,
                row.segment_id,
                compared.start,
                compared.end,
            )
    figures = _figures(set(wanted.values()))
    result = {}
    for row in rows:
        if row.change_pct is None:
            continue
        derived = DerivedChange(implied_prior_value=_implied_prior(row.value, row.change_pct))
        if row.status == FORECAST:
            derived.change_note = "Not checked: this value is a forecast."
        elif row.id not in wanted:
            derived.change_note = "Not checked: change_basis does not say what it compares with."
        else:
            label = compared_periods[row.id].label
            prior, derived.change_note = _prior(figures.get(wanted[row.id], []), label)
            if prior is not None:
                derived.derived_change_pct = percent(row.value / prior.value - 1)
                derived.change_consistent = _consistent(
                    bounds_of(row), bounds_of(prior), row.change_pct
                )
        result[row.id] = derived
    return result


def _prior(found: list[Any], label: str) -> tuple[Any, str | None]:
    """The figure a stated change is compared with, among those stored for its compared
    period: the one the service uses (models/figures.py), never a forecast. Or why none."""
    usable = [row for row in found if row.status != FORECAST and row.rank != DEPRECATED]
    if usable:
        prior = max(usable, key=lambda row: preference(row.rank, row.published_on, row.source_id))
        if prior.value:
            return prior, None
        return None, f"Not checked: the value for {label} is 0."
    if not found:
        return None, f"Not checked: no figure for {label} is stored."
    if all(row.status == FORECAST for row in found):
        return None, f"Not checked: {label} has only a forecast, which is not compared with."
    if all(row.rank == DEPRECATED for row in found):
        return None, f"Not checked: every figure for {label} is deprecated."
    return None, f"Not checked: {label} has only forecasts and deprecated figures."


def _implied_prior(value: Decimal, change_pct: Decimal) -> Decimal | None:
    if change_pct == -100:
        return None
    prior = value / (1 + change_pct / 100)
    # As precise as the value it was derived from, and no more.
    places = max(-cast(int, value.normalize().as_tuple().exponent), 0)
    return prior.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _consistent(value: Bounds, prior: Bounds, stated: Decimal) -> bool:
    """Whether some values within the bounds of the value and of the prior give a change
    within the rounding of the stated one."""
    if prior.low <= 0:  # a prior that may be 0 or less allows any change
        return True
    # value / prior is monotonic in each for a positive prior: its extremes are at corners.
    changes = [(v / p - 1) * 100 for v in (value.low, value.high) for p in (prior.low, prior.high)]
    # The highest change is value.high / prior.low when the value is positive, open if
    # value.high is; otherwise it involves prior.high too.
    closed = value.closed and (value.high > 0 or prior.closed)
    derived = Bounds(min(changes), max(changes), value.basis, closed)
    return agree([derived, bounds(stated)])


def _figures(keys: set[tuple[Any, ...]]) -> dict[Any, list[Any]]:
    """(indicator, region, segment, start, end) -> every figure stored for it, with what
    choosing among them needs."""
    if not keys:
        return {}
    wanted = list(keys)
    # Every read of a statistic asks this; peewee built its SQL anew each time, which cost
    # more than the read itself. It is built once per number of keys and reused.
    sql = rendered(_figures_query, len(wanted))
    # A raw query, not execute_sql: a read as of an instant still runs it under its preamble.
    rows = Statistic.raw(sql, *db_values(list(_key_columns(Statistic.segment)), wanted))
    found: dict[Any, list[Any]] = {}
    for row in rows:
        key = (row.indicator_id, row.region, row.segment_id, row.period_start, row.period_end)
        found.setdefault(key, []).append(row)
    return found


def _figures_query(count: int) -> Any:
    columns = _key_columns(Statistic.segment)
    wanted = [[None] * len(columns)] * count  # placeholders: see models.db.rendered
    figure = (
        Statistic.value,
        Statistic.precision,
        Statistic.lower,
        Statistic.upper,
        Statistic.status,
        Statistic.rank,
        Statistic.source,
        Source.published_on,
    )
    query = one_of(Statistic.select(*columns, *figure), columns, wanted)
    return query.switch(Statistic).join(Source).order_by(Statistic.id)


def _key_columns(segment_column: Field) -> tuple[Field, ...]:
    return (
        Statistic.indicator,
        Statistic.region,
        segment_column,
        Statistic.period_start,
        Statistic.period_end,
    )


def reconciliation_groups(filters: dict[str, Any]) -> Any:
    """Each (indicator, region, parent segment, period, source) with parts stored, in order."""
    columns = (*_key_columns(Segment.parent), Statistic.source)
    query = (
        Statistic.select(*columns)
        .join(Segment)
        .where(Segment.parent.is_null(False), *_conditions(filters))
        .group_by(*columns)
        .order_by(*columns)
        .tuples()
    )
    return query


def reconcile(groups: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Whether the additive parts of each group sum to their whole, within their bounds."""
    if not groups:
        return []
    parents = {(i, r, p, s, e, src) for i, r, p, s, e, src in groups}
    keys = [(i, r, s, e, src) for i, r, _, s, e, src in groups]
    rows = Statistic.select(
        Statistic.id,
        Statistic.indicator,
        Statistic.region,
        Statistic.segment,
        Statistic.period_start,
        Statistic.period_end,
        Statistic.source,
        Statistic.value,
        Statistic.precision,
        Statistic.lower,
        Statistic.upper,
        Statistic.status,
        Segment.parent,
        Segment.additive,
    ).join(Segment)
    columns = [
        Statistic.indicator,
        Statistic.region,
        Statistic.period_start,
        Statistic.period_end,
        Statistic.source,
    ]
    rows = one_of(rows, columns, keys).namedtuples()
    by_group: dict[tuple[Any, ...], dict[str, Any]] = {
        group: {"whole": None, "parts": [], "overlapping": []} for group in parents
    }
    for row in rows:
        base = (row.indicator, row.region)
        tail = (row.period_start, row.period_end, row.source)
        whole_group = (*base, row.segment, *tail)
        if whole_group in by_group:
            by_group[whole_group]["whole"] = row
        part_group = (*base, row.parent, *tail)
        if part_group in by_group:
            by_group[part_group]["parts" if row.additive else "overlapping"].append(row)
    expected = _additive_children()
    for found in by_group.values():  # a stable order, whatever the backend returned
        found["parts"].sort(key=lambda row: row.segment)
        found["overlapping"].sort(key=lambda row: row.segment)
    return [_reconciled(group, by_group[group], expected) for group in groups]


def _reconciled(
    group: tuple[Any, ...], found: dict[str, Any], expected: dict[str, set[str]]
) -> dict[str, Any]:
    indicator, region, parent, start, end, source = group
    stored = [found["whole"]] if found["whole"] else []
    stored += found["parts"] + found["overlapping"]
    # Forecasts are left out: a forecast whole or part is as good as missing.
    forecasts = [row for row in stored if row.status == FORECAST]
    whole = found["whole"] if found["whole"] and found["whole"].status != FORECAST else None
    parts = [row for row in found["parts"] if row.status != FORECAST]
    overlapping = [row for row in found["overlapping"] if row.status != FORECAST]
    present = {row.segment for row in parts}
    missing = sorted(expected.get(parent, set()) - present)
    result = {
        "indicator": indicator,
        "region": region,
        "period": Period(start, end),
        "source_id": source,
        "segment": parent,
        "value": whole.value if whole else None,
        "parts": [{"segment": r.segment, "value": r.value} for r in parts],
        "overlapping": [{"segment": r.segment, "value": r.value} for r in overlapping],
        "missing_parts": missing,
        "forecasts": [{"segment": r.segment, "value": r.value} for r in forecasts],
        "parts_sum": None,
        "difference": None,
        "tolerance": None,
        "precision_basis": None,
        "range_low": None,
        "range_high": None,
        "parts_sum_low": None,
        "parts_sum_high": None,
        "note": _forecast_note(forecasts, len(stored)),
    }
    if whole is None or missing or not parts:
        result["status"] = "incomplete"
        return result
    whole_range = bounds_of(whole)
    parts_range = reduce(operator.add, (bounds_of(row) for row in parts))
    total = sum(row.value for row in parts)
    result |= {
        "parts_sum": total,
        "difference": total - whole.value,
        # The largest difference that ranges symmetric about their values allow.
        "tolerance": (whole_range.high - whole_range.low + parts_range.high - parts_range.low) / 2,
        "precision_basis": (whole_range + parts_range).basis,
        "range_low": whole_range.low,
        "range_high": whole_range.high,
        "parts_sum_low": parts_range.low,
        "parts_sum_high": parts_range.high,
    }
    consistent = agree([whole_range, parts_range])
    result["status"] = "consistent" if consistent else "inconsistent"
    return result


def _forecast_note(forecasts: list[Any], stored: int) -> str | None:
    if not forecasts:
        return None
    if len(forecasts) == stored:
        return "Only forecasts, which are not checked: nothing to judge."
    left_out = ", ".join(row.segment for row in forecasts)
    return f"Forecasts are not checked: {left_out} left out."


def _additive_children() -> dict[str, set[str]]:
    children: dict[str, set[str]] = {}
    rows = (
        Segment.select(Segment.code, Segment.parent)
        .where(Segment.additive, Segment.parent.is_null(False))
        .tuples()
    )
    # peewee's stubs have a select iterate as models, whatever tuples() made of it.
    for code, parent in cast(Iterable[tuple[str, str]], rows):
        children.setdefault(parent, set()).add(code)
    return children


def conflict_groups(filters: dict[str, Any], resolved: bool | None = None) -> Any:
    """Each series point (indicator, region, segment, period) with differing reports, in
    order; forecasts left out. `resolved`: only those whose figures still in use (not
    deprecated) all agree, or only those where they do not."""
    columns = _key_columns(Statistic.segment)
    query = Statistic.select(*columns).where(Statistic.status != FORECAST, *_conditions(filters))
    having = [
        fn.COUNT(Statistic.source.distinct()) > 1,
        fn.MIN(Statistic.value) != fn.MAX(Statistic.value),
    ]
    if resolved is not None:
        # In SQL, so that pages count only the conflicts asked for.
        in_use = Case(None, [(Statistic.rank != DEPRECATED, Statistic.value)], None)
        values_in_use = fn.COUNT(fn.DISTINCT(in_use))
        having.append(values_in_use <= 1 if resolved else values_in_use > 1)
    return query.group_by(*columns).having(*having).order_by(*columns).tuples()


def conflicts(groups: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The reports behind each conflicting point, whether they differ beyond their bounds,
    which one the service uses and why, and whether the conflict is resolved."""
    if not groups:
        return []
    rows = Statistic.select(
        *_key_columns(Statistic.segment),
        Statistic.id,
        Statistic.source,
        Statistic.value,
        Statistic.precision,
        Statistic.lower,
        Statistic.upper,
        Statistic.rank,
        Source.published_on,
    ).where(Statistic.status != FORECAST)
    rows = one_of(rows, _key_columns(Statistic.segment), groups).switch(Statistic).join(Source)
    rows = rows.order_by(Statistic.source, Statistic.id).namedtuples()
    reports: dict[tuple[Any, ...], list[Any]] = {group: [] for group in groups}
    for row in rows:
        reports[(row.indicator, row.region, row.segment, row.period_start, row.period_end)].append(
            row
        )
    return [_conflict(group, reports[group]) for group in groups]


def _conflict(group: tuple[Any, ...], rows: list[Any]) -> dict[str, Any]:
    indicator, region, segment, start, end = group
    ranges = {row.id: bounds_of(row) for row in rows}
    in_use = [row for row in rows if row.rank != DEPRECATED]
    chosen = max(in_use, key=_preference, default=None)
    return {
        "indicator": indicator,
        "region": region,
        "segment": segment,
        "period": Period(start, end),
        "reports": [
            {
                "statistic_id": row.id,
                "source_id": row.source,
                "value": row.value,
                "rank": row.rank,
                "published_on": _date(row.published_on),
                "precision_basis": ranges[row.id].basis,
                "range_low": ranges[row.id].low,
                "range_high": ranges[row.id].high,
            }
            for row in rows
        ],
        "spread": max(row.value for row in rows) - min(row.value for row in rows),
        # Reports agree within their bounds when some single value lies within every one.
        "beyond_rounding": bool(rows) and not agree(list(ranges.values())),
        "chosen": chosen.id if chosen else None,
        "reason": _reason(chosen, in_use),
        # Nothing the service says is contradicted once the figures in use all agree.
        "resolved": len({row.value for row in in_use}) <= 1,
    }


def _preference(row: Any) -> tuple[Any, ...]:
    return preference(row.rank, row.published_on, row.source)


def _date(value: date | str | None) -> date | None:
    # Raw SQLite rows carry dates as ISO text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def _reason(chosen: Any, in_use: list[Any]) -> str:
    """Why `chosen` is the figure used among `in_use`, in the words of models/figures.py."""
    if chosen is None:
        return "every figure is deprecated: none is used"
    if len(in_use) == 1:
        return "the only figure not deprecated"
    peers = [row for row in in_use if row is not chosen and row.rank == chosen.rank]
    ranked = "ranked preferred" if chosen.rank == "preferred" else ""
    if not peers:
        return ranked
    published = _date(chosen.published_on)
    if all((_date(row.published_on) or date.min) < (published or date.min) for row in peers):
        why = f"the most recently published ({published})"
    elif published is None:
        why = "the most recently added source, none giving a publication date"
    else:
        why = f"the most recently added source of those published on {published}"
    return f"{ranked}, and {why}" if ranked else why


def _conditions(filters: dict[str, Any]) -> list[Any]:
    conditions = []
    for name, column in (
        ("indicator", Statistic.indicator),
        ("region", Statistic.region),
        ("source_id", Statistic.source),
    ):
        if filters.get(name):
            conditions.append(column.in_(filters[name]))
    if filters.get("period_from"):
        conditions.append(Statistic.period_end >= filters["period_from"].start)
    if filters.get("period_to"):
        conditions.append(Statistic.period_start <= filters["period_to"].end)
    return conditions
