"""`referral experiments size` as a user runs it: no database needed."""

import json
import subprocess

from scipy import stats

from tests.e2e.conftest import REFERRAL


def _size(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REFERRAL, "experiments", "size", *args], capture_output=True, text=True, timeout=60
    )


def test_the_size_of_a_two_arm_test_is_the_textbook_number():
    done = _size("--baseline", "0.04", "--effect", "0.25", "--relative", "--json")
    assert done.returncode == 0, done.stderr
    size = json.loads(done.stdout)
    assert (size["target"], size["control"], size["total"]) == (0.05, 6745, 13490)


def test_the_sized_test_has_the_power_asked_for():
    """Check the answer independently: at that size, a two-sided z-test at 5% sees the
    4% -> 5% change with 80% probability (normal approximation, as scipy computes it)."""
    n = json.loads(_size("--baseline", "0.04", "--effect", "0.01", "--json").stdout)["control"]
    p1, p2 = 0.04, 0.05
    pooled = (p1 + p2) / 2
    z = stats.norm.ppf(0.975)
    se_null = (2 * pooled * (1 - pooled) / n) ** 0.5
    se_alt = ((p1 * (1 - p1) + p2 * (1 - p2)) / n) ** 0.5
    power = stats.norm.sf((z * se_null - (p2 - p1)) / se_alt)
    assert 0.80 <= power < 0.801


def test_more_arms_hold_each_comparison_to_the_confidence_asked_for():
    two = json.loads(_size("--baseline", "0.04", "--effect", "0.01", "--json").stdout)
    three = json.loads(
        _size("--baseline", "0.04", "--effect", "0.01", "--arms", "3", "--json").stdout
    )
    assert three["control"] > two["control"]
    assert three["total"] == three["control"] + 2 * three["treatment"]


def test_a_rate_outside_zero_and_one_is_one_line_and_a_non_zero_exit():
    done = _size("--baseline", "1.5", "--effect", "0.01")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: baseline must be a rate strictly between 0 and 1"
