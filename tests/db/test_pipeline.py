"""A referral from click to paid reward, and what must hold when things are repeated or
refunded: nothing twice, nothing lost, the ledger balanced."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from db.models import Conversion, LedgerEntry, OutboxMessage, Referral, RewardGrant
from db.programs import Programs
from db.types import utcnow
from referral.fraud.basic import BasicRuleSet
from tasks.conversions import process_batch
from tasks.rewards import grant_batch
from tests.db.helpers import NOW, advocate_with_code, event, referred_purchase, run_pipeline


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_referred_purchase_pays_both_sides_once(session):
    _, code = advocate_with_code(session)
    referred_purchase(session, code)
    run_pipeline(session)
    grants = session.execute(
        select(
            RewardGrant.role, RewardGrant.reward_type, RewardGrant.amount_minor, RewardGrant.status
        ).order_by(RewardGrant.role)
    ).all()
    assert grants == [
        ("referee", "discount", 600, "issued"),
        ("referrer", "credit", 1000, "issued"),
    ]
    assert session.scalar(select(Referral.status)) == "rewarded"
    assert _count(session, OutboxMessage, OutboxMessage.kind == "notification") == 2
    assert session.scalar(select(RewardGrant.coupon_code).where(RewardGrant.role == "referee"))


def test_running_everything_again_changes_nothing(session):
    _, code = advocate_with_code(session)
    referred_purchase(session, code)
    run_pipeline(session)
    before = [_count(session, m) for m in (Referral, RewardGrant, LedgerEntry, OutboxMessage)]
    referred_purchase(session, code)  # the same events delivered again
    run_pipeline(session)
    after = [_count(session, m) for m in (Referral, RewardGrant, LedgerEntry, OutboxMessage)]
    assert before == after


def test_every_ledger_transaction_sums_to_zero(session):
    _, code = advocate_with_code(session)
    referred_purchase(session, code)
    run_pipeline(session)
    sums = session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_minor)).group_by(
            LedgerEntry.transaction_id
        )
    ).all()
    assert sums and all(total == 0 for _, total in sums)


def test_a_purchase_below_the_minimum_does_not_qualify(session):
    _, code = advocate_with_code(session)
    referred_purchase(session, code, amount="24.99")
    run_pipeline(session)
    assert session.scalar(select(Referral.status)) == "pending"
    assert _count(session, RewardGrant) == 0


def test_an_alias_of_the_advocates_own_gmail_is_rejected(session):
    _, code = advocate_with_code(session)
    referred_purchase(session, code, email="adalovelace+promo@googlemail.com")
    run_pipeline(session)
    referral = session.execute(select(Referral.status, Referral.status_reason)).one()
    assert referral == ("rejected", "SELF_REFERRAL_EMAIL")
    assert _count(session, RewardGrant) == 0


def test_a_refund_after_payout_claws_back_exactly_what_was_issued(session):
    _, code = advocate_with_code(session)
    referred_purchase(session, code)
    run_pipeline(session)
    event(
        session,
        id="rf-1",
        type="refund",
        occurred_at=NOW + timedelta(days=1),
        order_id="O-NEW1",
        amount="40.00",
        currency="USD",
        customer={"external_id": "NEW1"},
    )
    run_pipeline(session)
    assert session.scalar(select(Referral.status)) == "voided"
    assert set(session.scalars(select(RewardGrant.status))) == {"clawed_back"}
    balances = session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount_minor)).group_by(
            LedgerEntry.account
        )
    ).all()
    assert all(total == 0 for _, total in balances)
    assert _count(session, LedgerEntry, LedgerEntry.kind == "clawback") == 4


def test_manual_approval_holds_grants_until_someone_approves(session):
    _, code = advocate_with_code(session, approval="manual")
    referred_purchase(session, code)
    run_pipeline(session)
    assert set(session.scalars(select(RewardGrant.status))) == {"pending"}
    assert _count(session, LedgerEntry) == 0


def test_a_referral_keeps_the_rules_it_was_made_under(session):
    loaded, code = advocate_with_code(session)
    referred_purchase(session, code)
    process_batch(session, 1000, BasicRuleSet())
    richer = loaded.config.referrer_reward.model_copy(update={"amount": Decimal("50")})
    Programs(session).apply(loaded.config.model_copy(update={"referrer_reward": richer}))
    grant_batch(session, 1000)
    amount = session.scalar(select(RewardGrant.amount_minor).where(RewardGrant.role == "referrer"))
    assert amount == 1000


def test_grants_needing_neither_a_person_nor_a_hold_are_paid_by_the_grant_batch(session):
    _, code = advocate_with_code(session)  # hold_days 0, automatic approval
    referred_purchase(session, code)
    process_batch(session, 1000, BasicRuleSet())
    batch = grant_batch(session, 1000)
    assert (batch["grants"], batch["issued"]) == (2, 2)
    assert batch["by_type"] == {"credit": 1000, "discount": 600}
    assert set(session.scalars(select(RewardGrant.status))) == {"issued"}
    assert session.scalar(select(Referral.status)) == "rewarded"
    assert _count(session, LedgerEntry) == 4
    assert _count(session, OutboxMessage, OutboxMessage.kind == "notification") == 2
    coupon = session.scalar(select(RewardGrant.coupon_code).where(RewardGrant.role == "referee"))
    notices = session.scalars(select(OutboxMessage.payload)).all()
    assert {n["role"]: n["coupon_code"] for n in notices} == {"referee": coupon, "referrer": None}
    assert coupon.startswith("RW-")
    times = session.execute(select(RewardGrant.approved_at, RewardGrant.issued_at)).all()
    assert all(approved is not None and approved == issued for approved, issued in times)


def test_grants_under_a_hold_wait_for_the_issue_batch(session):
    _, code = advocate_with_code(session, hold_days=14)
    referred_purchase(session, code)
    process_batch(session, 1000, BasicRuleSet())
    # The purchase made just now, by the database clock: its refund window is still open.
    session.execute(
        update(Conversion).where(Conversion.kind == "purchase").values(occurred_at=utcnow())
    )
    batch = grant_batch(session, 1000)
    assert (batch["grants"], batch["issued"]) == (2, 0)
    assert set(session.scalars(select(RewardGrant.status))) == {"pending"}
    assert session.scalar(select(Referral.status)) == "approved"
    assert _count(session, LedgerEntry) == 0
    assert _count(session, OutboxMessage) == 0
