"""The program's lift over a holdout that was never invited."""

import random

import pytest
from scipy import stats

from referral.experiments.incrementality import GroupOutcome, incrementality
from referral.experiments.means import SampleSummary


def revenue(seed: int, customers: int, buyers: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(500, 15_000) for _ in range(buyers)] + [0] * (customers - buyers)


TREATED_REVENUE = revenue(1, 9000, 540)
HOLDOUT_REVENUE = revenue(2, 1000, 45)
TREATED = GroupOutcome(9000, 540, SampleSummary.of(TREATED_REVENUE))
HOLDOUT = GroupOutcome(1000, 45, SampleSummary.of(HOLDOUT_REVENUE))
RESULT = incrementality(TREATED, HOLDOUT)


def test_conversion_lift_is_the_difference_of_rates_with_its_interval_and_test():
    assert (RESULT.treated_rate, RESULT.holdout_rate) == (0.06, 0.045)
    assert RESULT.conversion_lift == pytest.approx(0.015)
    assert RESULT.relative_lift == pytest.approx(0.015 / 0.045)
    assert RESULT.conversion_lift in RESULT.conversion_lift_interval
    expected = stats.chi2_contingency([[540, 8460], [45, 955]], correction=False)
    assert RESULT.z_test.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_revenue_lift_per_customer_matches_welch_in_scipy():
    expected = stats.ttest_ind(TREATED_REVENUE, HOLDOUT_REVENUE, equal_var=False)
    ci = expected.confidence_interval(0.95)
    lift = RESULT.revenue_lift
    assert lift.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert (lift.interval.low, lift.interval.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_incremental_totals_scale_the_lifts_to_the_treated_group():
    assert RESULT.incremental_conversions == pytest.approx(0.015 * 9000)
    per_customer = sum(TREATED_REVENUE) / 9000 - sum(HOLDOUT_REVENUE) / 1000
    assert RESULT.incremental_revenue_minor == round(per_customer * 9000)
    assert isinstance(RESULT.incremental_revenue_minor, int)


def test_incremental_revenue_rounds_half_to_even():
    holdout = GroupOutcome(2, 1, SampleSummary.of([1, 0]))  # 0.5 per customer
    for paid, expected in ((3, 2), (5, 4), (4, 4)):  # 2.5 -> 2, 4.5 -> 4, 3.5 -> 4
        treated = GroupOutcome(1, 1, SampleSummary.of([paid]))
        assert incrementality(treated, holdout).incremental_revenue_minor == expected


def test_an_empty_holdout_gives_no_lift():
    result = incrementality(TREATED, GroupOutcome(0, 0, SampleSummary(0, 0, 0)))
    assert result.conversion_lift is None and result.conversion_lift_interval is None
    assert result.revenue_lift is None and result.incremental_revenue_minor is None
    assert result.incremental_conversions is None


def test_a_holdout_that_bought_nothing_has_no_relative_lift():
    result = incrementality(TREATED, GroupOutcome(100, 0, SampleSummary(100, 0, 0)))
    assert result.conversion_lift == pytest.approx(0.06)
    assert result.relative_lift is None


def test_revenue_must_cover_every_customer():
    with pytest.raises(ValueError):
        GroupOutcome(10, 1, SampleSummary(9, 0, 0))
