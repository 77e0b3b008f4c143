"""The pipeline flows run on a real Prefect API, publish their summaries, and a second run
changes nothing."""

from datetime import timedelta

from prefect.client.orchestration import get_client
from sqlalchemy import func, select, update

from db.advocates import issue_code
from db.engine import transaction
from db.models import Customer, LedgerEntry, OutboxMessage, RewardGrant
from db.programs import Programs
from db.types import utcnow
from flows.distribute_rewards import distribute_rewards
from flows.process_conversions import process_conversions
from tests.db.helpers import add_customers, click, customer, event


def _shop(engine, referees=30):
    with transaction(engine) as session:
        now = session.scalar(select(utcnow()))
        add_customers(session, customer("ADV", consent_email=True))
        program = Programs(session).create(
            slug="friends",
            name="Friends",
            hold_days=0,
            referrer_reward={"type": "credit", "amount": "10.00"},
            referee_reward={"type": "points", "amount": 500},
        )
        advocate = session.scalar(select(Customer.id).where(Customer.external_id == "ADV"))
        code = issue_code(session, program.id, advocate, length=8).code
        for i in range(referees):
            # Three hours apart: an advocate recruiting thirty friends within the hour would
            # be held by the velocity rules.
            click(session, code, visitor=f"v{i}", at=now - timedelta(days=5))
            event(
                session,
                id=f"su{i}",
                type="signup",
                occurred_at=now - timedelta(hours=100 - 3 * i),
                visitor_id=f"v{i}",
                customer={"external_id": f"N{i}", "email": f"n{i}@example.org"},
            )
            event(
                session,
                id=f"po{i}",
                type="purchase",
                occurred_at=now - timedelta(hours=1),
                order_id=f"O{i}",
                amount="30.00",
                currency="USD",
                customer={"external_id": f"N{i}"},
            )
        session.execute(update(Customer).values(consent_email=True))  # all agreed to email


def _counts(engine):
    with transaction(engine) as session:
        return [
            session.scalar(select(func.count()).select_from(m))
            for m in (RewardGrant, LedgerEntry, OutboxMessage)
        ]


async def _artifact_keys():
    async with get_client() as client:
        return {a.key for a in await client.read_artifacts()}


def test_flows_process_in_batches_and_a_second_run_changes_nothing(engine, flow_env):
    _shop(engine)
    processed = process_conversions(batch_size=7)
    assert (processed["conversions"], processed["qualified"]) == (60, 30)
    rewards = distribute_rewards(batch_size=7)
    assert (rewards["grants_created"], rewards["grants_issued"]) == (60, 60)
    first = _counts(engine)
    assert first == [60, 120, 60]

    again = process_conversions(batch_size=7), distribute_rewards(batch_size=7)
    assert again[0]["conversions"] == 0 and again[1]["grants_issued"] == 0
    assert _counts(engine) == first


def test_each_flow_publishes_a_summary_artifact(engine, flow_env):
    import asyncio

    _shop(engine, referees=2)
    process_conversions()
    distribute_rewards()
    assert {"process-conversions", "distribute-rewards"} <= asyncio.run(_artifact_keys())
