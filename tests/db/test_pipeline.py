"""A referral from click to paid reward, and what must hold when things are repeated or
refunded: nothing twice, nothing lost, the ledger balanced."""

from datetime import timedelta

from sqlalchemy import func, select, update

from db.advocates import issue_code
from db.models import Customer, LedgerEntry, OutboxMessage, Referral, RewardGrant
from db.programs import Programs
from db.rewards import release_holds
from referral.fraud.basic import BasicRuleSet
from tasks.conversions import process_batch
from tasks.rewards import grant_batch, issue_batch
from tests.db.helpers import NOW, add_customers, click, customer, event

PROGRAM = {
    "slug": "friends",
    "name": "Friends",
    "minimum_purchase": "25.00",
    "hold_days": 0,
    "referrer_reward": {"type": "credit", "amount": "10.00"},
    "referee_reward": {"type": "discount", "amount": 15, "unit": "percent"},
}


def _advocate(session, **program):
    add_customers(session, customer("ADV", "Ada.Lovelace@gmail.com", consent_email=True))
    loaded = Programs(session).create(**{**PROGRAM, **program})
    advocate_id = session.scalar(select(Customer.id).where(Customer.external_id == "ADV"))
    code = issue_code(session, loaded.id, advocate_id, length=8).code
    return loaded, code


def _referred_purchase(
    session, code, amount="40.00", *, referee="NEW1", email=None, consent_email=True
):
    click(session, code, visitor="v-1", at=NOW - timedelta(hours=2))
    event(
        session,
        id=f"su-{referee}",
        type="signup",
        occurred_at=NOW - timedelta(hours=1),
        visitor_id="v-1",
        customer={"external_id": referee, "email": email or f"{referee.lower()}@example.org"},
    )
    event(
        session,
        id=f"po-{referee}",
        type="purchase",
        occurred_at=NOW,
        order_id=f"O-{referee}",
        amount=amount,
        currency="USD",
        customer={"external_id": referee},
    )
    # Whether the friend agreed to email decides whether their reward notice can go out.
    session.execute(
        update(Customer).where(Customer.external_id == referee).values(consent_email=consent_email)
    )


def _run_all(session):
    process_batch(session, 1000, BasicRuleSet())
    grant_batch(session, 1000)
    release_holds(session)
    issue_batch(session, 1000)


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_referred_purchase_pays_both_sides_once(session):
    _, code = _advocate(session)
    _referred_purchase(session, code)
    _run_all(session)
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
    _, code = _advocate(session)
    _referred_purchase(session, code)
    _run_all(session)
    before = [_count(session, m) for m in (Referral, RewardGrant, LedgerEntry, OutboxMessage)]
    _referred_purchase(session, code)  # the same events delivered again
    _run_all(session)
    after = [_count(session, m) for m in (Referral, RewardGrant, LedgerEntry, OutboxMessage)]
    assert before == after


def test_every_ledger_transaction_sums_to_zero(session):
    _, code = _advocate(session)
    _referred_purchase(session, code)
    _run_all(session)
    sums = session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_minor)).group_by(
            LedgerEntry.transaction_id
        )
    ).all()
    assert sums and all(total == 0 for _, total in sums)


def test_a_purchase_below_the_minimum_does_not_qualify(session):
    _, code = _advocate(session)
    _referred_purchase(session, code, amount="24.99")
    _run_all(session)
    assert session.scalar(select(Referral.status)) == "pending"
    assert _count(session, RewardGrant) == 0


def test_an_alias_of_the_advocates_own_gmail_is_rejected(session):
    _, code = _advocate(session)
    _referred_purchase(session, code, email="adalovelace+promo@googlemail.com")
    _run_all(session)
    referral = session.execute(select(Referral.status, Referral.status_reason)).one()
    assert referral == ("rejected", "SELF_REFERRAL_EMAIL")
    assert _count(session, RewardGrant) == 0


def test_a_refund_after_payout_claws_back_exactly_what_was_issued(session):
    _, code = _advocate(session)
    _referred_purchase(session, code)
    _run_all(session)
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
    _run_all(session)
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
    _, code = _advocate(session, approval="manual")
    _referred_purchase(session, code)
    _run_all(session)
    assert set(session.scalars(select(RewardGrant.status))) == {"pending"}
    assert _count(session, LedgerEntry) == 0


def test_a_referral_keeps_the_rules_it_was_made_under(session):
    loaded, code = _advocate(session)
    _referred_purchase(session, code)
    process_batch(session, 1000, BasicRuleSet())
    Programs(session).apply(
        loaded.config.model_copy(
            update={
                "referrer_reward": loaded.config.referrer_reward.model_copy(update={"amount": 50})
            }
        )
    )
    grant_batch(session, 1000)
    amount = session.scalar(select(RewardGrant.amount_minor).where(RewardGrant.role == "referrer"))
    assert amount == 1000
