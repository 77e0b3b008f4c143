"""distribute_rewards killed mid-batch, or run twice at once, still pays every grant once."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from db.advocates import issue_code
from db.engine import transaction
from db.ingest import Click, record_clicks, record_events
from db.models import Customer, LedgerEntry, OutboxMessage, Referral, RewardGrant
from db.programs import Programs
from db.rewards import decide_grants
from referral.events import Event
from referral.fraud.basic import BasicRuleSet
from tasks.conversions import process_batch
from tasks.rewards import grant_batch
from tests.db.helpers import NOW, PEPPER, add_customers, customer

ROOT = Path(__file__).resolve().parents[2]
REFERRALS = 1500


def _qualified_referrals(engine, n=REFERRALS, approval="auto"):
    with transaction(engine) as session:
        add_customers(session, customer("ADV"))
        program = Programs(session).create(
            slug="friends",
            name="Friends",
            hold_days=0,
            approval=approval,
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


def _granted_then_approved_by_hand(engine):
    """Grants that wait for a person, approved by one: the issue batches pay them."""
    _qualified_referrals(engine, approval="manual")
    with transaction(engine) as session:
        while grant_batch(session, 5000)["referrals"]:
            pass
        waiting = session.scalars(select(RewardGrant.id)).all()
        decide_grants(session, waiting, approve=True, who="ops", reason="checked")


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


def test_a_run_killed_mid_grant_batch_is_finished_by_the_next_without_paying_twice(
    engine, database_url
):
    _qualified_referrals(engine)  # no hold, automatic approval: issued as granted
    worker = _worker(database_url, 25, "grant", 7)  # killed inside its 7th grant batch
    worker.wait(timeout=120)
    assert worker.returncode == -signal.SIGKILL
    issued = _count(engine, RewardGrant, RewardGrant.status == "issued")
    assert issued == 2 * 6 * 25  # six batches of 25 referrals committed, the seventh rolled back
    assert _count(engine, RewardGrant) == issued
    assert _count(engine, LedgerEntry) == 2 * issued
    assert _count(engine, Referral, Referral.status == "rewarded") == 6 * 25
    rerun = _worker(database_url)
    assert rerun.wait(timeout=240) == 0
    _assert_paid_exactly_once(engine)


def test_a_run_killed_mid_issue_batch_is_finished_by_the_next_without_paying_twice(
    engine, database_url
):
    _granted_then_approved_by_hand(engine)
    worker = _worker(database_url, 25, "issue", 7)  # killed inside its 7th issue batch
    worker.wait(timeout=120)
    assert worker.returncode == -signal.SIGKILL
    issued = _count(engine, RewardGrant, RewardGrant.status == "issued")
    assert issued == 6 * 25  # six batches committed, the seventh rolled back
    assert _count(engine, LedgerEntry) == 2 * issued
    rerun = _worker(database_url)
    assert rerun.wait(timeout=240) == 0
    _assert_paid_exactly_once(engine)


@pytest.mark.parametrize("approval", ["auto", "manual"])
def test_two_runs_at_once_pay_each_grant_once(engine, database_url, approval):
    """On PostgreSQL the runs split batches (SKIP LOCKED); on SQLite they take turns. With
    automatic approval the grant batches pay; with a person's approval the issue batches."""
    if approval == "manual":
        _granted_then_approved_by_hand(engine)
    else:
        _qualified_referrals(engine)
    workers = [_worker(database_url), _worker(database_url)]
    assert [w.wait(timeout=240) for w in workers] == [0, 0]
    _assert_paid_exactly_once(engine)
