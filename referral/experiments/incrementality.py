"""Incrementality: what the program adds over customers it never touched.

A holdout (see `assignment.in_holdout`) is a random share of eligible customers who are
never invited. Comparing everyone else (the treated group, invited or not: intention to
treat, so self-selection into sharing cannot flatter the program) with the holdout over the
same period measures the program's true lift:

- conversion lift: treated rate - holdout rate, where a customer converts by making a
  purchase in the period; Newcombe interval and two-proportion z-test (`proportions`);
- revenue lift per customer: the difference of mean revenue per customer with Welch's
  interval and test (`means`);
- incremental conversions and revenue: the lifts times the treated customers, the program's
  effect in units a marketer reads. Revenue in whole minor units, half to even.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from referral.analytics.ratios import round_half_even
from referral.experiments.means import MeanDifference, SampleSummary, welch_test
from referral.experiments.proportions import (
    Interval,
    Proportion,
    Significance,
    newcombe_interval,
    two_proportion_z_test,
)


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """`customers` in the group, `converted` of them with a purchase in the period, and
    revenue per customer (`n` equal to `customers`, minor units)."""

    customers: int
    converted: int
    revenue: SampleSummary

    def __post_init__(self) -> None:
        Proportion(self.converted, self.customers)
        if self.revenue.n != self.customers:
            raise ValueError("revenue must have one value per customer")


@dataclass(frozen=True, slots=True)
class Incrementality:
    treated_rate: float | None
    holdout_rate: float | None
    conversion_lift: float | None
    conversion_lift_interval: Interval | None
    relative_lift: float | None
    """None when the holdout converts nobody."""
    z_test: Significance | None
    revenue_lift: MeanDifference | None
    """Per customer, in minor units."""
    incremental_conversions: float | None
    incremental_revenue_minor: int | None


def incrementality(
    treated: GroupOutcome, holdout: GroupOutcome, confidence: float = 0.95
) -> Incrementality:
    t = Proportion(treated.converted, treated.customers)
    h = Proportion(holdout.converted, holdout.customers)
    lift = None if t.rate is None or h.rate is None else t.rate - h.rate
    revenue_lift: Fraction | None = None
    if treated.customers and holdout.customers:
        revenue_lift = Fraction(treated.revenue.total, treated.customers) - Fraction(
            holdout.revenue.total, holdout.customers
        )
    return Incrementality(
        treated_rate=t.rate,
        holdout_rate=h.rate,
        conversion_lift=lift,
        conversion_lift_interval=newcombe_interval(t, h, confidence),
        relative_lift=None if lift is None or not h.rate else lift / h.rate,
        z_test=two_proportion_z_test(t, h),
        revenue_lift=welch_test(treated.revenue, holdout.revenue, confidence),
        incremental_conversions=None if lift is None else lift * treated.customers,
        incremental_revenue_minor=(
            None if revenue_lift is None else round_half_even(revenue_lift * treated.customers)
        ),
    )
