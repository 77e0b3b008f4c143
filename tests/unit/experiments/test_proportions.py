"""Wilson and Newcombe intervals, the two-proportion z-test and chi-square, against scipy
and against the published examples."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from referral.experiments.proportions import (
    Proportion,
    chi_square_test,
    newcombe_interval,
    ratio_interval,
    two_proportion_z_test,
    wilson_interval,
)

CASES = [(0, 10), (1, 10), (3, 10), (10, 10), (81, 263), (15, 148), (500, 1000), (1, 20_000)]


@pytest.mark.parametrize(("successes", "trials"), CASES)
@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_matches_scipy(successes, trials, confidence):
    ours = wilson_interval(Proportion(successes, trials), confidence)
    theirs = stats.binomtest(successes, trials).proportion_ci(confidence, method="wilson")
    assert ours.low == pytest.approx(theirs.low, abs=1e-12)
    assert ours.high == pytest.approx(theirs.high, abs=1e-12)


def test_wilson_is_exactly_0_or_1_at_the_edges_and_none_without_trials():
    assert wilson_interval(Proportion(0, 7)).low == 0.0
    assert wilson_interval(Proportion(7, 7)).high == 1.0
    assert wilson_interval(Proportion(0, 0)) is None


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_observed_rate(case):
    successes, trials = case
    interval = wilson_interval(Proportion(successes, trials))
    assert 0.0 <= interval.low <= successes / trials <= interval.high <= 1.0


# Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10.
@pytest.mark.parametrize(
    ("treatment", "control", "low", "high"),
    [
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
        ((6, 7), (2, 7), 0.0582, 0.8062),
        ((5, 56), (0, 29), -0.0381, 0.1926),
    ],
)
def test_newcombe_matches_the_published_examples(treatment, control, low, high):
    interval = newcombe_interval(Proportion(*treatment), Proportion(*control))
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_newcombe_is_built_from_scipys_wilson_intervals():
    (x1, n1), (x2, n2) = (81, 263), (15, 148)
    w1 = stats.binomtest(x1, n1).proportion_ci(0.95, method="wilson")
    w2 = stats.binomtest(x2, n2).proportion_ci(0.95, method="wilson")
    p1, p2 = x1 / n1, x2 / n2
    expected_low = p1 - p2 - ((p1 - w1.low) ** 2 + (w2.high - p2) ** 2) ** 0.5
    expected_high = p1 - p2 + ((w1.high - p1) ** 2 + (p2 - w2.low) ** 2) ** 0.5
    interval = newcombe_interval(Proportion(x1, n1), Proportion(x2, n2))
    assert interval.low == pytest.approx(expected_low, abs=1e-12)
    assert interval.high == pytest.approx(expected_high, abs=1e-12)


def test_newcombe_needs_trials_on_both_sides():
    assert newcombe_interval(Proportion(0, 0), Proportion(1, 2)) is None


@pytest.mark.parametrize(
    ("treatment", "control"),
    [((140, 2000), (100, 2000)), ((1, 10), (3, 10)), ((10, 10), (5, 10)), ((7, 20_000), (2, 900))],
)
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_the_ratio_interval_matches_scipys_relative_risk(treatment, control, confidence):
    ours = ratio_interval(Proportion(*treatment), Proportion(*control), confidence)
    theirs = stats.contingency.relative_risk(*treatment, *control).confidence_interval(confidence)
    assert ours.low == pytest.approx(theirs.low, rel=1e-12)
    assert ours.high == pytest.approx(theirs.high, rel=1e-12)


def test_no_ratio_interval_while_either_side_converts_nobody():
    assert ratio_interval(Proportion(0, 100), Proportion(5, 100)) is None
    assert ratio_interval(Proportion(5, 100), Proportion(0, 100)) is None
    assert ratio_interval(Proportion(0, 0), Proportion(5, 100)) is None


@pytest.mark.parametrize(
    ("treatment", "control"),
    [((120, 1000), (100, 1000)), ((56, 70), (48, 80)), ((30, 400), (52, 410)), ((1, 5), (0, 9))],
)
def test_the_z_test_matches_scipys_uncorrected_chi_square_on_the_2x2_table(treatment, control):
    result = two_proportion_z_test(Proportion(*treatment), Proportion(*control))
    table = [
        [treatment[0], treatment[1] - treatment[0]],
        [control[0], control[1] - control[0]],
    ]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert result.statistic**2 == pytest.approx(chi2.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert (result.statistic > 0) == (treatment[0] / treatment[1] > control[0] / control[1])


def test_the_z_test_on_a_worked_example():
    # 12 % vs 10 % of 1000 each: pooled 0.11, z = 0.02 / sqrt(0.11 * 0.89 * 0.002).
    result = two_proportion_z_test(Proportion(120, 1000), Proportion(100, 1000))
    z = 0.02 / (0.11 * 0.89 * 0.002) ** 0.5
    assert result.statistic == pytest.approx(z, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-12)


def test_tiny_p_values_keep_their_precision():
    result = two_proportion_z_test(Proportion(900, 1000), Proportion(100, 1000))
    z = result.statistic
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    assert 0 < result.p_value < 1e-200


def test_no_z_test_without_trials_or_without_variance():
    assert two_proportion_z_test(Proportion(0, 0), Proportion(1, 5)) is None
    assert two_proportion_z_test(Proportion(0, 50), Proportion(0, 60)) is None
    assert two_proportion_z_test(Proportion(50, 50), Proportion(60, 60)) is None


@pytest.mark.parametrize(
    "arms",
    [
        [(120, 1000), (100, 1000), (140, 1000)],
        [(5, 40), (9, 41), (2, 39), (7, 44)],
        [(300, 2000), (310, 2100)],
    ],
)
def test_chi_square_across_arms_matches_scipy(arms):
    result = chi_square_test([Proportion(*a) for a in arms])
    table = [[x, n - x] for x, n in arms]
    expected = stats.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.dof == expected.dof == len(arms) - 1


def test_chi_square_is_undefined_with_one_arm_or_no_variation():
    assert chi_square_test([Proportion(3, 10)]) is None
    assert chi_square_test([Proportion(3, 10), Proportion(0, 0)]) is None
    assert chi_square_test([Proportion(0, 10), Proportion(0, 12)]) is None


def test_a_proportion_cannot_exceed_its_trials():
    with pytest.raises(ValueError):
        Proportion(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(Proportion(1, 2), confidence=1.0)
