"""Recording events: one customer in several events of a batch keeps everything they said."""

from __future__ import annotations

from sqlalchemy import select

from db.ingest import record_events
from db.models import Customer
from referral.events import Event
from tests.db.helpers import NOW, PEPPER


def test_a_later_event_without_an_email_does_not_erase_the_sign_ups(session):
    events = [
        {
            "id": "su",
            "type": "signup",
            "occurred_at": NOW,
            "customer": {"external_id": "N1", "email": "Ana@Example.org", "name": "Ana"},
        },
        {
            "id": "po",
            "type": "purchase",
            "occurred_at": NOW.replace(hour=NOW.hour + 1),
            "order_id": "O1",
            "amount": "20.00",
            "currency": "EUR",
            "customer": {"external_id": "N1"},
        },
    ]
    record_events(
        session,
        [Event.model_validate(e) for e in reversed(events)],
        source="shop",
        customer_source="crm",
        pepper=PEPPER,
    )
    stored = session.execute(
        select(Customer.email, Customer.email_normalized, Customer.name, Customer.customer_since)
    ).one()
    assert stored == ("Ana@Example.org", "ana@example.org", "Ana", NOW)
