"""Addresses that must never be messaged on a channel: opt-outs, bounces, complaints."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from db.models import Suppression
from db.statements import insert_ignore


def suppress(session: Session, channel: str, address: str, reason: str) -> None:
    """Idempotent: a second STOP changes nothing, and the first reason is kept."""
    session.execute(
        insert_ignore(session, Suppression).values(
            channel=channel, address=address, reason=reason[:64]
        )
    )


def unsuppress(session: Session, channel: str, address: str) -> int:
    """The recipient opted back in (e.g. texted START)."""
    result = session.execute(
        delete(Suppression).where(Suppression.channel == channel, Suppression.address == address)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
