"""Deterministic assignment of units (advocates, customers) to arms and holdouts.

A unit's draw is the first 8 bytes, big-endian, of SHA-256 over the UTF-8 bytes of
`"{purpose}:{key}:{unit_id}"`, where purpose is `arm` or `holdout` and key is the experiment
(or program) key: a 64-bit number, uniform, the same in every process, on every machine and
in every Python version (the built-in `hash()` is salted per process, so it is never used),
and reproducible in SQL. The draw becomes a bucket by integer arithmetic only,
`draw * buckets >> 64`, so no float rounding can move a unit across a boundary.

- Holdout: a unit is held out when its holdout bucket out of 10,000 is below the holdout
  share in basis points. Held-out units get no arm.
- Arm: the arm bucket out of the sum of the weights falls in one arm's share of the
  cumulative weights, in the order the arms are listed.

The two purposes draw independently: changing the holdout share moves units only in and out
of the holdout, never between arms, and every arm has the same share of held-out units.
Reordering the arms or changing their weights re-assigns units, so freeze an experiment's
arms once it runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_SPAN = 1 << 64
_BASIS_POINTS = 10_000


def draw(purpose: str, key: str, unit_id: int | str) -> int:
    """The unit's 64-bit uniform number for this purpose and key."""
    text = f"{purpose}:{key}:{unit_id}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def uniform(purpose: str, key: str, unit_id: int | str) -> float:
    """The draw as a number in [0, 1): its top 53 bits, exactly representable as a float.
    For display and diagnostics; assignment itself uses the integer draw."""
    return (draw(purpose, key, unit_id) >> 11) / (1 << 53)


def bucket(purpose: str, key: str, unit_id: int | str, buckets: int) -> int:
    """The unit's bucket in 0..buckets-1, each equally likely to within 2^-64."""
    return draw(purpose, key, unit_id) * buckets >> 64


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        # No colons: they separate the parts of the hashed text.
        raise ValueError("a key is lower-case letters, digits, '.', '_' and '-'")
    return key


def _basis_points(percent: Decimal) -> int:
    if not 0 <= percent < 100:
        raise ValueError("a holdout share is at least 0 and below 100 percent")
    scaled = percent.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise ValueError("a holdout share has at most two decimals")
    return int(scaled)


def in_holdout(key: str, unit_id: int | str, percent: Decimal) -> bool:
    """Whether the unit is in the `percent` % holdout of `key`. Use the program's key for a
    program-wide holdout, so that a held-out customer stays out of every experiment."""
    share = _basis_points(percent)
    return bucket("holdout", _check_key(key), unit_id, _BASIS_POINTS) < share


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ArmSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    weight: Annotated[int, Field(gt=0)] = 1


class ExperimentSpec(_Strict):
    """`{key: reward-size-2024, arms: [{name: control}, {name: double, weight: 1}],
    holdout_percent: 5}`: the control is the first arm unless named."""

    key: str
    arms: Annotated[tuple[ArmSpec, ...], Field(min_length=2)]
    control: str | None = None
    holdout_percent: Decimal = Decimal(0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_key(self.key)
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names must be unique")
        if self.control is not None and self.control not in names:
            raise ValueError(f"control {self.control!r} is not one of the arms")
        _basis_points(self.holdout_percent)
        return self

    @property
    def control_arm(self) -> str:
        return self.control or self.arms[0].name


@dataclass(frozen=True, slots=True)
class Assignment:
    experiment: str
    unit_id: int | str
    arm: str | None
    """None exactly when the unit is held out."""
    holdout: bool


def assign(spec: ExperimentSpec, unit_id: int | str) -> Assignment:
    if in_holdout(spec.key, unit_id, spec.holdout_percent):
        return Assignment(spec.key, unit_id, arm=None, holdout=True)
    return Assignment(spec.key, unit_id, arm=arm_of(spec, unit_id), holdout=False)


def arm_of(spec: ExperimentSpec, unit_id: int | str) -> str:
    """The unit's arm by weight, ignoring the holdout (use `assign` to honour it)."""
    point = bucket("arm", spec.key, unit_id, sum(arm.weight for arm in spec.arms))
    for arm in spec.arms:
        if point < arm.weight:
            return arm.name
        point -= arm.weight
    raise AssertionError("unreachable: the bucket is below the total weight")
