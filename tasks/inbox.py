"""process-inbox, a batch per task: turn what the web service received into recorded events.

Each inbox row becomes zero or more events (a Stripe charge, a HubSpot property change, an
event posted to /v1), recorded in the same transaction that marks the row done, so a crash
leaves the row `received` for the next run and a re-run records nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.settings import CrmSettings
from db import inbox
from db.customers import upsert_customers
from db.delivery_events import apply_delivery_events
from db.engine import engine_for, transaction
from db.ingest import record_events
from integrations.crm.salesforce import SalesforceConnector
from integrations.mail.events import DeliveryEvent, parse_postmark_event, parse_sendgrid_events
from integrations.webhooks.errors import MalformedPayload
from integrations.webhooks.mapping import hubspot_events, stripe_events
from referral.events import CONVERSION_TYPES, Event
from referral.invitations import triggers_of
from tasks.base import database_task
from tasks.crm import contact_row, open_connector

# Sources whose stored payload is already an event in our contract.
EVENT_SOURCES = ("api", "standard")
# Sources that report on messages we sent, not on customers.
DELIVERY_SOURCES = {
    "sendgrid": lambda payload: parse_sendgrid_events([payload]),
    "postmark": lambda payload: [e] if (e := parse_postmark_event(payload)) else [],
}
# Salesforce outbound messages carry no signature: the record they name is read again from
# Salesforce itself, and only what Salesforce says is applied.
NO_SALESFORCE = (
    "outbound messages are unsigned and are acted on only after re-reading the record: set "
    "REFERRAL_CRM__PROVIDER=salesforce and its credentials"
)


def events_of(row: inbox.InboxRow) -> list[dict[str, Any]]:
    if row.source in EVENT_SOURCES:
        return [row.payload]
    if row.source == "stripe":
        return stripe_events(row.payload)
    if row.source == "hubspot":
        return hubspot_events([row.payload])
    return []


def describe(error: ValidationError | MalformedPayload) -> str:
    """Where and what, never the rejected values: they may be personal data."""
    if isinstance(error, MalformedPayload):
        return str(error)  # names the field, never its value
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in error.errors()
    )


def inbox_batch(
    session: Any,
    batch_size: int,
    *,
    flow_run_id: str | None,
    pepper: bytes,
    customer_source: str,
    region: str,
    crm: CrmSettings | None = None,
) -> dict[str, Any]:
    rows = inbox.claim_received(session, batch_size)
    by_source: dict[str, list[Event]] = defaultdict(list)
    done: dict[str, list[int]] = {"processed": [], "ignored": []}
    failed: list[tuple[int, str]] = []
    reports: list[DeliveryEvent] = []
    salesforce = [row for row in rows if row.source == "salesforce"]
    rows = [row for row in rows if row.source != "salesforce"]
    reread = _reread_salesforce(session, salesforce, crm, region)
    for status, ids in reread.items():
        inbox.mark(
            session,
            ids,
            status,
            flow_run_id=flow_run_id,
            error=NO_SALESFORCE if status == "ignored" else None,
        )
    for row in rows:
        if row.source in DELIVERY_SOURCES:
            try:
                found = DELIVERY_SOURCES[row.source](row.payload)
            except MalformedPayload as exc:
                failed.append((row.id, describe(exc)))
                continue
            reports += found
            done["processed" if found else "ignored"].append(row.id)
            continue
        try:
            events = [Event.model_validate(raw) for raw in events_of(row)]
        except (ValidationError, MalformedPayload) as exc:
            failed.append((row.id, describe(exc)))
            continue
        by_source[row.source] += events
        done["processed" if events else "ignored"].append(row.id)
    for source, events in by_source.items():
        record_events(
            session,
            events,
            source=source,
            customer_source=customer_source,
            pepper=pepper,
            region=region,
        )
    delivery = apply_delivery_events(session, reports)
    for status, ids in done.items():
        inbox.mark(session, ids, status, flow_run_id=flow_run_id)
    for row_id, error in failed:
        inbox.mark(session, [row_id], "failed", flow_run_id=flow_run_id, error=error)
    recorded = [e for events in by_source.values() for e in events]
    triggers = {t for e in recorded for t in triggers_of(e.type, e.score, e.sentiment)}
    return {
        "rows": len(rows) + len(salesforce),
        "events": len(recorded),
        "processed": len(done["processed"]) + len(reread.get("processed", [])),
        "ignored": len(done["ignored"]) + len(reread.get("ignored", [])),
        "failed": len(failed),
        "conversions": sum(e.type in CONVERSION_TYPES for e in recorded),
        "triggers": sorted(triggers),
        "delivery_events": sum(delivery.values()),
    }


def _reread_salesforce(
    session: Any, rows: list[inbox.InboxRow], crm: CrmSettings | None, region: str
) -> dict[str, list[int]]:
    """Rows by the status they end in. Each named record is read from Salesforce and the
    customer refreshed from that answer; a record gone from Salesforce changes nothing. A
    Salesforce that cannot be reached raises, and the rows wait for the next run."""
    if not rows:
        return {}
    if crm is None or crm.provider != "salesforce":
        return {"ignored": [row.id for row in rows]}
    connector = open_connector("salesforce", folder=Path("."), batch_size=len(rows), crm=crm)
    assert isinstance(connector, SalesforceConnector)
    contacts = []
    for row in rows:
        record_id = str(row.payload.get("record_id") or "")
        contact = connector.get_contact(record_id) if record_id else None
        if contact is not None:
            contacts.append(contact_row(contact, source=connector.customer_source, region=region))
    upsert_customers(session, contacts)
    return {"processed": [row.id for row in rows]}


@database_task("process-inbox-batch")
def process_inbox_batch(
    database_url: str,
    batch_size: int,
    *,
    flow_run_id: str | None,
    pepper: bytes,
    customer_source: str,
    region: str,
    crm: CrmSettings | None = None,
) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return inbox_batch(
            session,
            batch_size,
            flow_run_id=flow_run_id,
            pepper=pepper,
            customer_source=customer_source,
            region=region,
            crm=crm,
        )


@database_task("count-received-inbox")
def received(database_url: str) -> int:
    with transaction(engine_for(database_url)) as session:
        return inbox.received_count(session)
