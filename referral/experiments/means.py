"""Means such as revenue per advocate: summaries, Welch's t-test and its interval.

Revenue per unit is heavily skewed (most units bring nothing, a few a lot), and arms differ
in spread, so the comparison is Welch's unequal-variance t-test with Welch-Satterthwaite
degrees of freedom, and the interval for the difference of means uses the same standard
error and degrees of freedom. With the thousands of units an experiment needs, the mean is
close enough to normal for this to hold despite the skew.

Means and differences of minor units are floats: they are statistics to read and chart,
never amounts to pay or book.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from referral.experiments.distributions import check_confidence, t_quantile, t_two_sided_p
from referral.experiments.proportions import Interval


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """n values by their count, sum and sum of squares: what SQL returns as
    `COUNT(*), SUM(x), SUM(x * x)` over one row per unit. Units with 0 add nothing to either
    sum, so the sums may run over the units with revenue only, as long as `n` counts them
    all. Integers, so the variance is computed exactly however large the amounts."""

    n: int
    total: int
    total_squares: int

    def __post_init__(self) -> None:
        if self.n < 0 or self.total_squares < 0:
            raise ValueError("n and total_squares cannot be negative")
        if self.n * self.total_squares < self.total * self.total:
            raise ValueError("total_squares is too small for total: not one sample")

    @classmethod
    def of(cls, values: Iterable[int]) -> SampleSummary:
        n = total = squares = 0
        for value in values:
            n += 1
            total += value
            squares += value * value
        return cls(n, total, squares)

    @property
    def mean(self) -> float | None:
        return None if self.n == 0 else self.total / self.n

    @property
    def variance(self) -> float | None:
        """The sample variance (n - 1 in the denominator); None below two values."""
        if self.n < 2:
            return None
        exact = Fraction(self.n * self.total_squares - self.total * self.total)
        return float(exact / (self.n * (self.n - 1)))


@dataclass(frozen=True, slots=True)
class MeanDifference:
    """treatment mean - control mean, with Welch's test and interval."""

    difference: float
    interval: Interval
    t: float
    dof: float
    p_value: float


def welch_test(
    treatment: SampleSummary, control: SampleSummary, confidence: float = 0.95
) -> MeanDifference | None:
    """Welch's two-sided t-test; None when a side has fewer than two values or both sides
    are constant (no variance, so no test)."""
    check_confidence(confidence)
    v1, v2 = treatment.variance, control.variance
    m1, m2 = treatment.mean, control.mean
    if v1 is None or v2 is None or m1 is None or m2 is None:
        return None
    a, b = v1 / treatment.n, v2 / control.n
    se2 = a + b
    if se2 <= 0.0:
        return None
    se = math.sqrt(se2)
    dof = se2 * se2 / (a * a / (treatment.n - 1) + b * b / (control.n - 1))
    difference = m1 - m2
    t = difference / se
    half = t_quantile(0.5 + confidence / 2.0, dof) * se
    return MeanDifference(
        difference=difference,
        interval=Interval(difference - half, difference + half),
        t=t,
        dof=dof,
        p_value=t_two_sided_p(t, dof),
    )
