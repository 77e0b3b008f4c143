"""Rates, reward cost by type, ROI, cost per acquisition and savings against paid CAC."""

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.analytics.ratios import per_unit_minor, rate, round_half_even
from referral.analytics.roi import RewardCostRow, economics, reward_costs, roi
from referral.programs import RewardType


def test_a_rate_over_nobody_is_none_not_zero():
    assert rate(0, 0) is None
    assert rate(0, 5) == 0.0
    assert rate(3, 4) == 0.75


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_rounding_of_fractions_is_half_to_even_like_decimal(numerator, denominator):
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN
    )
    assert round_half_even(Fraction(numerator, denominator)) == int(expected)


def test_amounts_per_unit_round_half_to_even_and_need_units():
    assert per_unit_minor(2500, 3) == 833
    assert per_unit_minor(5, 2) == 2
    assert per_unit_minor(7, 2) == 4
    assert per_unit_minor(100, 0) is None


def test_roi_is_net_return_per_unit_spent_and_undefined_without_cost():
    assert roi(15_000, 10_000) == 0.5
    assert roi(5_000, 10_000) == -0.5
    assert roi(5_000, 0) is None


def test_reward_cost_is_summed_per_type_with_points_valued_once():
    rows = [
        RewardCostRow(RewardType.CREDIT, "USD", 1000),
        RewardCostRow(RewardType.CREDIT, "USD", -250),  # a clawback
        RewardCostRow(RewardType.DISCOUNT, "USD", 700),
        RewardCostRow(RewardType.CASH, "USD", 2000),
        RewardCostRow(RewardType.PRODUCT, "USD", 1500),
        RewardCostRow(RewardType.POINTS, "PTS", 333),
        RewardCostRow(RewardType.POINTS, "PTS", 334),
    ]
    cost = reward_costs(rows, currency="usd", minor_per_point=Decimal("0.5"))
    assert cost.currency == "USD"
    assert cost.points == 667
    # 667 * 0.5 = 333.5 -> 334 (half to even); per row it would be 166.5 + 167 = 167 + 167.
    assert cost.by_type_minor == {
        RewardType.CREDIT: 750,
        RewardType.DISCOUNT: 700,
        RewardType.CASH: 2000,
        RewardType.PRODUCT: 1500,
        RewardType.POINTS: 334,
    }
    assert cost.total_minor == 750 + 700 + 2000 + 1500 + 334


def test_every_reward_type_is_listed_even_when_none_was_given():
    cost = reward_costs([], currency="EUR", minor_per_point=1)
    assert cost.by_type_minor == dict.fromkeys(RewardType, 0)
    assert cost.total_minor == 0


def test_a_reward_in_another_currency_is_refused():
    with pytest.raises(ValueError, match="convert"):
        reward_costs([RewardCostRow(RewardType.CASH, "EUR", 1)], currency="USD", minor_per_point=1)
    with pytest.raises(ValueError, match="PTS"):
        reward_costs(
            [RewardCostRow(RewardType.POINTS, "USD", 1)], currency="USD", minor_per_point=1
        )
    with pytest.raises(ValueError):
        reward_costs([], currency="USD", minor_per_point=Decimal("-1"))


def test_economics_against_a_paid_channel():
    result = economics(
        currency="USD",
        revenue_minor=100_00,
        cost_minor=25_00,
        acquired_customers=3,
        paid_cac_minor=20_00,
    )
    assert result.roi == 3.0
    assert result.cost_per_acquisition_minor == 833  # 2500 / 3 = 833.33
    assert result.savings_total_minor == 3 * 20_00 - 25_00
    assert result.savings_per_customer_minor == 1167  # 3500 / 3 = 1166.67


def test_referrals_dearer_than_paid_acquisition_show_negative_savings():
    result = economics(
        currency="USD",
        revenue_minor=0,
        cost_minor=90_00,
        acquired_customers=2,
        paid_cac_minor=30_00,
    )
    assert result.savings_total_minor == -30_00
    assert result.savings_per_customer_minor == -15_00
    assert result.roi == -1.0


def test_economics_without_customers_cost_or_paid_cac():
    result = economics(currency="USD", revenue_minor=0, cost_minor=0, acquired_customers=0)
    assert result.roi is None
    assert result.cost_per_acquisition_minor is None
    assert result.savings_total_minor is None and result.savings_per_customer_minor is None
    spent = economics(
        currency="USD", revenue_minor=0, cost_minor=500, acquired_customers=0, paid_cac_minor=100
    )
    assert spent.savings_total_minor == -500
    assert spent.savings_per_customer_minor is None
