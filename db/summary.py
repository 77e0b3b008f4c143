"""Counts for run summaries: what the engine holds and what it has paid."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from db.models import (
    Advocate,
    Conversion,
    Customer,
    OutboxMessage,
    Referral,
    ReferralCode,
    RewardGrant,
    Touch,
)


def engine_summary(session: Session, program_id: int | None = None) -> dict[str, Any]:
    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def in_program(column: Any) -> ColumnElement[bool]:
        return column == program_id if program_id else true()

    referrals: dict[str, int] = {
        status: n
        for status, n in session.execute(
            select(Referral.status, func.count())
            .where(in_program(Referral.program_id))
            .group_by(Referral.status)
        )
    }
    conversions: dict[str, int] = {
        kind: n
        for kind, n in session.execute(
            select(Conversion.kind, func.count()).group_by(Conversion.kind)
        )
    }
    grants = [
        {"reward_type": t, "status": s, "currency": c, "count": n, "amount_minor": int(a or 0)}
        for t, s, c, n, a in session.execute(
            select(
                RewardGrant.reward_type,
                RewardGrant.status,
                RewardGrant.currency,
                func.count(),
                func.sum(RewardGrant.amount_minor),
            )
            .where(in_program(RewardGrant.program_id))
            .group_by(RewardGrant.reward_type, RewardGrant.status, RewardGrant.currency)
            .order_by(RewardGrant.reward_type, RewardGrant.status)
        )
    ]
    return {
        "customers": count(Customer),
        "advocates": count(Advocate, in_program(Advocate.program_id)),
        "codes": count(
            ReferralCode, ReferralCode.revoked_at.is_(None), in_program(ReferralCode.program_id)
        ),
        "clicks": count(Touch, Touch.kind == "click", in_program(Touch.program_id)),
        "conversions": conversions,
        "referrals": referrals,
        "grants": grants,
        "outbox_pending": count(OutboxMessage, OutboxMessage.status == "pending"),
    }
