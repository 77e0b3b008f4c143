"""Recording events (sign-ups, purchases, refunds, NPS answers) and clicks, a batch at a time.

The shop API, CRM webhooks and the demo's simulated shop all come through here, so an event
means the same thing whoever sent it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from db import conversions as q
from referral.codes import normalize_code
from referral.contacts import normalize_email, normalize_phone
from referral.events import CONVERSION_TYPES, Event
from referral.links import referrer_host
from referral.privacy import address_fingerprint, hash_identifier


@dataclass(frozen=True, slots=True)
class Click:
    code: str
    channel: str | None
    visitor_id: str | None
    device_id: str | None
    ip: str | None
    user_agent: str | None
    # None: now, by the database clock (a live click); a time: a click replayed from elsewhere.
    occurred_at: datetime | None
    event_id: str | None = None
    utm: dict[str, str] | None = None
    referrer: str | None = None  # the Referer header as sent; only its host is kept
    # Known already (the web service has the code in hand): saves looking the code up again.
    code_id: int | None = None
    program_id: int | None = None


def record_clicks(session: Session, clicks: Sequence[Click], *, pepper: bytes) -> int:
    """Clicks on known codes become touches; unknown codes are not tracked."""
    codes = q.code_ids(session, {normalize_code(c.code) for c in clicks if c.code_id is None})
    live: list[dict[str, Any]] = []  # stamped by the database clock as they are inserted
    replayed: list[dict[str, Any]] = []
    for click in clicks:
        if click.code_id is not None and click.program_id is not None:
            code_id, program_id = click.code_id, click.program_id
        elif (found := codes.get(normalize_code(click.code))) is not None:
            code_id, program_id = found
        else:
            continue
        row = {
            "program_id": program_id,
            "code_id": code_id,
            "kind": "click",
            "channel": click.channel,
            "visitor_id": click.visitor_id,
            "device_id": click.device_id,
            "ip_hash": hash_identifier(click.ip, pepper),
            "ua_hash": hash_identifier(click.user_agent, pepper),
            "source_event_id": click.event_id,
            "utm": click.utm or None,
            "referrer_host": referrer_host(click.referrer),
        }
        if click.occurred_at is None:
            if click.event_id is not None:
                raise ValueError("a click with an event id carries its own time")
            live.append(row)
        else:
            replayed.append({**row, "occurred_at": click.occurred_at})
    q.insert_touches(session, replayed)
    q.append_touches(session, live)
    return len(live) + len(replayed)


def record_events(
    session: Session,
    events: Sequence[Event],
    *,
    source: str,
    customer_source: str,
    pepper: bytes,
    region: str = "US",
) -> int:
    """Idempotent on (source, event id) for conversions: a re-delivered event changes
    nothing. NPS answers overwrite; support tallies add, so callers pass each support event
    once (the inbox and the CRM watermark see to that)."""
    new_customers: dict[str, dict[str, Any]] = {}
    for event in events:
        person = event.customer
        row = {
            "source": customer_source,
            "external_id": person.external_id,
            "email": person.email,
            "email_normalized": normalize_email(person.email) if person.email else None,
            "phone_e164": normalize_phone(person.phone, region),
            "name": person.name,
            "address_hash": address_fingerprint(
                person.address.line1, person.address.postcode, person.address.country, pepper
            )
            if person.address
            else None,
            "country": person.address.country.upper()
            if person.address and person.address.country
            else None,
            "customer_since": event.occurred_at,
            "attributes": None,
        }
        known = new_customers.setdefault(person.external_id, row)
        # One customer in several events of a batch (a sign-up with the email, then a
        # purchase without): what any of them says fills the gaps, the earliest time wins.
        for name, value in row.items():
            if known[name] is None:
                known[name] = value
        known["customer_since"] = min(known["customer_since"], event.occurred_at)
    q.ensure_customers(session, list(new_customers.values()))
    ids = q.customer_ids(session, customer_source, new_customers)
    conversions = []
    nps_updates = []
    support: dict[int, Counter[str]] = defaultdict(Counter)
    for event in events:
        customer_id = ids[event.customer.external_id]
        if event.type in CONVERSION_TYPES:
            conversions.append(
                {
                    "source": source,
                    "external_id": event.id,
                    "kind": event.type,
                    "customer_id": customer_id,
                    "order_id": event.order_id,
                    "amount_minor": event.amount_minor,
                    "currency": event.currency,
                    "referral_code": normalize_code(event.referral_code)
                    if event.referral_code
                    else None,
                    "visitor_id": event.visitor_id,
                    "device_id": event.device_id,
                    "ip_hash": hash_identifier(event.ip, pepper),
                    "ua_hash": hash_identifier(event.user_agent, pepper),
                    "payment_fingerprint": hash_identifier(event.payment_fingerprint, pepper),
                    "occurred_at": event.occurred_at,
                }
            )
        elif event.type == "nps":
            nps_updates.append(
                {"id": customer_id, "nps_score": event.score, "nps_at": event.occurred_at}
            )
        elif event.type == "support_interaction" and event.sentiment in ("positive", "negative"):
            support[customer_id][event.sentiment] += 1
    q.insert_conversions(session, conversions)
    q.update_customer_fields(session, nps_updates)
    q.count_support_interactions(session, support)
    return len(events)
