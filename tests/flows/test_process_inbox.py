"""process-inbox on a real Prefect API: what the web service received becomes conversions,
referrals and rewards, once, and a row that cannot be read is set aside with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from db import inbox
from db.advocates import issue_code
from db.engine import transaction
from db.models import Conversion, Customer, InboxEvent, Referral, RewardGrant
from db.programs import Programs
from flows.process_inbox import process_inbox
from tests.db.helpers import add_customers, customer
from tests.web.conftest import API_KEY, RecordingTrigger, serve, web_settings
from web.app import create_app


@pytest.fixture
def shop(engine, flow_env):
    with transaction(engine) as session:
        add_customers(session, customer("ADV"))
        program = Programs(session).create(
            slug="friends",
            name="Friends",
            hold_days=0,
            referrer_reward={"type": "credit", "amount": "10.00"},
            referee_reward={"type": "discount", "amount": 15, "unit": "percent"},
            links={"landing_url": "https://shop.example/"},
        )
        advocate = session.scalar(select(Customer.id).where(Customer.external_id == "ADV"))
        return issue_code(session, program.id, advocate, length=8).code


def test_a_click_a_signup_and_a_purchase_through_the_api_end_in_rewards(engine, shop):
    import httpx

    settings = web_settings(engine.url.render_as_string(hide_password=False))
    trigger = RecordingTrigger()
    for base_url in serve(create_app(settings, trigger=trigger)):
        visitor = httpx.get(f"{base_url}/r/{shop}?ch=email").cookies["rvid"]
        now = datetime.now(UTC)  # the friend signs up after following the link
        api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"})
        signup = {
            "id": "su-1",
            "type": "signup",
            "occurred_at": now.isoformat(),
            "visitor_id": visitor,
            "customer": {"external_id": "NEW-1", "email": "new@example.org"},
        }
        purchase = {
            "id": "po-1",
            "type": "purchase",
            # Just after the sign-up, and past before the flow runs: a purchase stamped in
            # the future is held until that instant, even with no hold period.
            "occurred_at": (now + timedelta(milliseconds=1)).isoformat(),
            "order_id": "O-1",
            "amount": "45.00",
            "currency": "USD",
            "customer": {"external_id": "NEW-1"},
        }
        assert api.post("/v1/events:batch", json=[signup, purchase]).status_code == 202
    assert trigger.notified, "the web service asked for the inbox flow"

    first = process_inbox()
    assert (first["processed"], first["conversions"]) == (2, 2)
    assert "purchase" in first["triggers"]
    with transaction(engine) as session:
        referral = session.execute(select(Referral.status, Referral.attributed_by)).one()
        grants = session.execute(
            select(RewardGrant.role, RewardGrant.status).order_by(RewardGrant.role)
        ).all()
    assert referral == ("rewarded", "link")
    assert grants == [("referee", "issued"), ("referrer", "issued")]

    again = process_inbox()
    assert again["rows"] == 0
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(RewardGrant)) == 2


def test_provider_payloads_are_mapped_and_unreadable_rows_are_set_aside(engine, flow_env):
    stripe = {
        "id": "evt_1",
        "type": "charge.succeeded",
        "created": 1_764_000_000,
        "data": {
            "object": {
                "id": "ch_1",
                "object": "charge",
                "amount": 2500,
                "amount_captured": 2500,
                "captured": True,
                "currency": "usd",
                "customer": "cus_1",
                "payment_intent": "pi_1",
                "metadata": {},
                "billing_details": {},
            }
        },
    }
    ignored = {"id": "evt_2", "type": "customer.created", "data": {"object": {}}}
    broken = {"id": "x", "type": "purchase", "customer": {"external_id": "C"}}
    with transaction(engine) as session:
        inbox.accept(
            session,
            [
                inbox.Received("stripe", "evt_1", "charge.succeeded", stripe),
                inbox.Received("stripe", "evt_2", "customer.created", ignored),
                inbox.Received("api", "x", "purchase", broken),
            ],
        )
    result = process_inbox(follow_up=False)
    assert (result["processed"], result["ignored"], result["failed"]) == (1, 1, 1)
    with transaction(engine) as session:
        rows = dict(session.execute(select(InboxEvent.event_id, InboxEvent.status)).all())
        error = session.scalar(select(InboxEvent.error).where(InboxEvent.event_id == "x"))
        order = session.scalar(select(Conversion.order_id))
    assert rows == {"evt_1": "processed", "evt_2": "ignored", "x": "failed"}
    assert "occurred_at" in error and "C" not in error.replace("Field", "")
    assert order == "pi_1"
