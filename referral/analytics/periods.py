"""Calendar periods in UTC: months and ISO weeks.

Every report buckets time the same way, so a week or a month means one thing in the funnel,
the cohorts, the leaderboards and the trends. Times must be aware; they are converted to UTC
before bucketing, so 23:30 on 31 March in New York is April in the reports.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


def as_utc(at: datetime) -> datetime:
    """`at` in UTC; a naive time is refused rather than guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware (UTC)")
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month in UTC; orders chronologically; prints as `2024-03`."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, not {self.month}")

    @classmethod
    def of(cls, at: datetime) -> Month:
        at = as_utc(at)
        return cls(at.year, at.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        year, month = text.split("-")
        return cls(int(year), int(month))

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def months_since(self, other: Month) -> int:
        """Whole calendar months from `other` to this month (negative when earlier)."""
        return (self.year - other.year) * 12 + (self.month - other.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (periods are half-open)."""
        return self.plus(1).start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """An ISO 8601 week (Monday to Sunday, UTC); week 1 holds the year's first Thursday, so
    29 December 2025 is in 2026-W01. Prints as `2026-W01`."""

    year: int
    week: int

    def __post_init__(self) -> None:
        # Raises for week 53 of a year that has only 52.
        date.fromisocalendar(self.year, self.week, 1)

    @classmethod
    def of(cls, at: datetime) -> IsoWeek:
        year, week, _ = as_utc(at).isocalendar()
        return cls(year, week)

    def plus(self, weeks: int) -> IsoWeek:
        monday = date.fromisocalendar(self.year, self.week, 1) + timedelta(weeks=weeks)
        year, week, _ = monday.isocalendar()
        return IsoWeek(year, week)

    @property
    def start(self) -> datetime:
        monday = date.fromisocalendar(self.year, self.week, 1)
        return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(weeks=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


Period = Month | IsoWeek


def add_months(at: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later, clamped to the month's last day
    (31 January + 1 month = 28 or 29 February), in UTC."""
    at = as_utc(at)
    year, month0 = divmod(at.year * 12 + at.month - 1 + months, 12)
    day = at.day
    # Cohort CLV calls this once per customer: skip the calendar for days every month has.
    if day > 28:
        day = min(day, calendar.monthrange(year, month0 + 1)[1])
    return at.replace(year=year, month=month0 + 1, day=day)
