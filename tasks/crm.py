"""Loading CRM records into the customer mirror, a batch per task run, and syncing CRM
connectors batch by batch with their watermark."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from config.settings import CrmSettings, required
from db.customers import LOADED_COLUMNS, upsert_customers
from db.engine import engine_for, transaction
from db.ingest import record_events
from db.watermarks import advance_watermark, get_watermark
from integrations.crm.base import Contact, CrmBatch, CrmConnector
from integrations.crm.files import FileCrm
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.salesforce import ClientCredentials, JwtBearer, SalesforceConnector
from integrations.crm.synthetic import CustomerRecord, generate_customers
from referral.contacts import normalize_email, normalize_phone
from referral.privacy import address_fingerprint
from tasks.base import database_task

SYNTHETIC_SOURCE = "crm"


def customer_row(
    record: CustomerRecord, *, source: str, pepper: bytes, region: str
) -> dict[str, Any]:
    return {
        "source": source,
        "external_id": record.external_id,
        "email": record.email,
        "email_normalized": normalize_email(record.email) or None,
        "phone_e164": normalize_phone(record.phone, region),
        "name": record.name,
        "segment": record.segment,
        "country": record.country,
        "timezone": record.timezone,
        "customer_since": record.customer_since,
        "nps_score": record.nps_score,
        "nps_at": record.nps_at,
        "orders_count": record.orders_count,
        "total_spend_minor": record.total_spend_minor,
        "currency": record.currency,
        "first_order_at": record.first_order_at,
        "last_order_at": record.last_order_at,
        "support_positive": record.support_positive,
        "support_negative": record.support_negative,
        "email_opens_90d": record.email_opens_90d,
        "email_clicks_90d": record.email_clicks_90d,
        "reviews_count": record.reviews_count,
        "consent_email": record.consent_email,
        "consent_sms": record.consent_sms,
        "consent_whatsapp": record.consent_whatsapp,
        "preferred_channel": record.preferred_channel,
        "tier": None,
        "address_hash": address_fingerprint(
            record.address_line1, record.postcode, record.country, pepper
        ),
        "attributes": {"label": record.label} if record.label else None,
    }


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def load_customers(
    session_factory: Any,
    records: Iterable[CustomerRecord],
    *,
    batch_size: int,
    source: str = SYNTHETIC_SOURCE,
    pepper: bytes,
    region: str = "US",
) -> Iterator[int]:
    """Streams records into the mirror, committing each batch; yields rows per batch.

    The next batch is prepared in Python while the database writes the previous one, so the
    two cores work at once; at most two batches are in memory.
    """

    def write(rows: list[dict[str, Any]]) -> int:
        with session_factory() as session:
            return upsert_customers(session, rows)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="customer-writer") as writer:
        pending: Future[int] | None = None
        for chunk in batched(records, batch_size):
            rows = [customer_row(r, source=source, pepper=pepper, region=region) for r in chunk]
            if pending is not None:
                yield pending.result()
            pending = writer.submit(write, rows)
        if pending is not None:
            yield pending.result()


@database_task("seed-customers-batch")
def seed_customers_batch(
    database_url: str, *, seed: int, start: int, count: int, now: datetime, pepper: bytes
) -> int:
    records = generate_customers(count, seed=seed, now=now, start=start)
    rows = [customer_row(r, source=SYNTHETIC_SOURCE, pepper=pepper, region="US") for r in records]
    with transaction(engine_for(database_url)) as session:
        return upsert_customers(session, rows)


# --- CRM sync ---------------------------------------------------------------------------

CONNECTORS = ("files", "hubspot", "salesforce")
_CONTACT_COLUMNS = frozenset(LOADED_COLUMNS) - {"source", "email_normalized"}


class UnknownConnector(LookupError):
    def __init__(self, source: str) -> None:
        super().__init__(f"no CRM connector named {source!r}; connectors: {', '.join(CONNECTORS)}")


def open_connector(
    source: str, *, folder: Path, batch_size: int, crm: CrmSettings | None = None
) -> CrmConnector:
    """`files` is the drop folder; `hubspot` and `salesforce` read their credentials and
    field map from `crm` (REFERRAL_CRM__*)."""
    crm = crm or CrmSettings()
    field_map = crm.field_map or None
    if source == "files":
        return FileCrm(folder, batch_size=batch_size)
    if source == "hubspot":
        return HubSpotConnector(
            required(crm.hubspot_access_token, "CRM__HUBSPOT_ACCESS_TOKEN"),
            field_map=field_map,
            batch_size=crm.batch_size,
        )
    if source == "salesforce":
        client_id = required(crm.salesforce_client_id, "CRM__SALESFORCE_CLIENT_ID")
        credentials: ClientCredentials | JwtBearer
        if crm.salesforce_auth == "jwt":
            credentials = JwtBearer(
                client_id,
                required(crm.salesforce_username, "CRM__SALESFORCE_USERNAME"),
                required(crm.salesforce_private_key, "CRM__SALESFORCE_PRIVATE_KEY"),
            )
        else:
            secret = required(crm.salesforce_client_secret, "CRM__SALESFORCE_CLIENT_SECRET")
            credentials = ClientCredentials(client_id, secret)
        return SalesforceConnector(
            credentials,
            login_url=crm.salesforce_login_url,
            field_map=field_map,
            object=crm.salesforce_object,
            batch_size=crm.batch_size,
        )
    raise UnknownConnector(source)


def contact_row(contact: Contact, *, source: str, region: str) -> dict[str, Any]:
    """A contact a connector mapped onto customer columns, with our normalizations applied.
    Unknown keys are refused (by name only) rather than silently dropped."""
    unknown = set(contact) - _CONTACT_COLUMNS
    if unknown:
        raise ValueError(f"contact fields that are no customer column: {sorted(unknown)}")
    row = dict(contact)
    email = row.get("email")
    return {
        **row,
        "source": source,
        "email_normalized": (normalize_email(email) or None) if email else None,
        "phone_e164": normalize_phone(row.get("phone_e164"), region),
    }


@database_task("read-watermark")
def read_watermark(database_url: str, source: str) -> str | None:
    with transaction(engine_for(database_url)) as session:
        return get_watermark(session, source)


@database_task("sync-crm-batch")
def sync_batch(
    database_url: str,
    batch: CrmBatch,
    *,
    source: str,
    customer_source: str,
    since: str | None,
    pepper: bytes,
    region: str = "US",
) -> dict[str, Any]:
    """Apply one batch: its customers, its events and the watermark move from `since` to
    the batch's cursor commit together, so a crash never leaves the cursor past unsaved rows
    and a retry re-applies the batch harmlessly (upserts and ON CONFLICT DO NOTHING)."""
    rows = [
        customer_row(r, source=customer_source, pepper=pepper, region=region)
        if isinstance(r, CustomerRecord)
        else contact_row(r, source=customer_source, region=region)
        for r in batch.records
    ]
    with transaction(engine_for(database_url)) as session:
        # First, so a second sync of the same source waits here, before any heavy work.
        advance_watermark(session, source, since=since, to=batch.cursor)
        customers = upsert_customers(session, rows)
        events = (
            record_events(
                session,
                batch.events,
                source=source,
                customer_source=customer_source,
                pepper=pepper,
                region=region,
            )
            if batch.events
            else 0
        )
    return {"customers": customers, "events": events, "cursor": batch.cursor}
