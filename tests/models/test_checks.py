"""The checks on the numbers: the rounding a figure allows, and a stated change within both
figures' bounds."""

from decimal import Decimal

import pytest

from models.checks import _consistent
from models.figures import bounds
from models.figures import inferred_precision as precision


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("1420000", "5000"),
        ("1178000", "500"),
        ("242000", "500"),
        ("7.3", "0.05"),
        ("43.9", "0.05"),
        ("1323392", "0.5"),
        ("0", "0"),
        ("0.125", "0.0005"),
    ],
)
def test_half_a_unit_of_the_last_significant_digit(value, allowed):
    assert precision(Decimal(value)) == Decimal(allowed)


def figure(value, precision=None, lower=None, upper=None):
    return bounds(Decimal(value), None if precision is None else Decimal(precision), lower, upper)


@pytest.mark.parametrize(
    ("value", "prior", "consistent"),
    [
        # 7.3% claims 7.25 to 7.35; 1420000 (1.42 million) is 1415000 to below 1425000.
        (figure(1420000), figure(1318000), True),
        (figure(1420000), figure(1317000), False),
        (figure(1420000, precision=0), figure(1321000), False),
        (figure(1420000), figure(1321000), True),
        (figure(1420000, precision=30000), figure(1301000), True),
        (figure(1420000), figure(1301000), False),
        # A prior that may be 0 allows any change.
        (figure(1420000), figure(1, lower=Decimal(0), upper=Decimal(2)), True),
    ],
)
def test_a_stated_change_is_consistent_within_both_figures_bounds(value, prior, consistent):
    assert _consistent(value, prior, Decimal("7.3")) is consistent
