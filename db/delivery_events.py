"""What providers report after sending: opens and clicks mark the invitation, hard bounces,
spam complaints and unsubscribes put the address on the suppression list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from db.models import Invitation, OutboxMessage, core_table
from db.statements import among
from db.suppressions import suppress
from referral.delivery import suppression_address


class DeliveryEvent(Protocol):
    """What a provider reported (integrations.mail.events.DeliveryEvent is one)."""

    @property
    def provider_message_id(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def permanent(self) -> bool: ...


# What makes an address unusable for good.
SUPPRESSING = {"spam_report": "spam_report", "unsubscribed": "unsubscribed"}


def apply_delivery_events(session: Session, events: Sequence[DeliveryEvent]) -> Counter[str]:
    """Counts of what was applied, by kind; events naming no message of ours still suppress
    the address they name."""
    applied: Counter[str] = Counter()
    outbox = _outbox_ids(session, events)
    opened: dict[int, datetime] = {}
    clicked: dict[int, datetime] = {}
    for event in events:
        outbox_id = outbox.get(event.provider_message_id or "")
        if event.kind in ("opened", "clicked") and outbox_id is not None:
            opened[outbox_id] = min(opened.get(outbox_id, event.occurred_at), event.occurred_at)
            if event.kind == "clicked":
                clicked[outbox_id] = min(
                    clicked.get(outbox_id, event.occurred_at), event.occurred_at
                )
            applied[event.kind] += 1
        reason = SUPPRESSING.get(event.kind)
        if event.kind == "bounced" and event.permanent:
            reason = "hard_bounce"
        if reason and event.address:
            suppress(session, "email", suppression_address("email", event.address), reason)
            applied[event.kind] += 1
    _first_time(session, "opened_at", opened)
    _first_time(session, "clicked_at", clicked)
    return applied


def _outbox_ids(session: Session, events: Sequence[DeliveryEvent]) -> dict[str, int]:
    ids = {e.provider_message_id for e in events if e.provider_message_id}
    if not ids:
        return {}
    rows = session.execute(
        select(OutboxMessage.provider_message_id, OutboxMessage.id).where(
            among(session, OutboxMessage.provider_message_id, ids)
        )
    )
    return {pmid: id_ for pmid, id_ in rows if pmid}


def _first_time(session: Session, column: str, times: dict[int, datetime]) -> None:
    """Keep the earliest: a second open does not move the first."""
    if not times:
        return
    table = core_table(Invitation)
    session.execute(
        update(table)
        .where(table.c.outbox_id == bindparam("b_outbox"))
        .values(
            {column: func.coalesce(table.c[column], bindparam("b_at", type_=table.c[column].type))}
        ),
        [{"b_outbox": outbox_id, "b_at": at} for outbox_id, at in times.items()],
        execution_options={"synchronize_session": False},
    )
