"""The rules each kind of record keeps, beyond its fields' own: what a write is refused for.

Each takes the whole record after the change (by field name) and its primary key (None for
a new record), and returns the fields it breaks, each with why.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from models.tables import Indicator, Segment, Target


def no_rules(record: dict[str, Any], key: int | str | None) -> dict[str, str]:
    return {}


# Indicators' measures already read while many rows are checked (an import's chunk): a query
# for each row's indicator cost more than the rest of the import together.
_measures: ContextVar[dict[str, str | None] | None] = ContextVar("measures", default=None)


@contextmanager
def measures_read_once() -> Iterator[None]:
    """Within the block, each indicator's measure is read once: for checking many rows,
    during which no indicator changes."""
    token = _measures.set({})
    try:
        yield
    finally:
        _measures.reset(token)


def _is_count(indicator_code: str) -> bool:
    known = _measures.get()
    if known is not None and indicator_code in known:
        return known[indicator_code] == "count"
    measure: str | None = (
        Indicator.select(Indicator.measure).where(Indicator.code == indicator_code).scalar()
    )
    if known is not None:
        known[indicator_code] = measure
    return measure == "count"


def statistic_rules(record: dict[str, Any], key: int | str | None) -> dict[str, str]:
    errors = {}
    if _is_count(record["indicator"]):
        errors.update(_count_rules(record["value"], record.get("change_pct")))
    if record.get("change_pct") is not None and not record.get("change_basis"):
        errors["change_basis"] = "Say what change_pct compares with (for example yoy)."
    errors.update(_bounds_rules(record))
    return errors


def _bounds_rules(record: dict[str, Any]) -> dict[str, str]:
    """A figure's precision or its bounds, each as models/figures.py reads them."""
    precision, lower, upper = (record.get(name) for name in ("precision", "lower", "upper"))
    if precision is not None and (lower is not None or upper is not None):
        return {"precision": "Give precision, or lower and upper, not both."}
    if precision is not None and precision < 0:
        return {"precision": "A precision is a half-width: it cannot be negative."}
    if (lower is None) != (upper is None):
        return {"lower" if lower is None else "upper": "Give lower and upper together."}
    if lower is not None and not lower <= record["value"] <= upper:
        return {"lower": "The value must lie between lower and upper."}
    return {}


def _count_rules(value: Decimal, change_pct: Decimal | None) -> dict[str, str]:
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


def event_rules(record: dict[str, Any], key: int | str | None) -> dict[str, str]:
    if record.get("end_date") and record["end_date"] < record["date"]:
        return {"end_date": "The event cannot end before it starts."}
    return {}


def target_rules(record: dict[str, Any], key: int | str | None) -> dict[str, str]:
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


def segment_rules(record: dict[str, Any], key: int | str | None) -> dict[str, str]:
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
        level = {child for (child,) in children.tuples()} - found  # type: ignore[misc, has-type]
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


def indicator_rules(record: dict[str, Any], key: int | str | None) -> dict[str, str]:
    # Stored values were measured in the old unit: relabelling them would change their meaning.
    if key is None:
        return {}
    old = Indicator.get_by_id(key)
    in_use = old.statistics.exists() or old.targets.exists()
    changed = [f for f in ("unit", "measure") if record[f] != getattr(old, f)]
    if in_use and changed:
        return {f: f"Indicator {key} has data; its {f} cannot change." for f in changed}
    return {}
