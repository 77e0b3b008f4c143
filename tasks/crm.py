"""Loading CRM records into the customer mirror, a batch per task run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from itertools import islice
from typing import Any

from db.customers import upsert_customers
from db.engine import engine_for, transaction
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
