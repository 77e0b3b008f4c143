"""Small builders for database tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from db.advocates import issue_code
from db.customers import upsert_customers
from db.ingest import Click, record_clicks, record_events
from db.models import Customer
from db.programs import Programs
from db.rewards import release_holds
from referral.contacts import normalize_email
from referral.events import Event
from referral.fraud.basic import BasicRuleSet
from tasks.conversions import process_batch
from tasks.rewards import grant_batch, issue_batch

PEPPER = b"test-pepper"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def customer(external_id: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
    email = email or f"{external_id.lower()}@example.com"
    return {
        "source": "crm",
        "external_id": external_id,
        "email": email,
        "email_normalized": normalize_email(email),
        **fields,
    }


def add_customers(session, *rows: dict[str, Any]) -> None:
    upsert_customers(session, list(rows))
    session.flush()


def click(
    session,
    code: str,
    visitor: str,
    at: datetime,
    referrer: str | None = None,
    channel: str | None = "email",
) -> None:
    record_clicks(
        session,
        [
            Click(
                code=code,
                channel=channel,
                visitor_id=visitor,
                device_id=None,
                ip="203.0.113.7",
                user_agent="Mozilla/5.0",
                occurred_at=at,
                referrer=referrer,
            )
        ],
        pepper=PEPPER,
    )


def event(session, **fields: Any) -> None:
    record_events(
        session, [Event.model_validate(fields)], source="shop", customer_source="crm", pepper=PEPPER
    )


# --- a referral from click to reward -------------------------------------------------

PROGRAM = {
    "slug": "friends",
    "name": "Friends",
    "minimum_purchase": "25.00",
    "hold_days": 0,
    "referrer_reward": {"type": "credit", "amount": "10.00"},
    "referee_reward": {"type": "discount", "amount": 15, "unit": "percent"},
}


def advocate_with_code(session, **program):
    add_customers(session, customer("ADV", "Ada.Lovelace@gmail.com", consent_email=True))
    loaded = Programs(session).create(**{**PROGRAM, **program})
    advocate_id = session.scalar(select(Customer.id).where(Customer.external_id == "ADV"))
    code = issue_code(session, loaded.id, advocate_id, length=8).code
    return loaded, code


def referred_purchase(
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


def run_pipeline(session):
    process_batch(session, 1000, BasicRuleSet())
    grant_batch(session, 1000)
    release_holds(session)
    issue_batch(session, 1000)
