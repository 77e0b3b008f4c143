"""Quiet hours: SMS and WhatsApp wait until the recipient's own clock leaves the window."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from referral.quiet_hours import QuietHours, is_quiet, next_allowed, resolve_zone

NIGHT = QuietHours(time(21, 0), time(8, 0))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- the window ------------------------------------------------------------------------------


def test_a_window_includes_its_start_and_excludes_its_end():
    assert NIGHT.contains(time(21, 0))
    assert NIGHT.contains(time(23, 59))
    assert NIGHT.contains(time(0, 0))
    assert NIGHT.contains(time(7, 59, 59))
    assert not NIGHT.contains(time(8, 0))
    assert not NIGHT.contains(time(20, 59))


def test_a_window_within_one_day_does_not_wrap():
    lunch = QuietHours(time(12, 0), time(14, 0))
    assert not lunch.wraps_midnight
    assert lunch.contains(time(13, 0))
    assert not lunch.contains(time(0, 0))
    assert not lunch.contains(time(14, 0))


def test_windows_are_written_as_hh_mm_dash_hh_mm():
    assert QuietHours.parse("21:00-08:00") == NIGHT
    assert QuietHours.parse(" 9:30 - 17:45 ") == QuietHours(time(9, 30), time(17, 45))
    assert str(NIGHT) == "21:00-08:00"
    for bad in ("21-08", "21:00", "25:00-08:00", "21:00-08:60", ""):
        with pytest.raises(ValueError):
            QuietHours.parse(bad)


def test_a_window_needs_two_different_wall_clock_times():
    with pytest.raises(ValueError):
        QuietHours(time(8, 0), time(8, 0))
    with pytest.raises(ValueError):
        QuietHours(time(21, 0, tzinfo=UTC), time(8, 0))


# --- named examples --------------------------------------------------------------------------


def test_outside_quiet_hours_a_message_goes_now():
    now = utc(2024, 6, 3, 10, 15, 7, 123)  # 12:15 in Berlin
    assert next_allowed(now, "Europe/Berlin", NIGHT) == now


def test_at_night_in_berlin_a_message_waits_for_eight_in_the_morning_summer_time():
    now = utc(2024, 6, 1, 20, 0)  # 22:00 CEST
    assert next_allowed(now, "Europe/Berlin", NIGHT) == utc(2024, 6, 2, 6, 0)  # 08:00 CEST


def test_after_midnight_the_same_window_ends_the_same_morning():
    before = utc(2024, 1, 10, 22, 30)  # 23:30 CET on the 10th
    after = utc(2024, 1, 11, 2, 0)  # 03:00 CET on the 11th
    assert next_allowed(before, "Europe/Berlin", NIGHT) == utc(2024, 1, 11, 7, 0)
    assert next_allowed(after, "Europe/Berlin", NIGHT) == utc(2024, 1, 11, 7, 0)


def test_the_end_of_the_window_is_the_first_allowed_instant_and_the_start_is_quiet():
    assert next_allowed(utc(2024, 1, 11, 7, 0), "Europe/Berlin", NIGHT) == utc(2024, 1, 11, 7, 0)
    assert next_allowed(utc(2024, 1, 11, 20, 0), "Europe/Berlin", NIGHT) == utc(2024, 1, 12, 7, 0)


def test_berlin_spring_change_an_end_in_the_skipped_hour_ends_at_the_change():
    # 2024-03-31: at 01:00 UTC Berlin's clocks jump from 02:00 CET to 03:00 CEST, so 02:30
    # never shows; the first instant past the window is the jump itself.
    window = QuietHours(time(22, 0), time(2, 30))
    now = utc(2024, 3, 30, 23, 0)  # 00:00 CET
    assert next_allowed(now, "Europe/Berlin", window) == utc(2024, 3, 31, 1, 0)


def test_berlin_spring_change_shortens_the_night_by_an_hour():
    now = utc(2024, 3, 30, 21, 0)  # 22:00 CET; 08:00 the next morning is CEST
    assert next_allowed(now, "Europe/Berlin", NIGHT) == utc(2024, 3, 31, 6, 0)


def test_berlin_autumn_change_an_end_in_the_repeated_hour_ends_at_its_first_showing():
    # 2024-10-27: at 01:00 UTC the clocks go back from 03:00 CEST to 02:00 CET, so 02:30
    # shows twice; the window ends the first time, and is quiet again during the repeat.
    window = QuietHours(time(1, 0), time(2, 30))
    assert next_allowed(utc(2024, 10, 26, 23, 30), "Europe/Berlin", window) == utc(
        2024, 10, 27, 0, 30
    )
    during_the_repeat = utc(2024, 10, 27, 1, 10)  # 02:10 CET, the second 02:10
    assert is_quiet(during_the_repeat, "Europe/Berlin", window)
    assert next_allowed(during_the_repeat, "Europe/Berlin", window) == utc(2024, 10, 27, 1, 30)


def test_new_york_evening_in_winter_waits_for_eight_eastern_standard_time():
    now = utc(2024, 1, 15, 3, 0)  # 22:00 EST on the 14th
    assert next_allowed(now, "America/New_York", NIGHT) == utc(2024, 1, 15, 13, 0)


def test_new_york_night_of_the_spring_change_ends_at_eight_daylight_time():
    now = utc(2024, 3, 10, 4, 0)  # 23:00 EST on the 9th; clocks jump at 07:00 UTC
    assert next_allowed(now, "America/New_York", NIGHT) == utc(2024, 3, 10, 12, 0)


def test_kolkata_half_hour_offset_is_honoured():
    now = utc(2024, 5, 1, 16, 0)  # 21:30 IST
    assert next_allowed(now, "Asia/Kolkata", NIGHT) == utc(2024, 5, 2, 2, 30)  # 08:00 IST
    assert next_allowed(utc(2024, 5, 1, 15, 29), "Asia/Kolkata", NIGHT) == utc(2024, 5, 1, 15, 29)


def test_a_window_within_one_day_ends_the_same_day():
    lunch = QuietHours(time(12, 0), time(14, 0))
    assert next_allowed(utc(2024, 5, 1, 11, 0), "Europe/London", lunch) == utc(2024, 5, 1, 13, 0)


def test_an_unknown_or_malformed_zone_falls_back_to_the_default_zone():
    now = utc(2024, 6, 1, 20, 0)  # 22:00 in Berlin, 20:00 in UTC
    berlin = next_allowed(now, "Europe/Berlin", NIGHT)
    for name in ("Mars/Olympus", "europe/berlin", "../../etc/passwd", "America", "", None):
        assert next_allowed(now, name, NIGHT, default_tz="Europe/Berlin") == berlin
    assert next_allowed(now, "Mars/Olympus", NIGHT) == now  # default UTC: 20:00 is allowed


def test_the_servers_own_zone_is_not_a_recipients_zone():
    assert resolve_zone("localtime", "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert resolve_zone("  Asia/Kolkata ") == ZoneInfo("Asia/Kolkata")


def test_an_unusable_default_zone_is_a_configuration_mistake():
    with pytest.raises(ValueError):
        next_allowed(utc(2024, 1, 1), None, NIGHT, default_tz="Nowhere/Special")


def test_now_must_carry_its_time_zone():
    with pytest.raises(ValueError):
        next_allowed(datetime(2024, 1, 1, 12), "UTC", NIGHT)


def test_now_in_another_offset_is_read_as_the_same_instant():
    from datetime import timezone

    now = datetime(2024, 6, 1, 22, 0, tzinfo=timezone(timedelta(hours=2)))  # 20:00 UTC
    assert next_allowed(now, "Europe/Berlin", NIGHT) == utc(2024, 6, 2, 6, 0)
    assert next_allowed(now, "UTC", NIGHT).tzinfo is UTC


# --- properties ------------------------------------------------------------------------------

ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",  # daylight saving of half an hour
    "Antarctica/Troll",  # daylight saving of two hours
    "Pacific/Apia",  # skipped 2011-12-30 altogether
    "Pacific/Chatham",
    "Africa/Casablanca",
)


def _changes(zone_name, start, end, step=timedelta(minutes=15)):
    zone = ZoneInfo(zone_name)
    found, moment = [], start
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        moment += step
        new = moment.astimezone(zone).utcoffset()
        if new != offset:
            found.append(moment)
            offset = new
    return found


# Instants next to the zones' clock changes, where quiet hours are easiest to get wrong.
CHANGES = sorted(
    {instant for name in ZONES for instant in _changes(name, utc(2024, 1, 1), utc(2025, 1, 1))}
    | set(_changes("Pacific/Apia", utc(2011, 12, 29), utc(2011, 12, 31)))
)

wall_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
windows = st.tuples(wall_times, wall_times).filter(lambda se: se[0] != se[1])
zones = st.sampled_from((*ZONES, None, "Not/AZone"))
anytime = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
near_a_change = st.builds(
    lambda change, minutes, micros: change + timedelta(minutes=minutes, microseconds=micros),
    st.sampled_from(CHANGES),
    st.integers(-26 * 60, 26 * 60),
    st.integers(0, 999_999),
)
nows = st.one_of(anytime, near_a_change)


def _quiet_there(instant, zone, window):
    return window.contains(instant.astimezone(zone).time())


@settings(max_examples=400, deadline=None)
@given(now=nows, tz_name=zones, window=windows)
@example(now=utc(2024, 3, 30, 23, 0), tz_name="Europe/Berlin", window=(time(22), time(2, 30)))
@example(now=utc(2011, 12, 29, 20, 0), tz_name="Pacific/Apia", window=(time(2, 45), time(2, 30)))
@example(now=utc(2024, 10, 27, 1, 10), tz_name="Europe/Berlin", window=(time(1), time(2, 30)))
def test_the_answer_is_never_before_now_never_quiet_and_now_itself_when_allowed(
    now, tz_name, window
):
    quiet = QuietHours(*window)
    zone = resolve_zone(tz_name)
    allowed = next_allowed(now, tz_name, quiet)

    assert allowed >= now
    assert allowed.tzinfo is UTC
    assert not _quiet_there(allowed, zone, quiet)
    if not _quiet_there(now, zone, quiet):
        assert allowed == now


@settings(max_examples=150, deadline=None)
@given(now=nows, tz_name=zones, window=windows)
def test_no_earlier_instant_would_have_been_allowed(now, tz_name, window):
    quiet = QuietHours(*window)
    zone = resolve_zone(tz_name)
    allowed = next_allowed(now, tz_name, quiet)
    if allowed == now:
        return
    assert allowed - now < timedelta(days=2)
    assert _quiet_there(allowed - timedelta(microseconds=1), zone, quiet)
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < allowed:
        assert _quiet_there(minute, zone, quiet), minute
        minute += timedelta(minutes=1)
