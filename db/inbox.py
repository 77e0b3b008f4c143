"""The inbox: every event and webhook as received, committed before the sender gets its 2xx.

UNIQUE(source, event_id) is kept for good, so a re-delivery years later is still recognised.
A row moves `received -> processed | ignored | failed`; `flow_run_id` names the Prefect run
that handled it, and a row still `received` is one whose flow never ran: the sweep's work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import InboxEvent
from db.statements import among, claim, insert_ignore
from db.types import utcnow

RECEIVED = "received"
STATUSES = (RECEIVED, "processed", "ignored", "failed")
_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Received:
    source: str
    event_id: str
    event_type: str
    payload: dict[str, Any]


def accept(session: Session, items: Sequence[Received]) -> dict[tuple[str, str], int]:
    """Store what is new; returns the inbox id of each (source, event id) this call inserted.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING: of two concurrent deliveries of one
    event, exactly one sees its key come back, whichever commits first.
    """
    if not items:
        return {}
    # Parameters, not inline VALUES: the statement compiles once and is cached, and
    # SQLAlchemy still sends a batch as multi-row INSERTs with RETURNING.
    statement = insert_ignore(session, InboxEvent).returning(
        InboxEvent.source, InboxEvent.event_id, InboxEvent.id
    )
    rows = [
        {
            "source": item.source,
            "event_id": item.event_id,
            "event_type": item.event_type,
            "payload": item.payload,
            "status": RECEIVED,
        }
        for item in items
    ]
    found = session.execute(statement, rows)
    return {(source, event_id): id_ for source, event_id, id_ in found}


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    source: str
    event_id: str
    event_type: str
    payload: dict[str, Any]


def claim_received(session: Session, limit: int) -> list[InboxRow]:
    """The oldest rows no flow has handled; two runs at once split them (SKIP LOCKED)."""
    ids = list(
        session.scalars(
            claim(
                session,
                select(InboxEvent.id)
                .where(InboxEvent.status == RECEIVED)
                .order_by(InboxEvent.id)
                .limit(limit),
            )
        )
    )
    if not ids:
        return []
    rows = session.execute(
        select(
            InboxEvent.id,
            InboxEvent.source,
            InboxEvent.event_id,
            InboxEvent.event_type,
            InboxEvent.payload,
        )
        .where(among(session, InboxEvent.id, ids))
        .order_by(InboxEvent.id)
    )
    return [InboxRow(*row) for row in rows]


def mark(
    session: Session,
    ids: Sequence[int],
    status: str,
    *,
    flow_run_id: str | None,
    error: str | None = None,
) -> None:
    if not ids:
        return
    if status not in STATUSES:
        raise ValueError(f"unknown inbox status {status!r}")
    session.execute(
        update(InboxEvent)
        .where(among(session, InboxEvent.id, ids))
        .values(
            status=status,
            flow_run_id=flow_run_id,
            error=error[:_ERROR_CHARS] if error else None,
            processed_at=utcnow(),
        ),
        execution_options={"synchronize_session": False},
    )


def received_count(session: Session) -> int:
    query = select(func.count()).select_from(InboxEvent).where(InboxEvent.status == RECEIVED)
    return session.scalar(query) or 0


@dataclass(frozen=True, slots=True)
class InboxView:
    id: int
    source: str
    event_id: str
    event_type: str
    status: str
    flow_run_id: str | None
    error: str | None
    received_at: datetime
    processed_at: datetime | None


def list_inbox(session: Session, *, status: str | None, limit: int) -> list[InboxView]:
    """Newest first; no payloads, so the list can be shown anywhere."""
    query = (
        select(
            InboxEvent.id,
            InboxEvent.source,
            InboxEvent.event_id,
            InboxEvent.event_type,
            InboxEvent.status,
            InboxEvent.flow_run_id,
            InboxEvent.error,
            InboxEvent.received_at,
            InboxEvent.processed_at,
        )
        .order_by(InboxEvent.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(InboxEvent.status == status)
    return [InboxView(*row) for row in session.execute(query)]
