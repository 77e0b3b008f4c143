"""Intervals and tests for proportions such as conversion rates.

- One proportion: the Wilson score interval (without continuity correction). Unlike the
  textbook p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and keeps its coverage near 0 % and
  100 % and at small n, which is where conversion rates live.
- Difference of two proportions: Newcombe's hybrid score interval (method 10 of Newcombe,
  Statistics in Medicine 1998), built from the two Wilson intervals; it inherits their
  behaviour at 0 and 1, where the Wald interval collapses to a point.
- Ratio of two proportions (relative uplift is the ratio - 1): Katz's log interval,
  exp(ln(p1/p2) ± z·sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)), as `scipy.stats.contingency.
  relative_risk` gives it; undefined while either side has no successes.
- Two proportions, equal or not: the two-sided z-test with the pooled proportion under the
  null hypothesis (identical to Pearson's chi-square without Yates' correction on the 2x2
  table).
- n proportions: Pearson's chi-square test of homogeneity on the n x 2 table (converted,
  not converted), n - 1 degrees of freedom, no continuity correction.

Every statistic that is undefined for the data (no units, or a variance of 0 because all
or none converted) is None rather than NaN or an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from referral.experiments.distributions import (
    check_confidence,
    chi_square_sf,
    normal_quantile,
    normal_two_sided_p,
)


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Proportion:
    """`successes` out of `trials`."""

    successes: int
    trials: int

    def __post_init__(self) -> None:
        if self.trials < 0 or not 0 <= self.successes <= self.trials:
            raise ValueError("need 0 <= successes <= trials")

    @property
    def rate(self) -> float | None:
        return None if self.trials == 0 else self.successes / self.trials


@dataclass(frozen=True, slots=True)
class Significance:
    statistic: float
    p_value: float
    dof: int | None = None
    """Degrees of freedom for chi-square; None for z."""


def _z(confidence: float) -> float:
    return normal_quantile(0.5 + check_confidence(confidence) / 2.0)


def wilson_interval(p: Proportion, confidence: float = 0.95) -> Interval | None:
    """The Wilson score interval; None without trials."""
    z = _z(confidence)
    n, x = p.trials, p.successes
    if n == 0:
        return None
    z2 = z * z
    centre = (x + z2 / 2.0) / (n + z2)
    half = z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4.0)
    # At 0 or n successes the bound is exactly 0 or 1; rounding must not push it past.
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return Interval(low, high)


def newcombe_interval(
    treatment: Proportion, control: Proportion, confidence: float = 0.95
) -> Interval | None:
    """Interval for treatment rate - control rate (Newcombe's method 10); None when either
    side has no trials."""
    t_ci = wilson_interval(treatment, confidence)
    c_ci = wilson_interval(control, confidence)
    if t_ci is None or c_ci is None or treatment.rate is None or control.rate is None:
        return None
    p1, p2 = treatment.rate, control.rate
    difference = p1 - p2
    low = difference - math.hypot(p1 - t_ci.low, c_ci.high - p2)
    high = difference + math.hypot(t_ci.high - p1, p2 - c_ci.low)
    return Interval(low, high)


def ratio_interval(
    treatment: Proportion, control: Proportion, confidence: float = 0.95
) -> Interval | None:
    """Interval for treatment rate / control rate (Katz's log method); None when either
    side has no trials or no successes, where the logarithm has nothing to stand on."""
    x1, n1, x2, n2 = treatment.successes, treatment.trials, control.successes, control.trials
    z = _z(confidence)
    if x1 == 0 or x2 == 0:
        return None
    log_ratio = math.log((x1 / n1) / (x2 / n2))
    se = math.sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2)
    return Interval(math.exp(log_ratio - z * se), math.exp(log_ratio + z * se))


def two_proportion_z_test(treatment: Proportion, control: Proportion) -> Significance | None:
    """Two-sided z-test of equal rates; z > 0 when the treatment converts more. None when a
    side has no trials or when everyone or no one converted (no variance to test against)."""
    n1, n2 = treatment.trials, control.trials
    if n1 == 0 or n2 == 0:
        return None
    pooled = (treatment.successes + control.successes) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return None
    z = (treatment.successes / n1 - control.successes / n2) / math.sqrt(variance)
    return Significance(statistic=z, p_value=normal_two_sided_p(z))


def chi_square_test(arms: Sequence[Proportion]) -> Significance | None:
    """Pearson's chi-square test that all arms convert at one rate. None with fewer than two
    arms with trials, or when everyone or no one converted."""
    arms = [a for a in arms if a.trials > 0]
    if len(arms) < 2:
        return None
    total = sum(a.trials for a in arms)
    converted = sum(a.successes for a in arms)
    if converted in (0, total):
        return None
    statistic = 0.0
    for arm in arms:
        for observed, column in (
            (arm.successes, converted),
            (arm.trials - arm.successes, total - converted),
        ):
            expected = arm.trials * column / total
            statistic += (observed - expected) ** 2 / expected
    dof = len(arms) - 1
    return Significance(statistic=statistic, p_value=chi_square_sf(statistic, dof), dof=dof)
