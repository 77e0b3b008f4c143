"""The three distributions the tests need, as plain floats.

`scipy.special` rather than `scipy.stats`: the same numerical routines (Cephes/Boost) that
`scipy.stats` calls, at a third of the import time, which the web app and the CLI feel at
start-up. The tests check results against `scipy.stats` itself.
"""

from __future__ import annotations

from scipy import special


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z; computed from the lower tail, so tiny p-values
    keep their precision instead of becoming 1 - 0.999..."""
    return 2.0 * float(special.ndtr(-abs(z)))


def normal_quantile(p: float) -> float:
    """The z with P(Z <= z) = p."""
    return float(special.ndtri(p))


def t_two_sided_p(t: float, df: float) -> float:
    return 2.0 * float(special.stdtr(df, -abs(t)))


def t_quantile(p: float, df: float) -> float:
    return float(special.stdtrit(df, p))


def chi_square_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for chi-square X with `dof` degrees of freedom."""
    return float(special.chdtrc(dof, statistic))


def check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1, e.g. 0.95")
    return confidence
