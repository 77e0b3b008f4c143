"""How many units an A/B test of two conversion rates needs.

`POOLED` (the default) is the standard normal-approximation formula for a two-sided test of
two independent proportions (Fleiss, Levin and Paik, "Statistical Methods for Rates and
Proportions", without continuity correction), for a control arm of n and a treatment arm of
ratio * n:

    n = (z(1 - alpha/2) * sqrt(p_bar * (1 - p_bar) * (1 + 1/ratio))
         + z(power) * sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio))^2 / (p2 - p1)^2

with p1 the baseline, p2 the rate to detect and p_bar = (p1 + ratio * p2) / (1 + ratio),
the pooled rate under the null hypothesis that the z-test in `proportions` uses.

`ARCSINE` uses Cohen's effect size h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)), as statsmodels'
`NormalIndPower` does: n = ((z(1 - alpha/2) + z(power)) / h)^2 * (1 + 1/ratio). It gives
slightly smaller numbers and is here so results can be compared with tools that use it.

Both round each arm up to a whole unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from referral.experiments.distributions import normal_quantile


class SizeMethod(StrEnum):
    POOLED = "pooled"
    ARCSINE = "arcsine"


@dataclass(frozen=True, slots=True)
class SampleSize:
    baseline: float
    target: float
    """The rate the test is sized to tell apart from the baseline."""
    control: int
    treatment: int
    """Units per arm; a test of k treatment arms against one control needs `treatment` for
    each of them."""

    @property
    def total(self) -> int:
        return self.control + self.treatment


def sample_size(
    *,
    baseline: float,
    minimum_detectable_effect: float,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    method: SizeMethod = SizeMethod.POOLED,
) -> SampleSize:
    """Units per arm for a two-sided test at level `alpha` to detect, with probability
    `power`, a change of `minimum_detectable_effect` from the `baseline` rate: absolute
    (0.02 means 10 % -> 12 %) or, with `relative=True`, relative (0.2 means 10 % -> 12 %).
    `ratio` is treatment units per control unit (0.25 for an 80/20 split in favour of the
    control)."""
    if not 0.0 < baseline < 1.0:
        raise ValueError("baseline must be a rate strictly between 0 and 1")
    target = (
        baseline * (1.0 + minimum_detectable_effect)
        if relative
        else (baseline + minimum_detectable_effect)
    )
    if not 0.0 < target < 1.0:
        raise ValueError("baseline plus the effect must stay strictly between 0 and 1")
    if minimum_detectable_effect == 0.0:
        raise ValueError("a test cannot detect an effect of 0")
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError("alpha and power must be between 0 and 1")
    if ratio <= 0.0:
        raise ValueError("ratio must be positive")
    z_alpha = normal_quantile(1.0 - alpha / 2.0)
    z_power = normal_quantile(power)
    p1, p2 = baseline, target
    if method is SizeMethod.POOLED:
        p_bar = (p1 + ratio * p2) / (1.0 + ratio)
        root = z_alpha * math.sqrt(p_bar * (1.0 - p_bar) * (1.0 + 1.0 / ratio)) + z_power * (
            math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2) / ratio)
        )
        control = root * root / (p2 - p1) ** 2
    else:
        h = 2.0 * math.asin(math.sqrt(p2)) - 2.0 * math.asin(math.sqrt(p1))
        control = ((z_alpha + z_power) / h) ** 2 * (1.0 + 1.0 / ratio)
    return SampleSize(
        baseline=p1,
        target=p2,
        control=_ceil(control),
        treatment=_ceil(control * ratio),
    )


def _ceil(units: float) -> int:
    # 3841.0000000002 from rounding noise is 3841 units, not 3842.
    return math.ceil(round(units, 6))
