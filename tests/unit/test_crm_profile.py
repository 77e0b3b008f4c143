"""What the CRM is told about a contact, and when it counts as changed."""

from decimal import Decimal

from referral.crm_profile import (
    PROPERTIES,
    ReferralProfile,
    fingerprint,
    main_balance,
    properties,
    unknown_properties,
)

SAME_NAMES = {p: p for p in PROPERTIES}
ADVOCATE = ReferralProfile(
    customer_id=1,
    contact_id="ADV",
    referral_code="ADA-2026",
    successful_referrals=3,
    reward_balance_minor=2550,
    reward_currency="USD",
    reward_points=40,
)


def test_money_goes_to_the_crm_in_major_units():
    assert properties(ADVOCATE, SAME_NAMES)["reward_balance"] == Decimal("25.50")


def test_a_currency_without_cents_keeps_its_whole_units():
    yen = ReferralProfile(1, "C", reward_balance_minor=1200, reward_currency="JPY")
    assert properties(yen, SAME_NAMES)["reward_balance"] == Decimal(1200)


def test_properties_take_the_providers_names_and_unnamed_ones_are_left_out():
    names = {"referral_code": "Referral_Code__c", "referral_status": ""}
    assert properties(ADVOCATE, names) == {"Referral_Code__c": "ADA-2026"}


def test_a_contact_with_no_referral_clears_the_properties_rather_than_skipping_them():
    pushed = properties(ReferralProfile(2, "NEW"), SAME_NAMES)
    assert pushed["referral_status"] is None and pushed["referred_by"] is None
    assert pushed["reward_balance"] == Decimal(0)


def test_the_fingerprint_changes_with_any_value_and_not_with_key_order():
    values = properties(ADVOCATE, SAME_NAMES)
    assert fingerprint(values) == fingerprint(dict(reversed(values.items())))
    assert fingerprint(values) != fingerprint({**values, "successful_referrals": 4})


def test_the_balance_shown_is_in_the_customers_own_currency_when_they_hold_some():
    assert main_balance({"EUR": 500, "USD": 100}, "USD") == (100, "USD")


def test_otherwise_the_largest_holding_and_ties_go_to_the_first_code():
    assert main_balance({"EUR": 500, "USD": 100}, "GBP") == (500, "EUR")
    assert main_balance({"USD": 100, "EUR": 100}, None) == (100, "EUR")
    assert main_balance({}, "USD") == (0, None)


def test_misspelt_property_names_are_reported():
    assert unknown_properties({"reward_balanse": "x", "referral_code": "y"}) == ["reward_balanse"]
