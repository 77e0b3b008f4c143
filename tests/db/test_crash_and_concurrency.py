"""distribute_rewards killed mid-batch, or run twice at once, still pays every grant once."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from db.advocates import issue_code
from db.engine import transaction
from db.ingest import Click, record_clicks, record_events
from db.models import Customer, LedgerEntry, OutboxMessage, Referral, RewardGrant
from db.programs import Programs
from referral.events import Event
from referral.fraud.basic import BasicRuleSet
from tasks.conversions import process_batch
from tests.db.helpers import NOW, PEPPER, add_customers, customer

ROOT = Path(__file__).resolve().parents[2]
REFERRALS = 1500


def _qualified_referrals(engine, n=REFERRALS):
    with transaction(engine) as session:
        add_customers(session, customer("ADV"))
        program = Programs(session).create(
            slug="friends",
            name="Friends",
            hold_days=0,
            referrer_reward={"type": "credit", "amount": "10.00"},
            referee_reward={"type": "discount", "amount": 15, "unit": "percent"},
        )
        advocate = session.scalar(select(Customer.id).where(Customer.external_id == "ADV"))
        code = issue_code(session, program.id, advocate, length=8).code
        record_clicks(
            session,
            [
                Click(code, "email", f"v{i}", None, None, None, NOW - timedelta(days=1))
                for i in range(n)
            ],
            pepper=PEPPER,
        )
        record_events(
            session,
            [
                Event.model_validate(e)
                for i in range(n)
                for e in (
                    {
                        "id": f"su{i}",
                        "type": "signup",
                        "occurred_at": NOW - timedelta(hours=2),
                        "visitor_id": f"v{i}",
                        "customer": {"external_id": f"N{i}", "email": f"n{i}@example.org"},
                    },
                    {
                        "id": f"po{i}",
                        "type": "purchase",
                        "occurred_at": NOW,
                        "order_id": f"O{i}",
                        "amount": "40.00",
                        "currency": "USD",
                        "customer": {"external_id": f"N{i}"},
                    },
                )
            ],
            source="shop",
            customer_source="crm",
            pepper=PEPPER,
        )
        # Everyone agreed to email: each grant's notification has a channel to go by.
        session.execute(update(Customer).values(consent_email=True))
    while True:
        with transaction(engine) as session:
            if not process_batch(session, 5000, BasicRuleSet()).conversions:
                break


def _worker(url, batch_size=25, *kill):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.db.reward_worker", url, str(batch_size), *map(str, kill)],
        cwd=ROOT,
        env=env,
    )


def _count(engine, model, *where):
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _assert_paid_exactly_once(engine):
    with transaction(engine) as session:
        grants = session.scalar(select(func.count()).select_from(RewardGrant))
        assert grants == 2 * REFERRALS
        assert set(session.scalars(select(RewardGrant.status))) == {"issued"}
        assert set(session.scalars(select(Referral.status))) == {"rewarded"}
        per_grant = session.execute(
            select(LedgerEntry.grant_id, func.count(), func.sum(LedgerEntry.amount_minor)).group_by(
                LedgerEntry.grant_id
            )
        ).all()
        assert len(per_grant) == grants
        assert all(n == 2 and total == 0 for _, n, total in per_grant)
        notices = (
            session.execute(
                select(OutboxMessage.idempotency_key).where(OutboxMessage.kind == "notification")
            )
            .scalars()
            .all()
        )
        assert len(notices) == len(set(notices)) == grants


def test_a_run_killed_mid_batch_is_finished_by_the_next_without_paying_twice(engine, database_url):
    _qualified_referrals(engine)
    worker = _worker(database_url, 25, 7)  # killed inside its 7th issue batch
    worker.wait(timeout=120)
    assert worker.returncode == -signal.SIGKILL
    issued = _count(engine, RewardGrant, RewardGrant.status == "issued")
    assert issued == 6 * 25  # six batches committed, the seventh rolled back
    assert _count(engine, LedgerEntry) == 2 * issued
    rerun = _worker(database_url)
    assert rerun.wait(timeout=240) == 0
    _assert_paid_exactly_once(engine)


def test_two_runs_at_once_pay_each_grant_once(engine, database_url):
    """On PostgreSQL the runs split batches (SKIP LOCKED); on SQLite they take turns."""
    _qualified_referrals(engine)
    workers = [_worker(database_url), _worker(database_url)]
    assert [w.wait(timeout=240) for w in workers] == [0, 0]
    _assert_paid_exactly_once(engine)
