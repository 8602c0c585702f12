"""Reporting periods: parse what clients write, store two dates, return one canonical label."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

FREQUENCIES = ("annual", "semiannual", "quarterly", "monthly", "daily", "irregular")

# [0-9], not \d: Python's \d and int() also take other scripts' digits (`２０２５`), and a
# period is written in ASCII digits, as the API documents it.
_LABEL = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:-(?:(?P<half>H[12])|(?P<quarter>Q[1-4])|(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?))?"
)
# Something shaped like a half or quarter, for a more useful message when it is out of range.
_HALF_OR_QUARTER = re.compile(r"[0-9]{4}-[HQ][0-9]+")
_SPACE = " \t\n\r\f\v"  # ASCII white space, which may surround a period


@dataclass(frozen=True)
class Period:
    """A closed interval of days, [start, end]."""

    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> "Period":
        """Read `2025`, `2025-H1`, `2025-Q1`, `2025-03`, `2025-03-14` or an interval `a/b`.

        Each side of an interval may itself be any of the single forms, so
        `2025-01/2025-03` is the first quarter. Raises ValueError with a
        message fit for a client.
        """
        text = text.strip(_SPACE)
        if len(text) > 64:
            raise ValueError("Not a period: too long.")
        if "/" in text:
            first, _, last = text.partition("/")
            if "/" in last:
                raise ValueError(f"Not a period: {text[:40]!r} (an interval has one /).")
            start, end = cls._single(first).start, cls._single(last).end
            if end < start:
                raise ValueError(f"Period {text!r} ends before it starts.")
            return cls(start, end)
        return cls._single(text)

    @classmethod
    def _single(cls, text: str) -> "Period":
        # A month (`2025-03`), as a long series is mostly written, read without the regular
        # expression: an import reads a period per row. Anything else takes the long way.
        if len(text) == 7 and text[4] == "-" and text.isascii():
            year_digits, month_digits = text[:4], text[5:]
            if year_digits.isdigit() and month_digits.isdigit():
                year, month = int(year_digits), int(month_digits)
                if year >= 1 and 1 <= month <= 12:
                    return cls(date(year, month, 1), _month_end(year, month))
        match = _LABEL.fullmatch(text)
        if not match:
            hint = (
                "quarter must be Q1-Q4, half H1 or H2" if _HALF_OR_QUARTER.fullmatch(text) else ""
            )
            raise ValueError(
                f"Not a period: {text!r}. Use 2025, 2025-H1, 2025-Q1, 2025-03, 2025-03-14 "
                f"or an ISO 8601 interval such as 2025-01-01/2025-04-30"
                + (f" ({hint})." if hint else ".")
            )
        year = int(match["year"])
        if year < 1:
            raise ValueError(f"Not a period: {text!r} (year 0000 does not exist).")
        if match["half"]:
            first_month = 1 if match["half"] == "H1" else 7
            return cls(date(year, first_month, 1), _month_end(year, first_month + 5))
        if match["quarter"]:
            first_month = 3 * int(match["quarter"][1]) - 2
            return cls(date(year, first_month, 1), _month_end(year, first_month + 2))
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise ValueError(f"Not a period: {text!r} (month must be 01-12).")
            if match["day"]:
                try:
                    day = date(year, month, int(match["day"]))
                except ValueError:
                    raise ValueError(f"Not a period: {text!r} (no such day).") from None
                return cls(day, day)
            return cls(date(year, month, 1), _month_end(year, month))
        return cls(date(year, 1, 1), date(year, 12, 31))

    @property
    def frequency(self) -> str:
        """The calendar unit this period is exactly one of, or `irregular`."""
        return frequency(self.start, self.end)

    @property
    def label(self) -> str:
        """The canonical label: the shortest form that names exactly this period."""
        start = self.start
        return {
            "annual": f"{start.year:04}",
            "semiannual": f"{start.year:04}-H{1 + start.month // 7}",
            "quarterly": f"{start.year:04}-Q{1 + start.month // 3}",
            "monthly": f"{start.year:04}-{start.month:02}",
            "daily": start.isoformat(),
        }.get(self.frequency, f"{start.isoformat()}/{self.end.isoformat()}")

    def __str__(self) -> str:
        return self.label

    def previous(self) -> "Period | None":
        """The period of the same frequency just before this one (None if irregular)."""
        months = _MONTHS.get(self.frequency)
        if self.start == date.min:
            return None
        day_before = self.start - timedelta(days=1)
        if months:
            return Period(_add_months(self.start, -months), day_before)
        if self.frequency == "daily":
            return Period(day_before, day_before)
        return None

    def year_earlier(self) -> "Period | None":
        """The same period one year before (None for 29 February, which has no twin)."""
        if self.start.year == date.min.year:
            return None
        if self.start.day == 1 and self.end == _month_end(self.end.year, self.end.month):
            end = _add_months(self.end.replace(day=1), -12)
            return Period(_add_months(self.start, -12), _month_end(end.year, end.month))
        try:
            return Period(
                self.start.replace(year=self.start.year - 1),
                self.end.replace(year=self.end.year - 1),
            )
        except ValueError:
            return None


_MONTHS = {"annual": 12, "semiannual": 6, "quarterly": 3, "monthly": 1}
_BY_MONTHS = {1: "monthly", 3: "quarterly", 6: "semiannual", 12: "annual"}


def frequency(start: date, end: date) -> str:
    """The frequency of the period [start, end] (`Period.frequency`), for bounds already
    apart: an import derives one per row."""
    if start == end:
        return "daily"
    if start.day != 1 or end != _month_end(end.year, end.month) or start.year != end.year:
        return "irregular"
    months = end.month - start.month + 1
    aligned = (start.month - 1) % months == 0
    return _BY_MONTHS.get(months if aligned else 0, "irregular")


# Days in each month of a common year; February gains one in a leap year.
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_end(year: int, month: int) -> date:
    # Not calendar.monthrange, which also works out the weekday the month starts on: an
    # import works out a month's last day for each of its rows.
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return date(year, month, _MONTH_DAYS[month - 1] + leap)


def _add_months(day: date, months: int) -> date:
    """The first of the month `months` away from `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
