"""Money as integer minor units; Decimal only where people type amounts."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 exponents that differ from the usual 2; everything else has cents.
_EXPONENTS = {
    "BHD": 3,
    "CLP": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "TND": 3,
    "UGX": 0,
    "VND": 0,
    "XAF": 0,
    "XOF": 0,
}
POINTS = "PTS"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MoneyError(ValueError):
    pass


def check_currency(code: str) -> str:
    code = code.strip().upper()
    if not _CURRENCY.match(code):
        raise MoneyError("currency must be a three-letter ISO 4217 code such as USD")
    return code


def exponent(currency: str) -> int:
    return 0 if currency == POINTS else _EXPONENTS.get(currency, 2)


def to_minor(amount: Decimal | int | str, currency: str) -> int:
    """`"12.50", "USD"` -> 1250; refuses amounts finer than the currency's minor unit."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise MoneyError(f"{amount!r} is not a number") from None
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not a number")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{amount} has more decimals than {currency} allows ({exponent(currency)})"
        )
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_money(amount_minor: int, currency: str) -> str:
    if currency == POINTS:
        return f"{amount_minor:,} pts"
    return f"{from_minor(amount_minor, currency):,.{exponent(currency)}f} {currency}"


def percent_of(amount_minor: int, basis_points: int) -> int:
    """Share of an amount in basis points (1250 = 12.5 %), rounded half to even."""
    exact = Decimal(amount_minor) * basis_points / 10_000
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
