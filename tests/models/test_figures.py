"""What a figure says about itself: its bounds, whether figures agree, which to prefer."""

from datetime import date
from decimal import Decimal

import pytest

from models.figures import agree, bounds, inferred_precision, preference


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("1420000", "5000"), ("242000", "500"), ("7.3", "0.05"), ("1178000", "500"), ("0", "0")],
)
def test_the_precision_inferred_is_half_the_last_significant_digit(value, allowed):
    assert inferred_precision(Decimal(value)) == Decimal(allowed)


def test_stated_bounds_win_over_a_stated_precision_and_both_over_the_digits():
    inferred = bounds(Decimal(1420000))
    assert (inferred.low, inferred.high, inferred.basis) == (1415000, 1425000, "inferred")
    stated = bounds(Decimal(1420000), precision=Decimal(100))
    assert (stated.low, stated.high, stated.basis) == (1419900, 1420100, "stated")
    ranged = bounds(Decimal(1420000), lower=Decimal(1400000), upper=Decimal(1500000))
    assert (ranged.low, ranged.high, ranged.basis, ranged.closed) == (
        1400000,
        1500000,
        "stated",
        True,
    )


@pytest.mark.parametrize(
    ("other", "agreeing"),
    [
        (bounds(Decimal(1423000)), True),  # within 1.42 million's rounding
        (bounds(Decimal(1430000)), False),  # 1.43 million: where 1.42 million ends, it begins
        (bounds(Decimal(1425000)), True),  # rounds to 1.43 million, but 1425000 +- 500 overlaps
        (bounds(Decimal(1426000)), False),
        (bounds(Decimal(1426000), lower=Decimal(1410000), upper=Decimal(1430000)), True),
        (bounds(Decimal(1425000), precision=Decimal(0)), False),  # exactly 1.425 million
        (bounds(Decimal(1424999), precision=Decimal(0)), True),
    ],
)
def test_figures_agree_when_one_value_lies_within_every_ones_bounds(other, agreeing):
    assert agree([bounds(Decimal(1420000)), other]) is agreeing
    assert agree([other, bounds(Decimal(1420000))]) is agreeing


def test_closed_bounds_that_touch_agree():
    touching = [bounds(Decimal(5), lower=Decimal(4), upper=Decimal(6))]
    touching.append(bounds(Decimal(7), lower=Decimal(6), upper=Decimal(8)))
    assert agree(touching)


def test_the_preferred_figure_sorts_last_then_the_latest_published():
    preferred = preference("preferred", date(2020, 1, 1), 1)
    newer = preference("normal", date(2025, 5, 11), 2)
    older = preference("normal", "2024-01-01", 3)
    unknown = preference("normal", None, 4)
    deprecated = preference("deprecated", date(2026, 1, 1), 5)
    assert sorted([newer, preferred, deprecated, unknown, older]) == [
        deprecated,
        unknown,
        older,
        newer,
        preferred,
    ]
