"""Ratios of counts and of money, defined for empty denominators.

Rates and ROI are `float`: each is one correctly rounded division of two exact integers,
never summed back into an amount and never stored as money, and charts, JSON and the
statistics all take floats. Amounts per unit (cost per customer, CLV per customer) stay
money: integer minor units, rounded half to even like `referral.money.percent_of`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction


def rate(part: int, whole: int) -> float | None:
    """`part / whole`, or None when `whole` is 0: "no one to convert" is not a 0 % rate."""
    if whole == 0:
        return None
    return part / whole


def round_half_even(value: Fraction | Decimal) -> int:
    """The nearest integer; exact halves go to the even neighbour, so rounding many amounts
    does not drift in one direction."""
    if isinstance(value, Fraction):
        whole, rest = divmod(value.numerator, value.denominator)
        doubled = 2 * rest
        if doubled > value.denominator or (doubled == value.denominator and whole % 2):
            whole += 1
        return whole
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def per_unit_minor(amount_minor: int, units: int) -> int | None:
    """An amount shared over units, in whole minor units (half to even); None for no units."""
    if units == 0:
        return None
    return round_half_even(Fraction(amount_minor, units))


def percent_text(value: float | None) -> str:
    """A rate for people: 0.256 -> "25.6%", and "-" where there is no rate."""
    return "-" if value is None else f"{value:.1%}"
