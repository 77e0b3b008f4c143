"""Campaigns: stored from their files, launched and closed on the database clock, and the
windows the reward step boosts rewards in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Campaign, Customer
from db.programs import Programs
from db.segments import to_sql
from db.types import utcnow
from referral.campaigns import CampaignConfig
from referral.segments import Condition


@dataclass(frozen=True, slots=True)
class CampaignWindow:
    id: int
    program_id: int
    starts_at: datetime
    ends_at: datetime
    multiplier_bp: int
    bonus_minor: int
    audience: list[dict[str, Any]]


def apply_campaign(session: Session, config: CampaignConfig) -> tuple[int, str]:
    """Create or update by slug; a campaign that has already ended is not changed."""
    program = Programs(session).get(config.program)
    values = {
        "program_id": program.id,
        "name": config.name,
        "starts_at": config.starts_at,
        "ends_at": config.ends_at,
        "audience": {"conditions": [c.model_dump(mode="json") for c in config.audience]},
        "multiplier_bp": config.multiplier_bp,
        "bonus_minor": config.bonus_minor(program.config.currency),
    }
    existing = session.scalar(select(Campaign).where(Campaign.slug == config.slug))
    if existing is None:
        session.add(Campaign(slug=config.slug, status="scheduled", **values))
        session.flush()
        return session.scalar(select(Campaign.id).where(Campaign.slug == config.slug)) or 0, (
            "created"
        )
    if existing.status == "closed":
        raise ValueError(f"campaign {config.slug!r} has ended and can no longer be changed")
    for name, value in values.items():
        setattr(existing, name, value)
    return existing.id, "updated"


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.starts_at, Campaign.slug)))


def launch_due(session: Session) -> list[int]:
    """Scheduled campaigns whose start has come: now active (their invitations go out)."""
    ids = list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.status == "scheduled",
                Campaign.starts_at <= utcnow(),
                Campaign.ends_at > utcnow(),
            )
        )
    )
    if ids:
        session.execute(
            update(Campaign).where(Campaign.id.in_(ids)).values(status="active"),
            execution_options={"synchronize_session": False},
        )
    return ids


def close_due(session: Session) -> list[int]:
    ids = list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.status.in_(("scheduled", "active")), Campaign.ends_at <= utcnow()
            )
        )
    )
    if ids:
        session.execute(
            update(Campaign).where(Campaign.id.in_(ids)).values(status="closed"),
            execution_options={"synchronize_session": False},
        )
    return ids


def windows(session: Session, program_ids: Sequence[int], since: datetime) -> list[CampaignWindow]:
    """Every campaign of these programs that ended after `since`, whatever its status:
    a purchase inside the window is boosted even if the reward is granted after it closed."""
    if not program_ids:
        return []
    rows = session.scalars(
        select(Campaign).where(Campaign.program_id.in_(list(program_ids)), Campaign.ends_at > since)
    )
    return [
        CampaignWindow(
            c.id,
            c.program_id,
            c.starts_at,
            c.ends_at,
            c.multiplier_bp,
            c.bonus_minor,
            list((c.audience or {}).get("conditions", [])),
        )
        for c in rows
    ]


def audience_members(session: Session, window: CampaignWindow, customer_ids: set[int]) -> set[int]:
    """Which of these customers the campaign's audience filter selects, in one query."""
    conditions = [Condition.model_validate(c) for c in window.audience]
    return set(
        session.scalars(
            select(Customer.id).where(Customer.id.in_(sorted(customer_ids)), to_sql(conditions))
        )
    )
