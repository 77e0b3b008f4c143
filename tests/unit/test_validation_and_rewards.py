"""Purchase validation and the rewards and ledger postings it leads to."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from referral.fraud import Decision, Severity, Signal, decide
from referral.money import format_money, percent_of, to_minor
from referral.programs import parse_program
from referral.rewards import clawback_postings, issue_postings, plan_referral_grants
from referral.validation import Outcome, PurchaseFacts, validate_purchase

AT = datetime(2026, 11, 1, tzinfo=UTC)
PROGRAM = parse_program(
    {
        "slug": "friends",
        "name": "Friends",
        "minimum_purchase": "25.00",
        "validity_period_days": 30,
        "max_referrals": 2,
        "hold_days": 14,
        "referrer_reward": {"type": "credit", "amount": "10.00"},
        "referee_reward": {"type": "discount", "amount": 15, "unit": "percent"},
    }
)


def facts(**changes) -> PurchaseFacts:
    base = dict(
        amount_minor=4000,
        currency="USD",
        occurred_at=AT,
        referred_at=AT - timedelta(days=1),
        referee_ordered_before_referral=False,
        referrer_successful_referrals=0,
    )
    return PurchaseFacts(**{**base, **changes})


def test_a_new_customers_purchase_over_the_minimum_qualifies():
    assert validate_purchase(PROGRAM, facts()) is Outcome.QUALIFIED


def test_the_minimum_is_inclusive():
    assert validate_purchase(PROGRAM, facts(amount_minor=2500)) is Outcome.QUALIFIED
    assert validate_purchase(PROGRAM, facts(amount_minor=2499)) is Outcome.BELOW_MINIMUM


def test_the_validity_period_ends_the_referral():
    late = facts(referred_at=AT - timedelta(days=30, seconds=1))
    assert validate_purchase(PROGRAM, late) is Outcome.EXPIRED
    assert Outcome.EXPIRED.ends_referral and not Outcome.BELOW_MINIMUM.ends_referral


def test_existing_customers_and_capped_advocates_do_not_qualify():
    assert validate_purchase(PROGRAM, facts(referee_ordered_before_referral=True)) is (
        Outcome.NOT_NEW_CUSTOMER
    )
    assert validate_purchase(PROGRAM, facts(referrer_successful_referrals=2)) is (
        Outcome.MAX_REFERRALS
    )


def test_another_currency_does_not_qualify():
    assert validate_purchase(PROGRAM, facts(currency="EUR")) is Outcome.WRONG_CURRENCY


def test_a_dual_program_plans_one_grant_per_side_keyed_by_business_identity():
    plans = plan_referral_grants(
        PROGRAM,
        program_id=1,
        referral_id=42,
        referrer_id=7,
        referee_id=8,
        nth_referral=1,
        purchase_minor=4000,
        purchased_at=AT,
    )
    assert [(p.idempotency_key, p.beneficiary_id, p.amount_minor) for p in plans] == [
        ("referral:42:referrer", 7, 1000),
        ("referral:42:referee", 8, 600),
    ]
    assert all(p.hold_until == AT + timedelta(days=14) for p in plans)


@given(st.integers(1, 10**9), st.sampled_from(["credit", "points", "cash", "discount"]))
def test_issue_and_clawback_postings_each_sum_to_zero_and_cancel_out(amount, kind):
    issued = issue_postings(
        grant_id=1,
        program_id=2,
        beneficiary_id=3,
        reward_type=kind,
        amount_minor=amount,
        currency="USD",
    )
    reversed_ = clawback_postings(issued)
    assert sum(p.amount_minor for p in issued) == 0
    assert sum(p.amount_minor for p in reversed_) == 0
    by_account: dict[str, int] = {}
    for p in issued + reversed_:
        by_account[p.account] = by_account.get(p.account, 0) + p.amount_minor
    assert set(by_account.values()) == {0}


def test_money_is_integer_minor_units():
    assert to_minor("12.50", "USD") == 1250
    assert to_minor("500", "JPY") == 500
    assert percent_of(999, 1500) == 150  # 149.85 rounds half-even to 150
    assert format_money(123456, "USD") == "1,234.56 USD"


def test_hard_signals_reject_and_soft_ones_add_up():
    soft = Signal("disposable_domain", Severity.SOFT, 50, "DISPOSABLE_EMAIL_DOMAIN")
    hard = Signal("same_customer", Severity.HARD, 100, "SELF_REFERRAL_SAME_CUSTOMER")
    assert decide([]) is Decision.APPROVE
    assert decide([soft]) is Decision.REVIEW
    assert decide([soft, soft]) is Decision.REJECT
    assert decide([hard]) is Decision.REJECT
