"""The rounding a stated figure allows, which every check on the numbers rests on."""

from decimal import Decimal

import pytest

from models.checks import precision


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
