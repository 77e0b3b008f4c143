"""Per-arm results of a reward-structure experiment, and each arm against the control."""

import random

import pytest
from scipy import stats

from referral.experiments.means import SampleSummary
from referral.experiments.results import ArmOutcome, analyze


def per_advocate_revenue(seed: int, advocates: int, converted: int) -> list[int]:
    rng = random.Random(seed)
    values = [rng.randrange(1_000, 20_000) for _ in range(converted)]
    return values + [0] * (advocates - converted)


CONTROL_REVENUE = per_advocate_revenue(1, 2000, 100)
DOUBLE_REVENUE = per_advocate_revenue(2, 2000, 140)
POINTS_REVENUE = per_advocate_revenue(3, 1000, 50)
OUTCOMES = [
    ArmOutcome("control", 2000, 100, 130, SampleSummary.of(CONTROL_REVENUE), 130 * 1000),
    ArmOutcome("double", 2000, 140, 190, SampleSummary.of(DOUBLE_REVENUE), 190 * 2000),
    ArmOutcome("points", 1000, 50, 55, SampleSummary.of(POINTS_REVENUE), 0),
]
RESULTS = analyze(OUTCOMES, control="control")
CONTROL, DOUBLE, POINTS = RESULTS.arms


def test_each_arm_has_its_rate_interval_cpa_and_roi():
    assert (DOUBLE.conversion_rate, DOUBLE.acquisitions) == (0.07, 190)
    interval = stats.binomtest(140, 2000).proportion_ci(0.95, method="wilson")
    assert DOUBLE.conversion_interval.low == pytest.approx(interval.low, abs=1e-12)
    assert DOUBLE.conversion_interval.high == pytest.approx(interval.high, abs=1e-12)
    assert DOUBLE.cost_per_acquisition_minor == 2000
    assert DOUBLE.revenue_minor == sum(DOUBLE_REVENUE)
    assert DOUBLE.roi == (sum(DOUBLE_REVENUE) - 380_000) / 380_000
    assert DOUBLE.revenue_per_advocate == sum(DOUBLE_REVENUE) / 2000


def test_an_arm_that_cost_nothing_has_no_roi_and_a_zero_cpa():
    assert POINTS.roi is None
    assert POINTS.cost_per_acquisition_minor == 0


def test_the_control_is_not_compared_with_itself():
    assert CONTROL.is_control and CONTROL.versus_control is None
    assert RESULTS.control == "control"


def test_uplift_is_absolute_and_relative_to_the_control_rate():
    versus = DOUBLE.versus_control
    assert versus.absolute_uplift == pytest.approx(0.02)
    assert versus.relative_uplift == pytest.approx(0.4)
    assert versus.absolute_uplift in versus.absolute_uplift_interval
    assert versus.relative_uplift in versus.relative_uplift_interval


def test_the_relative_uplift_interval_is_scipys_relative_risk_less_one():
    expected = stats.contingency.relative_risk(140, 2000, 100, 2000).confidence_interval()
    interval = DOUBLE.versus_control.relative_uplift_interval
    assert interval.low == pytest.approx(expected.low - 1, rel=1e-12)
    assert interval.high == pytest.approx(expected.high - 1, rel=1e-12)


def test_the_conversion_test_matches_scipy():
    table = [[140, 1860], [100, 1900]]
    expected = stats.chi2_contingency(table, correction=False)
    assert DOUBLE.versus_control.z_test.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_revenue_per_advocate_is_compared_with_welch_as_in_scipy():
    expected = stats.ttest_ind(DOUBLE_REVENUE, CONTROL_REVENUE, equal_var=False)
    revenue = DOUBLE.versus_control.revenue_per_advocate
    assert revenue.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert revenue.t == pytest.approx(expected.statistic, rel=1e-9)


def test_all_arms_together_are_tested_with_chi_square_as_in_scipy():
    table = [[100, 1900], [140, 1860], [50, 950]]
    expected = stats.chi2_contingency(table, correction=False)
    assert RESULTS.chi_square.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert RESULTS.chi_square.dof == 2


def test_no_relative_uplift_over_a_control_that_converted_nobody():
    outcomes = [
        ArmOutcome("a", 50, 0, 0, SampleSummary(50, 0, 0), 0),
        ArmOutcome("b", 50, 3, 3, SampleSummary.of([100, 200, 300] + [0] * 47), 600),
    ]
    versus = analyze(outcomes, control="a").arms[1].versus_control
    assert versus.absolute_uplift == pytest.approx(0.06)
    assert versus.relative_uplift is None
    assert versus.relative_uplift_interval is None


def test_an_arm_nobody_was_exposed_to_has_no_rates():
    outcomes = [
        ArmOutcome("a", 0, 0, 0, SampleSummary(0, 0, 0), 0),
        ArmOutcome("b", 10, 1, 1, SampleSummary.of([100] + [0] * 9), 50),
    ]
    a, b = analyze(outcomes, control="a").arms
    assert a.conversion_rate is None and a.conversion_interval is None
    assert a.cost_per_acquisition_minor is None
    assert b.versus_control.absolute_uplift is None
    assert b.versus_control.z_test is None


def test_outcomes_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="one value per advocate"):
        ArmOutcome("a", 10, 1, 1, SampleSummary(9, 0, 0), 0)
    with pytest.raises(ValueError, match="acquired"):
        ArmOutcome("a", 10, 2, 1, SampleSummary(10, 0, 0), 0)
    with pytest.raises(ValueError):
        ArmOutcome("a", 10, 11, 11, SampleSummary(10, 0, 0), 0)


def test_the_control_must_be_one_of_the_arms_and_names_unique():
    with pytest.raises(ValueError, match="control"):
        analyze(OUTCOMES, control="nope")
    with pytest.raises(ValueError, match="unique"):
        analyze([OUTCOMES[0], OUTCOMES[0]], control="control")
