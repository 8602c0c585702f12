"""The checks on the numbers: the rounding a figure allows, a stated change within both
figures' bounds, and why one of several figures is the one used."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from models.checks import _consistent, _preference, _reason
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


def report(id, rank="normal", published_on=None, source=1, value=1):
    return SimpleNamespace(id=id, rank=rank, published_on=published_on, source=source, value=value)


@pytest.mark.parametrize(
    ("in_use", "reason"),
    [
        ([], "every figure is deprecated: none is used"),
        ([report(1)], "the only figure not deprecated"),
        ([report(1, "preferred"), report(2)], "ranked preferred"),
        (
            [report(1, published_on=date(2025, 5, 11)), report(2, published_on="2024-01-01")],
            "the most recently published (2025-05-11)",
        ),
        (
            [
                report(1, "preferred", date(2025, 5, 11)),
                report(2, "preferred", date(2024, 1, 1)),
            ],
            "ranked preferred, and the most recently published (2025-05-11)",
        ),
        (
            [report(1, published_on=date(2025, 5, 11), source=2), report(2, source=1)],
            "the most recently published (2025-05-11)",
        ),
        (
            [
                report(1, published_on=date(2025, 5, 11), source=2),
                report(2, published_on=date(2025, 5, 11), source=1),
            ],
            "the most recently added source of those published on 2025-05-11",
        ),
        (
            [report(1, source=2), report(2, source=1)],
            "the most recently added source, none giving a publication date",
        ),
    ],
)
def test_the_reason_a_figure_is_chosen(in_use, reason):
    chosen = max(in_use, key=_preference, default=None)
    assert chosen is None or chosen.id == 1
    assert _reason(chosen, in_use) == reason
