"""Time to conversion: from a referral to the referred customer's first purchase.

The referral's time is when it was made (the attributed click or code use); conversion is
the referee's first purchase. Only referrals that converted are measured. Percentiles use
linear interpolation between the two nearest ranks (numpy's default, and
`statistics.quantiles(method="inclusive")`): the p-th percentile of n sorted values sits at
rank p/100 * (n - 1), counted from 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from referral.analytics.periods import as_utc
from referral.analytics.ratios import round_half_even

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Conversion:
    referred_at: datetime
    first_purchase_at: datetime


@dataclass(frozen=True, slots=True)
class TimeToConversion:
    conversions: int
    median: timedelta | None
    """None when nothing converted."""
    p90: timedelta | None


def percentile(sorted_values: Sequence[int], p: Fraction | int) -> Fraction:
    """The p-th percentile (0 <= p <= 100) of ascending integers, exactly."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    position = Fraction(p) / 100 * (len(sorted_values) - 1)
    below = int(position)
    above = min(below + 1, len(sorted_values) - 1)
    weight = position - below
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * weight


def time_to_conversion(conversions: Iterable[Conversion]) -> TimeToConversion:
    """Median and 90th percentile, to the microsecond (half to even). A purchase before its
    referral is refused: attribution never produces one, so it means broken input."""
    durations: list[int] = []
    for conversion in conversions:
        elapsed = as_utc(conversion.first_purchase_at) - as_utc(conversion.referred_at)
        if elapsed < timedelta(0):
            raise ValueError("a first purchase precedes its referral")
        durations.append(elapsed // _MICROSECOND)
    if not durations:
        return TimeToConversion(conversions=0, median=None, p90=None)
    durations.sort()
    return TimeToConversion(
        conversions=len(durations),
        median=_micros(percentile(durations, 50)),
        p90=_micros(percentile(durations, 90)),
    )


def _micros(value: Fraction) -> timedelta:
    return timedelta(microseconds=round_half_even(value))
