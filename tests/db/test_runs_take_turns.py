"""Runs whose order matters take turns, batch by batch, when two run at once: a purchase is
judged only after the batch holding its sign-up has committed the referral the sign-up
created, and a referral's tier counts the referrals a batch beside it rewarded."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from db.engine import transaction
from db.models import Conversion, Customer, Referral, RewardGrant
from referral.fraud.basic import BasicRuleSet
from tasks import conversions
from tasks.conversions import ReferralConflict, process_batch
from tasks.rewards import grant_batch
from tests.db.helpers import NOW, advocate_with_code, click, event, referred_purchase


def _sign_up_then_purchase(engine):
    """The shop's purchase webhook carries no visitor cookie: only the sign-up ties the
    customer to the advocate's link."""
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        click(session, code, visitor="v-1", at=NOW - timedelta(hours=2))
        event(
            session,
            id="su-NEW1",
            type="signup",
            occurred_at=NOW - timedelta(hours=1),
            visitor_id="v-1",
            customer={"external_id": "NEW1", "email": "new1@example.org"},
        )
        event(
            session,
            id="po-NEW1",
            type="purchase",
            occurred_at=NOW,
            order_id="O-NEW1",
            amount="40.00",
            currency="USD",
            customer={"external_id": "NEW1"},
        )


def _process_the_rest(engine):
    with transaction(engine) as session:
        return process_batch(session, 100, BasicRuleSet())


def test_a_purchase_waits_for_the_batch_holding_its_sign_up_and_qualifies_its_referral(engine):
    _sign_up_then_purchase(engine)
    with ThreadPoolExecutor(1) as pool:
        with transaction(engine) as first:
            process_batch(first, 1, BasicRuleSet())  # the sign-up: its referral not committed
            second = pool.submit(_process_the_rest, engine)  # the purchase
            time.sleep(1.0)
            assert not second.done()  # waiting for its turn
        summary = second.result(timeout=60)
    assert (summary.conversions, dict(summary.outcomes)) == (1, {"qualified": 1})
    with transaction(engine) as session:
        purchase = session.scalar(select(Conversion.id).where(Conversion.kind == "purchase"))
        referrals = session.execute(select(Referral.status, Referral.qualifying_conversion_id))
        assert referrals.all() == [("qualified", purchase)]


def test_a_referral_stored_behind_the_batchs_back_rolls_the_batch_back(engine, monkeypatch):
    _sign_up_then_purchase(engine)
    write = conversions._Batch.write

    def write_after_an_intruder(batch, outcomes):
        ids = dict(batch.session.execute(select(Customer.external_id, Customer.id)).tuples().all())
        program_id, _ = next(iter(batch.new))
        batch.session.execute(
            insert(Referral).values(
                program_id=program_id,
                program_version_id=batch.programs.current(program_id).version_id,
                referrer_id=ids["ADV"],
                referee_id=ids["NEW1"],
                attribution_model="last_click",
                attributed_by="link",
                status="pending",
                referred_at=NOW,
            )
        )
        write(batch, outcomes)

    monkeypatch.setattr(conversions._Batch, "write", write_after_an_intruder)
    conflict = pytest.raises(ReferralConflict, match="already has a referral of customer")
    with conflict, transaction(engine) as session:
        process_batch(session, 100, BasicRuleSet())
    monkeypatch.undo()
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Referral)) == 0
        unprocessed = select(func.count()).where(Conversion.processed_at.is_(None))
        assert session.scalar(unprocessed) == 2
    assert _process_the_rest(engine).referrals_created == 1


def test_a_grant_batch_beside_another_counts_its_referrals_for_the_tier(engine):
    tiers = [
        {"name": "bronze", "from_referral": 1, "referrer_reward": {"type": "cash", "amount": 5}},
        {"name": "silver", "from_referral": 2, "referrer_reward": {"type": "cash", "amount": 9}},
    ]
    with transaction(engine) as session:
        _, code = advocate_with_code(
            session, reward_structure="tiered", tiers=tiers, referee_reward=None
        )
        for n in (1, 2):
            referred_purchase(session, code, referee=f"NEW{n}")
        process_batch(session, 100, BasicRuleSet())
    with ThreadPoolExecutor(1) as pool:
        with transaction(engine) as first:
            grant_batch(first, 1)  # the first referral: bronze, not committed yet
            second = pool.submit(_grant_the_rest, engine)
            time.sleep(1.0)
            assert not second.done()  # waiting for its turn
        assert second.result(timeout=60)["grants"] == 1
    with transaction(engine) as session:
        amounts = session.scalars(
            select(RewardGrant.amount_minor).order_by(RewardGrant.referral_id)
        )
        assert amounts.all() == [500, 900]


def _grant_the_rest(engine):
    with transaction(engine) as session:
        return grant_batch(session, 100)
