"""The outbox relay's reads and writes, set-based: one claim, one check and a couple of
bulk updates per batch.

A row moves `pending -> claimed (lease) -> sent | failed (retry later) | dead`. Claiming
commits before anything is sent, and the lease keeps other relays off the row while it is
out: a relay that dies mid-batch leaves claimed rows whose lease expires, and the next relay
takes them again. That makes delivery at-least-once; the idempotency key goes to the provider
so a repeat can be recognised there. Leases and retry times use the database clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, true, tuple_, update
from sqlalchemy.orm import Session

from db.models import Customer, OutboxMessage, Suppression, core_table
from db.statements import among, bulk_insert, bulk_update, claim
from db.types import seconds_from_now, utcnow
from referral.delivery import Recipient, backoff_seconds, consents_from_flags

# Rows per IN (...) or VALUES list: well under SQLite's 32,766 bound parameters.
_CHUNK = 5_000
_ERROR_CHARS = 500


# What delivery needs to know of a recipient, read alongside each row that will reach them.
CONTACT_COLUMNS = (
    Customer.name,
    Customer.email,
    Customer.phone_e164,
    Customer.consent_email,
    Customer.consent_sms,
    Customer.consent_whatsapp,
    Customer.preferred_channel,
    Customer.timezone,
)


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    idempotency_key: str
    kind: str
    channel: str
    customer_id: int | None
    template: str | None
    payload: dict[str, Any]
    attempts: int
    recipient: Recipient | None


@dataclass(frozen=True, slots=True)
class Sent:
    id: int
    provider_message_id: str


@dataclass(frozen=True, slots=True)
class Failure:
    id: int
    attempts: int
    error: str
    permanent: bool = False
    # The provider's own wait (Retry-After); the row waits at least this long.
    retry_after: float | None = None
    # Maybe delivered (a timeout after sending): set aside for a person, never resent.
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class Deferral:
    """A claimed row handed back unsent (its provider refused us or is down): it waits
    `seconds` and its attempt is given back, since nothing was tried."""

    id: int
    seconds: float
    reason: str


def enqueue(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert outbox rows, skipping keys that exist; the id of every key, new or old."""
    if not rows:
        return {}
    bulk_insert(session, OutboxMessage, rows, ignore_conflicts=True)
    return ids_by_key(session, [row["idempotency_key"] for row in rows])


def ids_by_key(session: Session, keys: Sequence[str]) -> dict[str, int]:
    rows = session.execute(
        select(OutboxMessage.idempotency_key, OutboxMessage.id).where(
            among(session, OutboxMessage.idempotency_key, keys)
        )
    )
    return dict(rows.tuples().all())


def claim_due(
    session: Session,
    *,
    limit: int,
    worker: str,
    lease_seconds: int,
    kinds: Collection[str] = ("notification",),
    channels: Collection[str] | None = None,
) -> list[ClaimedMessage]:
    """Claim up to `limit` rows that are due: pending or failed with available_at passed, or
    claimed by a relay whose lease has run out. Each gets a lease, the worker's name and one
    more attempt. Only `kinds` are taken (payouts wait for the payout connector), and only
    `channels` when given.

    On PostgreSQL the selection skips rows another relay has locked; if that relay commits
    first, the re-check of the WHERE clause on the locked row sees its new lease and drops it.
    """
    due = or_(
        and_(
            OutboxMessage.status.in_(("pending", "failed")),
            OutboxMessage.available_at <= utcnow(),
        ),
        and_(OutboxMessage.status == "claimed", OutboxMessage.lease_until < utcnow()),
    )
    ids = list(
        session.scalars(
            claim(
                session,
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.kind.in_(list(kinds)),
                    OutboxMessage.channel.in_(list(channels)) if channels is not None else true(),
                    due,
                )
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(limit),
            )
        )
    )
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(among(session, OutboxMessage.id, ids))
        .values(
            status="claimed",
            lease_until=seconds_from_now(lease_seconds),
            claimed_by=worker[:64],
            attempts=OutboxMessage.attempts + 1,
        ),
        execution_options={"synchronize_session": False},
    )
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.idempotency_key,
            OutboxMessage.kind,
            OutboxMessage.channel,
            OutboxMessage.customer_id,
            OutboxMessage.template,
            OutboxMessage.payload,
            OutboxMessage.attempts,
            Customer.id,
            *CONTACT_COLUMNS,
        )
        .outerjoin(Customer, Customer.id == OutboxMessage.customer_id)
        .where(among(session, OutboxMessage.id, ids))
        .order_by(OutboxMessage.id)
    )
    claimed = []
    for row in rows:
        recipient = recipient_of(row[9:]) if row[8] is not None else None
        (id_, key, kind, channel, customer_id, template, payload, attempts) = row[:8]
        claimed.append(
            ClaimedMessage(
                id_, key, kind, channel, customer_id, template, payload, attempts, recipient
            )
        )
    return claimed


def recipients(session: Session, customer_ids: Collection[int]) -> dict[int, Recipient]:
    """Who each customer is as a recipient: addresses, consents, preferred channel."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer.id, *CONTACT_COLUMNS).where(among(session, Customer.id, customer_ids))
    )
    return {row[0]: recipient_of(row[1:]) for row in rows}


def recipient_of(row: Sequence[Any]) -> Recipient:
    """A Recipient from the CONTACT_COLUMNS of a row, in their order."""
    name, email, phone, consent_email, consent_sms, consent_whatsapp, preferred, zone = row
    return Recipient(
        name=name,
        email=email,
        phone_e164=phone,
        consents=consents_from_flags(
            email=consent_email, sms=consent_sms, whatsapp=consent_whatsapp
        ),
        preferred_channel=preferred,
        timezone=zone,
    )


def suppressed(session: Session, pairs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (channel, address) pairs among `pairs` that are on the suppression list."""
    unique = sorted(set(pairs))
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(unique):
        rows = session.execute(
            select(Suppression.channel, Suppression.address).where(
                tuple_(Suppression.channel, Suppression.address).in_(chunk)
            )
        )
        found.update(rows.tuples())
    return found & set(unique)


def mark_sent(session: Session, results: Sequence[Sent]) -> None:
    """Record what the provider accepted. Only rows still claimed change: a row that an
    operator retried or killed meanwhile keeps its new state."""
    bulk_update(
        session,
        OutboxMessage,
        [{"id": r.id, "provider_message_id": r.provider_message_id} for r in results],
        also={"status": "sent", "sent_at": utcnow(), "lease_until": None, "last_error": None},
        where=OutboxMessage.status == "claimed",
    )


def mark_failed(
    session: Session,
    failures: Sequence[Failure],
    *,
    max_attempts: int,
    backoff_seconds: float,
    rand: Callable[[], float] = random.random,
) -> int:
    """Transient failures wait a jittered, growing delay (referral.delivery.backoff_seconds)
    and are tried again; permanent ones, and those out of attempts, are dead. Returns how many
    died."""
    unsure = [f for f in failures if f.ambiguous]
    failures = [f for f in failures if not f.ambiguous]
    dead = {f.id: f.error for f in failures if f.permanent or f.attempts >= max_attempts}
    retry = [
        {
            "b_id": f.id,
            "b_error": f.error[:_ERROR_CHARS],
            "b_delay": max(_backoff(f.attempts, backoff_seconds, rand), f.retry_after or 0),
        }
        for f in failures
        if f.id not in dead
    ]
    mark_dead(session, dead)
    bulk_update(
        session,
        OutboxMessage,
        [{"id": f.id, "last_error": f.error[:_ERROR_CHARS]} for f in unsure],
        also={"status": "needs_reconciliation", "lease_until": None},
        where=OutboxMessage.status == "claimed",
    )
    if retry:
        table = core_table(OutboxMessage)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.status == "claimed")
            .values(
                status="failed",
                available_at=seconds_from_now(bindparam("b_delay")),
                lease_until=None,
                last_error=bindparam("b_error"),
            ),
            retry,
            execution_options={"synchronize_session": False},
        )
    return len(dead)


def defer(session: Session, deferrals: Sequence[Deferral]) -> None:
    if not deferrals:
        return
    table = core_table(OutboxMessage)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == "claimed")
        .values(
            status="failed",
            attempts=table.c.attempts - 1,
            available_at=seconds_from_now(bindparam("b_delay")),
            lease_until=None,
            last_error=bindparam("b_error"),
        ),
        [{"b_id": d.id, "b_delay": d.seconds, "b_error": d.reason} for d in deferrals],
        execution_options={"synchronize_session": False},
    )


def _backoff(attempts: int, base: float, rand: Callable[[], float]) -> float:
    return round(backoff_seconds(max(attempts, 1), base=base, rand=rand), 3)


def mark_dead(session: Session, reasons: Mapping[int, str]) -> None:
    """Give rows up for good, each with its reason (no_consent, suppressed, an error)."""
    bulk_update(
        session,
        OutboxMessage,
        [{"id": i, "last_error": error[:_ERROR_CHARS]} for i, error in reasons.items()],
        also={"status": "dead", "lease_until": None},
        where=OutboxMessage.status == "claimed",
    )


def retry_dead(session: Session, ids: Sequence[int]) -> int:
    """Send dead rows again, from a clean count of attempts (after fixing the template, or
    the customer giving consent), and rows set aside for reconciliation once a person has
    checked the provider did not deliver them. Other rows are left alone."""
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(wanted),
            OutboxMessage.status.in_(("dead", "needs_reconciliation")),
        )
        .values(
            status="pending",
            attempts=0,
            available_at=utcnow(),
            lease_until=None,
            claimed_by=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class OutboxView:
    id: int
    kind: str
    channel: str
    customer_id: int | None
    template: str | None
    status: str
    attempts: int
    available_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def list_outbox(session: Session, status: str | None, limit: int) -> list[OutboxView]:
    """Newest first; no payloads, so the list can be shown anywhere."""
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.channel,
            OutboxMessage.customer_id,
            OutboxMessage.template,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.available_at,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(OutboxMessage.status == status)
    return [OutboxView(*row) for row in session.execute(query)]


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
