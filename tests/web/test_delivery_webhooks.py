"""Providers' delivery events: SendGrid's signed Event Webhook and Postmark's basic-auth
webhooks are stored once; process-inbox turns opens into invitation opens and hard bounces
and spam complaints into suppressions."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from db.engine import transaction
from db.models import Customer, InboxEvent, Invitation, OutboxMessage, Suppression
from db.outbox import enqueue
from db.programs import Programs
from tasks.inbox import inbox_batch
from tests.db.helpers import add_customers, customer
from tests.web.conftest import POSTMARK_AUTH, SENDGRID_KEY


def sendgrid_headers(body: bytes, at: int | None = None, key=SENDGRID_KEY):
    stamp = str(int(time.time()) if at is None else at)
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "content-type": "application/json",
    }


def sendgrid_events(message_id: str) -> bytes:
    return json.dumps(
        [
            {
                "email": "ada@example.com",
                "timestamp": 1764000000,
                "event": "open",
                "sg_event_id": "ev-open-1",
                "sg_message_id": f"{message_id}.filter0001.1.0",
            },
            {
                "email": "Ada@Example.com",
                "timestamp": 1764000100,
                "event": "spamreport",
                "sg_event_id": "ev-spam-1",
                "sg_message_id": f"{message_id}.filter0001.1.0",
            },
        ]
    ).encode()


@pytest.fixture
def invitation(web) -> str:
    """An invitation whose message went out with provider id "sg-msg-1"."""
    with transaction(web.engine) as session:
        add_customers(session, customer("C1", "ada@example.com", consent_email=True))
        program = Programs(session).create(
            name="Friends",
            reward_structure="referrer_only",
            referrer_reward={"type": "credit", "amount": "10.00"},
        )
        customer_id = session.scalar(select(Customer.id).where(Customer.external_id == "C1"))
        ids = enqueue(
            session,
            [
                {
                    "idempotency_key": "notify:invite:1",
                    "kind": "notification",
                    "channel": "email",
                    "customer_id": customer_id,
                    "template": "invitation",
                    "payload": {},
                    "status": "sent",
                    "provider_message_id": "sg-msg-1",
                }
            ],
        )
        session.add(
            Invitation(
                idempotency_key="invite:1",
                program_id=program.id,
                customer_id=customer_id,
                channel="email",
                trigger="scheduled",
                outbox_id=ids["notify:invite:1"],
            )
        )
    return "sg-msg-1"


def _process(web):
    with transaction(web.engine) as session:
        return inbox_batch(
            session,
            100,
            flow_run_id=None,
            pepper=b"p",
            customer_source="crm",
            region="US",
        )


def test_signed_sendgrid_events_open_the_invitation_and_suppress_a_complaint(web, invitation):
    body = sendgrid_events(invitation)
    with web.client() as client:
        first = client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
        again = client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
    assert (first.status_code, again.status_code) == (202, 200)
    result = _process(web)
    assert (result["processed"], result["delivery_events"]) == (2, 2)
    with transaction(web.engine) as session:
        opened = session.scalar(select(Invitation.opened_at))
        suppressed = session.execute(select(Suppression.address, Suppression.reason)).all()
        assert session.scalar(select(OutboxMessage.status)) == "sent"
    assert opened is not None
    assert suppressed == [("ada@example.com", "spam_report")]


@pytest.mark.parametrize("breakage", ["tampered", "stale", "other key"])
def test_sendgrid_events_that_fail_the_check_store_nothing(web, breakage):
    body = sendgrid_events("sg-msg-1")
    headers = sendgrid_headers(
        body,
        at=int(time.time()) - 400 if breakage == "stale" else None,
        key=ec.generate_private_key(ec.SECP256R1()) if breakage == "other key" else SENDGRID_KEY,
    )
    if breakage == "tampered":
        body = body.replace(b"open", b"click")
    with web.client() as client:
        answer = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert answer.status_code == 401
    with transaction(web.engine) as session:
        assert session.scalar(select(InboxEvent.id)) is None


def test_a_postmark_hard_bounce_suppresses_the_address(web):
    bounce = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Email": "gone@example.com",
        "BouncedAt": "2026-11-20T16:33:54.9070259Z",
    }
    with web.client() as client:
        wrong = client.post("/webhooks/postmark", json=bounce, auth=("postmark-hook", "nope"))
        right = client.post("/webhooks/postmark", json=bounce, auth=httpx.BasicAuth(*POSTMARK_AUTH))
    assert (wrong.status_code, right.status_code) == (401, 202)
    _process(web)
    with transaction(web.engine) as session:
        assert session.execute(select(Suppression.address, Suppression.reason)).all() == [
            ("gone@example.com", "hard_bounce")
        ]
