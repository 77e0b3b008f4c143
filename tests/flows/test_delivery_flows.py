"""Invitations from program to mailbox on a real Prefect API: send_invitations queues them,
deliver_outbox writes them to the demo's outbox files, and a second run sends nothing."""

import asyncio
import json

from prefect.client.orchestration import get_client
from sqlalchemy import select

from db.advocates import issue_code
from db.engine import transaction
from db.models import Customer, OutboxMessage
from db.programs import Programs
from flows.deliver_outbox import deliver_outbox
from flows.reminders import reminders
from flows.send_invitations import send_invitations
from tests.db.helpers import add_customers, customer


def _advocates(engine):
    with transaction(engine) as session:
        add_customers(
            session,
            customer("E1", name="Ada Lovelace", consent_email=True),
            customer("E2", consent_email=True),
            customer("S1", name="Grace Hopper", consent_sms=True, phone_e164="+14155550123"),
            customer("NONE"),
        )
        program = Programs(session).create(
            slug="friends",
            name="Friends of Acme",
            referrer_reward={"type": "credit", "amount": "10.00"},
            referee_reward={"type": "credit", "amount": "5.00"},
        )
        for (cid,) in session.execute(select(Customer.id)):
            issue_code(session, program.id, cid, length=8)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_invitations_are_queued_then_delivered_once(engine, flow_env, tmp_path):
    _advocates(engine)
    queued = send_invitations("friends")
    assert (queued["invited"], queued["unreachable"]) == (3, 1)
    delivered = deliver_outbox(batch_size=2)
    assert (delivered["claimed"], delivered["sent"], delivered["dead"]) == (3, 3, 0)

    emails = _lines(tmp_path / "outbox" / "email.jsonl")
    texts = _lines(tmp_path / "outbox" / "sms.jsonl")
    assert sorted(e["to"] for e in emails) == ["e1@example.com", "e2@example.com"]
    assert [t["to"] for t in texts] == ["+14155550123"]
    ada = next(e for e in emails if e["to"] == "e1@example.com")
    assert ada["subject"] == "Ada, invite your friends to Friends of Acme"
    assert ada["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ada["headers"]["List-Unsubscribe"].startswith("<http://localhost:8000/u/")
    assert "/r/" in ada["text"] and "Unsubscribe: http://localhost:8000/u/" in ada["text"]
    # A fresh link to the advocate's own dashboard, in the text and the HTML part.
    assert "http://localhost:8000/portal/" in ada["text"] and "/portal/" in ada["html"]
    assert len(texts[0]["text"]) <= 160 and "?ch=sms" in texts[0]["text"]
    with transaction(engine) as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}

    again = send_invitations("friends"), deliver_outbox(batch_size=2)
    assert again[0]["invited"] == 0 and again[1]["sent"] == 0
    assert len(_lines(tmp_path / "outbox" / "email.jsonl")) == 2


async def _artifact_keys():
    async with get_client() as client:
        return {a.key for a in await client.read_artifacts()}


def test_each_delivery_flow_publishes_a_summary_artifact(engine, flow_env):
    _advocates(engine)
    send_invitations("friends")
    assert reminders("friends")["reminded"] == 0  # invited just now: too early
    deliver_outbox(max_batches=1)
    assert {"send-invitations", "reminders", "deliver-outbox"} <= asyncio.run(_artifact_keys())
