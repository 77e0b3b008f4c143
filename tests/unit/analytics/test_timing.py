"""Time from referral to first purchase: median and 90th percentile."""

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from referral.analytics.timing import Conversion, percentile, time_to_conversion

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def after(**delta) -> Conversion:
    return Conversion(T0, T0 + timedelta(**delta))


def test_median_and_p90_interpolate_between_ranks():
    result = time_to_conversion([after(hours=h) for h in (1, 2, 3, 4)])
    assert result.conversions == 4
    assert result.median == timedelta(hours=2, minutes=30)
    assert result.p90 == timedelta(hours=3, minutes=42)  # rank 2.7: 3 h + 0.7 h


def test_percentiles_match_numpy_on_random_durations():
    rng = random.Random(3)
    seconds = [rng.randrange(0, 90 * 86_400) for _ in range(1001)]
    result = time_to_conversion([after(seconds=s) for s in seconds])
    assert result.median.total_seconds() == pytest.approx(np.percentile(seconds, 50), abs=1e-6)
    assert result.p90.total_seconds() == pytest.approx(np.percentile(seconds, 90), abs=1e-6)


def test_percentile_is_exact():
    assert percentile([0, 1], 50) == Fraction(1, 2)
    assert percentile([5], 90) == 5
    assert percentile([1, 2, 3], 100) == 3


def test_nothing_converted_means_no_times():
    result = time_to_conversion([])
    assert (result.conversions, result.median, result.p90) == (0, None, None)


def test_zones_do_not_change_the_elapsed_time():
    paris = datetime(2024, 1, 1, 2, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 01:00 UTC
    result = time_to_conversion([Conversion(T0, paris)])
    assert result.median == timedelta(hours=1)


def test_a_purchase_before_its_referral_is_refused():
    with pytest.raises(ValueError, match="precedes"):
        time_to_conversion([after(seconds=-1)])
