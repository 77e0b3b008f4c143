"""Assignment by hashing: stable everywhere, true to the weights, holdout without an arm."""

import hashlib
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from referral.experiments.assignment import (
    ExperimentSpec,
    arm_of,
    assign,
    bucket,
    draw,
    in_holdout,
    uniform,
)

ROOT = Path(__file__).resolve().parents[3]
SPEC = ExperimentSpec(
    key="reward-size-2024",
    arms=[{"name": "control"}, {"name": "double", "weight": 2}, {"name": "points"}],
    holdout_percent=Decimal(10),
)

# Written down once from the implementation. If this table changes, running experiments
# would silently re-assign their advocates: change the hashing only with a new key scheme.
EXPECTED = {
    1: None,
    2: "double",
    3: "double",
    4: "control",
    5: "control",
    6: None,
    7: "control",
    8: "double",
    9: "control",
    10: "control",
    11: "double",
    12: "control",
    1000: "points",
    123456789: "control",
    "hubspot-42": "points",
}


def test_the_draw_is_the_first_eight_bytes_of_sha256_of_purpose_key_and_unit():
    digest = hashlib.sha256(b"arm:reward-size-2024:1").digest()
    assert draw("arm", "reward-size-2024", 1) == int.from_bytes(digest[:8], "big")
    assert draw("arm", "reward-size-2024", 1) == 0x02B6CEA915825B8B


def test_a_fixed_table_of_units_keeps_its_arms():
    assert {unit: assign(SPEC, unit).arm for unit in EXPECTED} == EXPECTED


def test_assignment_does_not_depend_on_the_process_hash_seed():
    code = (
        "from decimal import Decimal\n"
        "from referral.experiments.assignment import ExperimentSpec, assign\n"
        "spec = ExperimentSpec(key='reward-size-2024', arms=[{'name': 'control'},"
        " {'name': 'double', 'weight': 2}, {'name': 'points'}], holdout_percent=Decimal(10))\n"
        "print([assign(spec, u).arm for u in ['hubspot-42', 1000, 5, 6]])\n"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == "['points', 'points', 'control', None]"


def test_the_uniform_number_is_in_the_unit_interval():
    values = [uniform("arm", "k", unit) for unit in range(2000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert 0.45 < sum(values) / len(values) < 0.55


def test_buckets_are_in_range():
    assert {bucket("arm", "k", unit, 7) for unit in range(500)} == set(range(7))


def test_a_large_sample_lands_within_tolerance_of_the_weights():
    units = range(40_000)
    arms = Counter(assign(SPEC, unit).arm for unit in units)
    n = len(units)
    assert abs(arms[None] / n - 0.10) < 0.01
    placed = n - arms[None]
    # Weights 1:2:1; the standard error of each share is about 0.0026 here.
    assert abs(arms["control"] / placed - 0.25) < 0.01
    assert abs(arms["double"] / placed - 0.50) < 0.01
    assert abs(arms["points"] / placed - 0.25) < 0.01


def test_the_holdout_never_gets_an_arm():
    for unit in range(5000):
        result = assign(SPEC, unit)
        assert result.holdout == in_holdout(SPEC.key, unit, SPEC.holdout_percent)
        assert (result.arm is None) == result.holdout


def test_changing_the_holdout_share_moves_no_one_between_arms():
    bigger = SPEC.model_copy(update={"holdout_percent": Decimal(30)})
    for unit in range(3000):
        small, large = assign(SPEC, unit), assign(bigger, unit)
        if small.holdout:
            assert large.holdout
        if not large.holdout:
            assert large.arm == small.arm == arm_of(SPEC, unit)


def test_each_arm_loses_the_same_share_to_the_holdout():
    held = Counter(arm_of(SPEC, u) for u in range(40_000) if in_holdout(SPEC.key, u, Decimal(10)))
    every = Counter(arm_of(SPEC, u) for u in range(40_000))
    for arm in ("control", "double", "points"):
        assert abs(held[arm] / every[arm] - 0.10) < 0.012


def test_another_experiment_shuffles_units_differently():
    other = SPEC.model_copy(update={"key": "reward-size-2025"})
    same = sum(arm_of(SPEC, u) == arm_of(other, u) for u in range(4000))
    # Independent draws agree with probability 0.25^2 + 0.5^2 + 0.25^2 = 0.375.
    assert 0.33 < same / 4000 < 0.42


def test_no_holdout_and_a_holdout_share_in_hundredths():
    plain = ExperimentSpec(key="k", arms=[{"name": "a"}, {"name": "b"}])
    assert not any(assign(plain, u).holdout for u in range(2000))
    assert plain.control_arm == "a"
    share = sum(in_holdout("k", u, Decimal("2.5")) for u in range(40_000)) / 40_000
    assert abs(share - 0.025) < 0.004


@pytest.mark.parametrize(
    "fields",
    [
        {"key": "k", "arms": [{"name": "a"}]},
        {"key": "k", "arms": [{"name": "a"}, {"name": "a"}]},
        {"key": "k", "arms": [{"name": "a"}, {"name": "b"}], "control": "c"},
        {"key": "k", "arms": [{"name": "a"}, {"name": "b", "weight": 0}]},
        {"key": "k", "arms": [{"name": "a"}, {"name": "b"}], "holdout_percent": 100},
        {"key": "k", "arms": [{"name": "a"}, {"name": "b"}], "holdout_percent": "0.125"},
        {"key": "a:b", "arms": [{"name": "a"}, {"name": "b"}]},
        {"key": "k", "arms": [{"name": "a"}, {"name": "b"}], "extra": 1},
    ],
)
def test_inconsistent_experiments_are_refused(fields):
    with pytest.raises(ValidationError):
        ExperimentSpec(**fields)
