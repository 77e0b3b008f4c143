"""The sample-size calculator against the textbook value and the power it promises."""

import math

import pytest
from scipy import stats

from referral.experiments.sample_size import SizeMethod, sample_size


def pooled_power(p1: float, p2: float, n1: int, n2: int, alpha: float) -> float:
    """Power of the two-sided pooled z-test (far tail ignored), from scipy.stats.norm."""
    p_bar = (n1 * p1 + n2 * p2) / (n1 + n2)
    null_se = math.sqrt(p_bar * (1 - p_bar) * (1 / n1 + 1 / n2))
    alt_se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = stats.norm.ppf(1 - alpha / 2)
    return stats.norm.cdf((abs(p2 - p1) - z * null_se) / alt_se)


def test_ten_to_twelve_percent_needs_3841_per_arm():
    # Fleiss et al. without continuity correction, as ClinCalc and most textbooks give it.
    size = sample_size(baseline=0.10, minimum_detectable_effect=0.02)
    assert (size.control, size.treatment, size.total) == (3841, 3841, 7682)
    assert size.target == pytest.approx(0.12)


def test_a_relative_effect_is_a_share_of_the_baseline():
    relative = sample_size(baseline=0.10, minimum_detectable_effect=0.20, relative=True)
    assert relative.control == 3841
    assert relative.target == pytest.approx(0.12)


def test_a_drop_is_as_detectable_as_a_rise_of_the_same_size_from_the_mirrored_rate():
    down = sample_size(baseline=0.12, minimum_detectable_effect=-0.02)
    assert down.control == 3841


@pytest.mark.parametrize(
    ("baseline", "effect", "alpha", "power"),
    [(0.10, 0.02, 0.05, 0.8), (0.03, 0.005, 0.05, 0.9), (0.4, -0.05, 0.01, 0.8)],
)
def test_the_size_is_the_smallest_that_reaches_the_power(baseline, effect, alpha, power):
    size = sample_size(
        baseline=baseline, minimum_detectable_effect=effect, alpha=alpha, power=power
    )
    target = baseline + effect
    n = size.control
    assert pooled_power(baseline, target, n, n, alpha) >= power
    assert pooled_power(baseline, target, n - 1, n - 1, alpha) < power


def test_unequal_arms_follow_the_fleiss_formula_with_a_ratio():
    p1, p2, k = 0.10, 0.12, 0.25
    p_bar = (p1 + k * p2) / (1 + k)
    z_alpha, z_power = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    root = z_alpha * math.sqrt(p_bar * (1 - p_bar) * (1 + 1 / k)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2) / k
    )
    control = root**2 / (p2 - p1) ** 2
    size = sample_size(baseline=p1, minimum_detectable_effect=p2 - p1, ratio=k)
    assert (size.control, size.treatment) == (math.ceil(control), math.ceil(control * k))
    assert pooled_power(p1, p2, size.control, size.treatment, 0.05) >= 0.8
    assert size.total > 2 * 3841  # a lopsided split needs more units in all


def test_the_arcsine_method_matches_statsmodels_normal_ind_power():
    # statsmodels: NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1)
    # is ((z(1 - alpha/2) + z(power)) / h)^2 * (1 + 1/ratio) per control unit.
    p1, p2 = 0.10, 0.12
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    for ratio in (1.0, 2.0):
        expected = ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / h) ** 2 * (1 + 1 / ratio)
        size = sample_size(
            baseline=p1, minimum_detectable_effect=0.02, ratio=ratio, method=SizeMethod.ARCSINE
        )
        assert size.control == math.ceil(expected)
    assert (
        sample_size(baseline=p1, minimum_detectable_effect=0.02, method=SizeMethod.ARCSINE).control
        == 3835
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {"baseline": 0.0, "minimum_detectable_effect": 0.01},
        {"baseline": 0.95, "minimum_detectable_effect": 0.05},
        {"baseline": 0.1, "minimum_detectable_effect": 0.0},
        {"baseline": 0.1, "minimum_detectable_effect": 0.01, "alpha": 0.0},
        {"baseline": 0.1, "minimum_detectable_effect": 0.01, "power": 1.0},
        {"baseline": 0.1, "minimum_detectable_effect": 0.01, "ratio": 0.0},
    ],
)
def test_impossible_designs_are_refused(arguments):
    with pytest.raises(ValueError):
        sample_size(**arguments)
