"""Sample summaries and Welch's t-test against scipy."""

import random
import statistics

import pytest
from scipy import stats

from referral.experiments.means import SampleSummary, welch_test


def revenue(rng: random.Random, n: int, share: float, scale: int) -> list[int]:
    """Mostly zeros, a few skewed amounts: revenue per advocate."""
    return [int(rng.expovariate(1 / scale)) if rng.random() < share else 0 for _ in range(n)]


def test_a_summary_has_the_sample_mean_and_variance():
    values = [0, 0, 1200, 5000, 300]
    summary = SampleSummary.of(values)
    assert (summary.n, summary.total, summary.total_squares) == (
        5,
        6500,
        1200**2 + 5000**2 + 300**2,
    )
    assert summary.mean == statistics.mean(values)
    assert summary.variance == pytest.approx(statistics.variance(values), rel=1e-15)


def test_zeros_can_be_left_out_of_the_sums_as_long_as_n_counts_them():
    with_zeros = SampleSummary.of([0, 0, 0, 700, 1300])
    without = SampleSummary.of([700, 1300])
    assert with_zeros == SampleSummary(5, without.total, without.total_squares)


def test_the_variance_is_exact_for_large_amounts():
    values = [10**15 + 1, 10**15 + 2, 10**15 + 3]
    assert SampleSummary.of(values).variance == 1.0


def test_a_summary_that_no_sample_could_have_is_refused():
    with pytest.raises(ValueError):
        SampleSummary(2, 10, 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_welch_matches_scipy(seed):
    rng = random.Random(seed)
    a = revenue(rng, 800, 0.12, 4000)
    b = revenue(rng, 650, 0.09, 3000)
    ours = welch_test(SampleSummary.of(a), SampleSummary.of(b))
    theirs = stats.ttest_ind(a, b, equal_var=False)
    ci = theirs.confidence_interval(0.95)
    assert ours.t == pytest.approx(theirs.statistic, rel=1e-9)
    assert ours.dof == pytest.approx(theirs.df, rel=1e-9)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert ours.difference == pytest.approx(statistics.mean(a) - statistics.mean(b), rel=1e-12)
    assert ours.interval.low == pytest.approx(ci.low, rel=1e-9)
    assert ours.interval.high == pytest.approx(ci.high, rel=1e-9)


def test_welch_at_another_confidence_matches_scipy():
    a, b = [0, 0, 0, 1200, 0, 5000, 300, 0, 0, 0, 2500], [0, 100, 0, 0, 0, 800, 0, 0, 0]
    ours = welch_test(SampleSummary.of(a), SampleSummary.of(b), confidence=0.9)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.9)
    assert (ours.interval.low, ours.interval.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_no_welch_test_below_two_values_or_without_variance():
    assert welch_test(SampleSummary.of([5]), SampleSummary.of([1, 2])) is None
    assert welch_test(SampleSummary.of([0, 0, 0]), SampleSummary.of([0, 0])) is None


def test_one_constant_side_is_still_a_test():
    a, b = [0, 0, 0, 0], [0, 100, 0, 300, 50]
    ours = welch_test(SampleSummary.of(a), SampleSummary.of(b))
    theirs = stats.ttest_ind(a, b, equal_var=False)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
