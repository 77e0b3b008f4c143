"""Coupon leakage: a code redeemed by crowds of strangers, or arriving from a coupon site."""

import pytest

from referral.fraud import Severity
from referral.fraud.coupons import coupon_leakage, coupon_site, referrer_site
from tests.unit.fraud.builders import DEFAULT, policy, referral


def test_redemptions_up_to_the_limit_are_fine():
    assert coupon_leakage(referral(promo_code_redemptions=4), DEFAULT) is None


def test_more_redemptions_than_the_limit_is_a_leak():
    signal = coupon_leakage(referral(promo_code_redemptions=5), DEFAULT)
    assert signal is not None
    assert signal.severity is Severity.SOFT
    assert signal.evidence == {"redemptions": 5, "limit": 4, "window_hours": 48}


@pytest.mark.parametrize(
    "referrer",
    [
        "https://www.retailmenot.com/view/shop.example.com",
        "uk.retailmenot.com",
        "HTTPS://SLICKDEALS.NET/f/123?x=1",
        "www.joinhoney.com",
    ],
)
def test_arriving_from_a_listed_coupon_site_is_flagged(referrer):
    signal = coupon_site(referral(landing_referrer_host=referrer), DEFAULT)
    assert signal is not None
    assert signal.reason_code == "COUPON_SITE_REFERRER"


@pytest.mark.parametrize(
    "referrer",
    ["https://www.google.com/", "notretailmenot.com", "retailmenot.com.evil.example", "", None],
)
def test_other_referrers_are_not(referrer):
    assert coupon_site(referral(landing_referrer_host=referrer), DEFAULT) is None


def test_the_site_list_is_the_programs():
    mine = policy(coupons={"sites": ["deals.example"]})
    assert coupon_site(referral(landing_referrer_host="deals.example"), mine) is not None
    assert coupon_site(referral(landing_referrer_host="retailmenot.com"), mine) is None


def test_sql_looking_referrer_is_just_an_unknown_site():
    assert coupon_site(referral(landing_referrer_host="' OR 1=1 --"), DEFAULT) is None


def test_referrer_site_is_the_registrable_domain():
    assert referrer_site("https://www.dealspotr.com/promo-codes/shop") == "dealspotr.com"
    assert referrer_site("") == ""
