"""Months and ISO weeks in UTC: the one meaning of "week" and "month" in every report."""

import calendar
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.analytics.periods import IsoWeek, Month, add_months, as_utc


def test_a_local_time_is_bucketed_by_its_utc_instant():
    new_york_evening = datetime(2024, 3, 31, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    assert Month.of(new_york_evening) == Month(2024, 4)


def test_a_naive_time_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="timezone-aware"):
        Month.of(datetime(2024, 3, 31, 12, 0))


def test_the_last_days_of_december_can_be_week_1_of_the_next_year():
    assert IsoWeek.of(datetime(2025, 12, 29, tzinfo=UTC)) == IsoWeek(2026, 1)
    assert str(IsoWeek(2026, 1)) == "2026-W01"


def test_the_first_days_of_january_can_be_week_53_of_the_last_year():
    assert IsoWeek.of(datetime(2021, 1, 3, 23, 59, tzinfo=UTC)) == IsoWeek(2020, 53)
    assert IsoWeek(2020, 53).plus(1) == IsoWeek(2021, 1)


def test_a_week_53_that_does_not_exist_is_refused():
    with pytest.raises(ValueError):
        IsoWeek(2021, 53)


def test_a_week_runs_from_monday_midnight_utc_for_seven_days():
    week = IsoWeek(2024, 10)
    assert week.start == datetime(2024, 3, 4, tzinfo=UTC)
    assert week.start.weekday() == 0
    assert week.end - week.start == timedelta(days=7)


def test_months_step_across_years_and_count_the_months_between():
    assert Month(2024, 11).plus(3) == Month(2025, 2)
    assert Month(2024, 1).plus(-1) == Month(2023, 12)
    assert Month(2025, 2).months_since(Month(2024, 11)) == 3
    assert Month(2024, 12).end == datetime(2025, 1, 1, tzinfo=UTC)
    assert str(Month(2024, 3)) == "2024-03" and Month.parse("2024-03") == Month(2024, 3)


def test_adding_months_clamps_to_the_last_day_and_keeps_the_time():
    at = datetime(2024, 1, 31, 15, 45, tzinfo=UTC)
    assert add_months(at, 1) == datetime(2024, 2, 29, 15, 45, tzinfo=UTC)
    assert add_months(at, 13) == datetime(2025, 2, 28, 15, 45, tzinfo=UTC)


def test_utc_conversion_keeps_the_instant():
    plus_two = datetime(2024, 6, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(plus_two) == datetime(2024, 5, 31, 23, 0, tzinfo=UTC)
    assert as_utc(plus_two).tzinfo is UTC


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(-240, 240),
)
def test_adding_months_lands_on_the_same_or_the_last_day_of_the_target_month(at, months):
    moved = add_months(at, months)
    assert Month.of(moved) == Month.of(at).plus(months)
    last_day = calendar.monthrange(moved.year, moved.month)[1]
    assert moved.day == min(at.day, last_day)
    assert moved.time() == at.time()
