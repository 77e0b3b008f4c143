"""Counts and amounts over time, by ISO week or by month (UTC), with empty periods as 0.

A chart of referrals per week must show the quiet weeks too, or a gap reads as a straight
line between its neighbours. Values are integers: counts, or amounts in minor units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from referral.analytics.periods import IsoWeek, Month, Period


class Granularity(StrEnum):
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Point:
    """Something that happened at `at`, worth `value` (1 for a plain count). The database
    may hand over one point per event or, cheaper, one per day with the day's total: a day
    never straddles a week or a month."""

    at: datetime
    value: int = 1


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    period: Period
    value: int


@dataclass(frozen=True, slots=True)
class Series:
    granularity: Granularity
    points: tuple[SeriesPoint, ...]
    """Every period from the first to the last, in order, 0 where nothing happened."""

    @property
    def total(self) -> int:
        return sum(p.value for p in self.points)


def period_of(at: datetime, granularity: Granularity) -> Period:
    return IsoWeek.of(at) if granularity is Granularity.WEEK else Month.of(at)


def series(
    points: Iterable[Point],
    granularity: Granularity,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Series:
    """Totals per period, zero-filled from the period of `start` (else the first point) to
    the period of `end` (else the last point), both included. Points outside that range are
    left out, so a report for a quarter shows exactly its weeks."""
    totals: dict[Period, int] = defaultdict(int)
    for point in points:
        totals[period_of(point.at, granularity)] += point.value
    # Weeks and months compare by their first instant, which orders both kinds alike.
    first = (
        period_of(start, granularity)
        if start is not None
        else min(totals, key=_start, default=None)
    )
    last = period_of(end, granularity) if end is not None else max(totals, key=_start, default=None)
    if first is None or last is None:
        return Series(granularity, ())
    if last.start < first.start:
        raise ValueError("end is before start")
    filled: list[SeriesPoint] = []
    period = first
    while period.start <= last.start:
        filled.append(SeriesPoint(period, totals.get(period, 0)))
        period = period.plus(1)
    return Series(granularity, tuple(filled))


def _start(period: Period) -> datetime:
    return period.start


@dataclass(frozen=True, slots=True)
class SeasonalPoint:
    month: int
    """1 = January."""
    years: int
    """How many times this calendar month occurs in the series."""
    total: int
    mean: float | None
    """The total per occurrence; None when the month never occurs. A float: it is a figure
    to chart, never an amount to book."""


def by_month_of_year(monthly: Series) -> tuple[SeasonalPoint, ...]:
    """The seasonal profile of a monthly series: for each calendar month, the mean over the
    years the series covers, so a December peak stands out whatever the growth in between."""
    if monthly.granularity is not Granularity.MONTH:
        raise ValueError("the seasonal profile needs a monthly series")
    years = [0] * 12
    totals = [0] * 12
    for point in monthly.points:
        assert isinstance(point.period, Month)
        years[point.period.month - 1] += 1
        totals[point.period.month - 1] += point.value
    return tuple(
        SeasonalPoint(
            month=m + 1,
            years=years[m],
            total=totals[m],
            mean=totals[m] / years[m] if years[m] else None,
        )
        for m in range(12)
    )
