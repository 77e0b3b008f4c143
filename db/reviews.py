"""The review queue: referrals the fraud checks held for a person to decide."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Referral
from db.types import days_since


@dataclass(frozen=True, slots=True)
class Backlog:
    open: int
    oldest_waiting_days: float | None


def backlog(session: Session) -> Backlog:
    """How many referrals wait for review and how long the oldest has waited, by the
    database clock."""
    count, oldest = session.execute(
        select(
            func.count(),
            func.max(days_since(Referral.status_changed_at)),
        ).where(Referral.status == "flagged")
    ).one()
    return Backlog(int(count), float(oldest) if oldest is not None else None)
