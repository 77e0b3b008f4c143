"""Series by ISO week and by month with quiet periods as zeros, and the seasonal profile."""

from datetime import UTC, datetime

import pytest

from referral.analytics.periods import IsoWeek, Month
from referral.analytics.trends import Granularity, Point, by_month_of_year, series


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_weeks_without_events_are_zero():
    result = series(
        [Point(at(2024, 3, 4)), Point(at(2024, 3, 10), 2), Point(at(2024, 3, 25))],
        Granularity.WEEK,
    )
    assert [(str(p.period), p.value) for p in result.points] == [
        ("2024-W10", 3),
        ("2024-W11", 0),
        ("2024-W12", 0),
        ("2024-W13", 1),
    ]
    assert result.total == 4


def test_weeks_run_across_the_iso_year_boundary():
    result = series([Point(at(2020, 12, 28)), Point(at(2021, 1, 11))], Granularity.WEEK)
    assert [p.period for p in result.points] == [
        IsoWeek(2020, 53),
        IsoWeek(2021, 1),
        IsoWeek(2021, 2),
    ]


def test_months_zero_fill_across_years_and_sum_amounts():
    result = series([Point(at(2023, 11, 30), 1250), Point(at(2024, 2, 1), 99)], Granularity.MONTH)
    assert [(str(p.period), p.value) for p in result.points] == [
        ("2023-11", 1250),
        ("2023-12", 0),
        ("2024-01", 0),
        ("2024-02", 99),
    ]


def test_a_given_range_is_filled_whole_and_crops_what_lies_outside():
    result = series(
        [Point(at(2024, 1, 15)), Point(at(2024, 3, 15)), Point(at(2024, 9, 1))],
        Granularity.MONTH,
        start=at(2024, 2, 1),
        end=at(2024, 4, 30),
    )
    assert [(p.period, p.value) for p in result.points] == [
        (Month(2024, 2), 0),
        (Month(2024, 3), 1),
        (Month(2024, 4), 0),
    ]


def test_no_points_and_no_range_is_an_empty_series():
    assert series([], Granularity.WEEK).points == ()


def test_end_before_start_is_refused():
    with pytest.raises(ValueError):
        series([], Granularity.MONTH, start=at(2024, 5, 1), end=at(2024, 4, 1))


def test_the_seasonal_profile_averages_each_calendar_month_over_the_years():
    monthly = series(
        [Point(at(2022, 12, 5), 10), Point(at(2023, 12, 5), 30), Point(at(2023, 6, 5), 4)],
        Granularity.MONTH,
    )
    profile = by_month_of_year(monthly)
    december, june, january = profile[11], profile[5], profile[0]
    assert (december.years, december.total, december.mean) == (2, 40, 20.0)
    assert (june.years, june.mean) == (1, 4.0)
    assert (january.years, january.mean) == (1, 0.0)
    with pytest.raises(ValueError):
        by_month_of_year(series([Point(at(2024, 1, 1))], Granularity.WEEK))
