"""Two process_conversions runs at once: a referral one of them stores first is the one both
use, never a second one and never a lost qualification."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from db.engine import transaction
from db.models import Conversion, FraudSignal, Referral
from referral.fraud.basic import BasicRuleSet
from tasks.conversions import process_batch
from tests.db.helpers import NOW, advocate_with_code, click, event


def _sign_up_then_purchase(engine):
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        click(session, code, visitor="v-1", at=NOW - timedelta(hours=2))
        customer = {"external_id": "NEW1", "email": "new1@example.org"}
        event(
            session,
            id="su-NEW1",
            type="signup",
            occurred_at=NOW - timedelta(hours=1),
            visitor_id="v-1",
            customer=customer,
        )
        event(
            session,
            id="po-NEW1",
            type="purchase",
            occurred_at=NOW,
            visitor_id="v-1",
            order_id="O-NEW1",
            amount="40.00",
            currency="USD",
            customer=customer,
        )


def _process_all(engine):
    with transaction(engine) as session:
        return process_batch(session, 100, BasicRuleSet())


def test_a_referral_stored_first_by_another_run_is_the_one_the_batch_qualifies(engine):
    _sign_up_then_purchase(engine)
    with ThreadPoolExecutor(1) as pool:
        with transaction(engine) as first:
            process_batch(first, 1, BasicRuleSet())  # the sign-up: its referral not committed
            second = pool.submit(_process_all, engine)  # the purchase, attributed by its click
            time.sleep(1.0)
            # PostgreSQL: waiting on the uncommitted referral's key; SQLite: on the writer lock.
            assert not second.done()
        summary = second.result(timeout=60)
    assert summary.conversions == 1
    assert summary.referrals_created == 0
    assert dict(summary.outcomes) == {"qualified": 1}
    with transaction(engine) as session:
        purchase = session.scalar(select(Conversion.id).where(Conversion.kind == "purchase"))
        referrals = session.execute(
            select(Referral.status, Referral.qualifying_conversion_id)
        ).all()
        assert referrals == [("qualified", purchase)]
        assert session.scalars(select(FraudSignal.id)).all() == []
