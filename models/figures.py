"""What a figure says about itself: its status, how precise it is, and how it ranks among
figures that answer the same question; and which of those figures to use.

The vocabularies follow the statistics world: a status as SDMX's OBS_STATUS or Eurostat's
flags give one, a rank as Wikidata ranks its statements.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

# What kind of number a value is. `break`: the series changed its definition or method just
# before this value, so it is not compared with the values before it.
STATUSES = ("reported", "estimated", "provisional", "forecast", "revised", "break")
# Which of several figures for the same question to use: a preferred one, else the most
# recently published normal one; a deprecated one never.
RANKS = ("preferred", "normal", "deprecated")


def inferred_precision(value: Decimal) -> Decimal:
    """Half a unit of the last significant digit: how far a rounded figure may be off.

    1420000 ("1.42 million") may be off by 5000, 7.3 by 0.05, and 242000 by 500. A figure
    that is exact beyond its trailing zeros is checked no more strictly than this.
    """
    exponent = cast(int, value.normalize().as_tuple().exponent)  # an int: `value` is finite
    return Decimal(5).scaleb(exponent - 1) if value else Decimal(0)


@dataclass(frozen=True)
class Bounds:
    """Where the true figure lies: from `low` to `high`, `high` itself included only when
    `closed` (a rounded figure's upper end rounds up to the next one)."""

    low: Decimal
    high: Decimal
    basis: str  # "stated" (precision or bounds given) or "inferred" (from the digits)
    closed: bool

    def __add__(self, other: "Bounds") -> "Bounds":
        return Bounds(
            self.low + other.low,
            self.high + other.high,
            "stated" if "stated" in (self.basis, other.basis) else "inferred",
            self.closed and other.closed,
        )


def bounds(
    value: Decimal,
    precision: Decimal | None = None,
    lower: Decimal | None = None,
    upper: Decimal | None = None,
) -> Bounds:
    """The bounds a figure states (lower and upper, or a precision), else those its digits
    imply."""
    if lower is not None and upper is not None:
        return Bounds(lower, upper, "stated", closed=True)
    if precision is not None:
        return Bounds(value - precision, value + precision, "stated", closed=not precision)
    half = inferred_precision(value)
    return Bounds(value - half, value + half, "inferred", closed=not half)


def bounds_of(row: Any) -> Bounds:
    """The bounds of a stored statistic (a model or a row with its fields)."""
    return bounds(row.value, row.precision, row.lower, row.upper)


def agree(ranges: list[Bounds]) -> bool:
    """Whether some single value lies within every one of `ranges`."""
    low = max(r.low for r in ranges)
    high = min(r.high for r in ranges)
    if low != high:
        return low < high
    return all(r.closed or r.high > high for r in ranges)


RANK_ORDER = {"preferred": 2, "normal": 1, "deprecated": 0}


def preference(rank: str, published_on: date | str | None, source_id: int) -> tuple[Any, ...]:
    """How a figure sorts among those answering the same question, the one to use last:
    preferred before normal, then the most recently published, then the newest source."""
    if isinstance(published_on, str):  # raw SQLite rows carry dates as ISO text
        published_on = date.fromisoformat(published_on)
    return (RANK_ORDER[rank], published_on or date.min, source_id)
