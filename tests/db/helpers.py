"""Small builders for database tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from db.customers import upsert_customers
from db.ingest import Click, record_clicks, record_events
from referral.contacts import normalize_email
from referral.events import Event

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


def click(session, code: str, visitor: str, at: datetime) -> None:
    record_clicks(
        session,
        [
            Click(
                code=code,
                channel="email",
                visitor_id=visitor,
                device_id=None,
                ip="203.0.113.7",
                user_agent="Mozilla/5.0",
                occurred_at=at,
            )
        ],
        pepper=PEPPER,
    )


def event(session, **fields: Any) -> None:
    record_events(
        session, [Event.model_validate(fields)], source="shop", customer_source="crm", pepper=PEPPER
    )
