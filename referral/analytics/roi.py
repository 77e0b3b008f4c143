"""Revenue, reward cost, ROI and cost per acquired customer against paid acquisition.

Definitions (all amounts integer minor units of one report currency):

- revenue attributed: what referred customers paid on the purchases credited to a referral,
  net of refunds, as the database attributes it.
- reward cost: the value of rewards actually given, per reward type: issued grants less
  clawbacks. Points are not money; they are valued at `minor_per_point` minor units each,
  rounded half to even once per report (not per grant, so rounding cannot pile up).
- ROI: (revenue - cost) / cost, a float; None when the cost is 0.
- cost per acquisition (CPA): cost / acquired customers, rounded half to even.
- savings against paid acquisition: what the acquired customers would have cost at the paid
  channel's CAC, less what the program cost: `paid_cac * customers - cost` in total, and that
  total per customer. Negative when referrals cost more than paid acquisition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from referral.analytics.ratios import per_unit_minor, round_half_even
from referral.money import POINTS, check_currency
from referral.programs import RewardType


def roi(revenue_minor: int, cost_minor: int) -> float | None:
    """(revenue - cost) / cost: 0.5 means each unit spent came back with half a unit more.
    None when nothing was spent, where the ratio has no meaning."""
    if cost_minor == 0:
        return None
    return (revenue_minor - cost_minor) / cost_minor


@dataclass(frozen=True, slots=True)
class RewardCostRow:
    """The net value of some grants of one type: `sum(issued) - sum(clawed back)`.

    `currency` is the report currency, or `PTS` with `amount_minor` in points for points
    rewards. Several rows of one type simply add up."""

    reward_type: RewardType
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    currency: str
    by_type_minor: Mapping[RewardType, int]
    """Every reward type, 0 when none was given; points already valued in money."""
    points: int
    """Points given, before valuation."""
    total_minor: int


def reward_costs(
    rows: Iterable[RewardCostRow], *, currency: str, minor_per_point: Decimal | int
) -> CostBreakdown:
    """Reward cost by type in `currency`. A row in any other currency is refused: converting
    currencies is a business decision the caller makes before this point."""
    currency = check_currency(currency)
    if Decimal(minor_per_point) < 0:
        raise ValueError("minor_per_point cannot be negative")
    money = dict.fromkeys(RewardType, 0)
    points = 0
    for row in rows:
        if row.reward_type is RewardType.POINTS:
            if row.currency != POINTS:
                raise ValueError(f"points rewards are counted in {POINTS}, not {row.currency}")
            points += row.amount_minor
        elif row.currency != currency:
            raise ValueError(f"a {row.currency} reward in a {currency} report; convert it first")
        else:
            money[row.reward_type] += row.amount_minor
    money[RewardType.POINTS] = round_half_even(points * Decimal(minor_per_point))
    return CostBreakdown(
        currency=currency,
        by_type_minor=money,
        points=points,
        total_minor=sum(money.values()),
    )


@dataclass(frozen=True, slots=True)
class Economics:
    currency: str
    revenue_minor: int
    cost_minor: int
    acquired_customers: int
    roi: float | None
    cost_per_acquisition_minor: int | None
    """None without acquired customers."""
    paid_cac_minor: int | None
    savings_total_minor: int | None
    """None without a configured paid-channel CAC."""
    savings_per_customer_minor: int | None
    """None without a paid CAC or without acquired customers."""


def economics(
    *,
    currency: str,
    revenue_minor: int,
    cost_minor: int,
    acquired_customers: int,
    paid_cac_minor: int | None = None,
) -> Economics:
    """ROI, CPA and savings against paid acquisition. `acquired_customers` counts referred
    customers who made a qualifying purchase (each once)."""
    if acquired_customers < 0:
        raise ValueError("acquired_customers cannot be negative")
    if paid_cac_minor is not None and paid_cac_minor < 0:
        raise ValueError("paid_cac_minor cannot be negative")
    savings = None if paid_cac_minor is None else paid_cac_minor * acquired_customers - cost_minor
    return Economics(
        currency=check_currency(currency),
        revenue_minor=revenue_minor,
        cost_minor=cost_minor,
        acquired_customers=acquired_customers,
        roi=roi(revenue_minor, cost_minor),
        cost_per_acquisition_minor=per_unit_minor(cost_minor, acquired_customers),
        paid_cac_minor=paid_cac_minor,
        savings_total_minor=savings,
        savings_per_customer_minor=(
            None if savings is None else per_unit_minor(savings, acquired_customers)
        ),
    )
