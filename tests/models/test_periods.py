"""Periods: every input form, its canonical label, bounds and frequency, and what is refused."""

from datetime import date

import pytest

from models.periods import Period


@pytest.mark.parametrize(
    ("text", "label", "start", "end", "frequency"),
    [
        ("2025", "2025", date(2025, 1, 1), date(2025, 12, 31), "annual"),
        ("2025-H1", "2025-H1", date(2025, 1, 1), date(2025, 6, 30), "semiannual"),
        ("2025-H2", "2025-H2", date(2025, 7, 1), date(2025, 12, 31), "semiannual"),
        ("2025-Q1", "2025-Q1", date(2025, 1, 1), date(2025, 3, 31), "quarterly"),
        ("2025-Q4", "2025-Q4", date(2025, 10, 1), date(2025, 12, 31), "quarterly"),
        ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 2, 29), "monthly"),
        ("2025-03-14", "2025-03-14", date(2025, 3, 14), date(2025, 3, 14), "daily"),
        # Intervals come back in their shortest form ("January to March 2025" is 2025-Q1).
        ("2025-01-01/2025-03-31", "2025-Q1", date(2025, 1, 1), date(2025, 3, 31), "quarterly"),
        ("2025-01/2025-03", "2025-Q1", date(2025, 1, 1), date(2025, 3, 31), "quarterly"),
        ("2025-07-01/2025-12-31", "2025-H2", date(2025, 7, 1), date(2025, 12, 31), "semiannual"),
        ("2024/2025", "2024-01-01/2025-12-31", date(2024, 1, 1), date(2025, 12, 31), "irregular"),
        (
            "2025-01-01/2025-04-30",
            "2025-01-01/2025-04-30",
            date(2025, 1, 1),
            date(2025, 4, 30),
            "irregular",
        ),
        (
            "2025-02-01/2025-04-30",
            "2025-02-01/2025-04-30",
            date(2025, 2, 1),
            date(2025, 4, 30),
            "irregular",
        ),
        (" 2025-Q2 ", "2025-Q2", date(2025, 4, 1), date(2025, 6, 30), "quarterly"),
    ],
)
def test_parse(text, label, start, end, frequency):
    period = Period.parse(text)
    assert (period.label, period.start, period.end, period.frequency) == (
        label,
        start,
        end,
        frequency,
    )
    assert Period.parse(period.label) == period


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2025-Q5", "Q1-Q4"),
        ("2025-Q0", "Q1-Q4"),
        ("2025-H3", "H1 or H2"),
        ("2025-13", "month must be 01-12"),
        ("2025-00", "month must be 01-12"),
        ("2025-02-29", "no such day"),
        ("2025-03-01/2025-02-28", "ends before it starts"),
        ("0000", "year 0000"),
        ("25", "Not a period"),
        ("2025-1", "Not a period"),
        ("", "Not a period"),
        ("2025//2026", "Not a period"),
        ("Q1 2025", "Not a period"),
        # Digits are ASCII: Python's \d and int() would read these as 2025 and 03.
        ("\uff12\uff10\uff12\uff15", "Not a period"),
        ("\u0662\u0660\u0662\u0665-Q1", "Not a period"),
        ("2025-\u0660\u0663", "Not a period"),
        ("2025-03-\U0001d7ce\U0001d7cf", "Not a period"),
        ("2025-Q\u0661", "Not a period"),
        ("\u30002025", "Not a period"),  # only ASCII white space is trimmed
    ],
)
def test_invalid(text, reason):
    with pytest.raises(ValueError, match=reason):
        Period.parse(text)


@pytest.mark.parametrize("text", ["2025/2026/2027", "/".join(["2025"] * 1200), "2025" * 20])
def test_only_one_interval_and_bounded_length(text):
    with pytest.raises(ValueError, match="Not a period"):
        Period.parse(text)


@pytest.mark.parametrize(
    ("text", "label"), [("0001", "0001"), ("0999-Q2", "0999-Q2"), ("0999-03", "0999-03")]
)
def test_early_years_keep_four_digits(text, label):
    assert Period.parse(text).label == label
    assert Period.parse(label) == Period.parse(text)


def test_the_first_period_on_the_calendar_has_nothing_before_it():
    first = Period.parse("0001")
    assert first.previous() is None and first.year_earlier() is None
    assert Period.parse("0001-01-01").previous() is None


@pytest.mark.parametrize(
    ("text", "previous", "year_earlier"),
    [
        ("2025-Q1", "2024-Q4", "2024-Q1"),
        ("2025-H1", "2024-H2", "2024-H1"),
        ("2025-03", "2025-02", "2024-03"),
        ("2025", "2024", "2024"),
        ("2024-03-01", "2024-02-29", "2023-03-01"),
        ("2024-02-29", "2024-02-28", None),
        ("2025-01-01/2025-04-30", None, "2024-01-01/2024-04-30"),
    ],
)
def test_comparison_periods(text, previous, year_earlier):
    period = Period.parse(text)
    assert (period.previous() and period.previous().label) == previous
    assert (period.year_earlier() and period.year_earlier().label) == year_earlier
