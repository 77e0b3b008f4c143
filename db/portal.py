"""What an advocate's own dashboard shows, read for one advocate: their code, clicks,
referrals, rewards and balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from db.breakdowns import ACQUIRED
from db.models import Advocate, Customer, Program, Referral, ReferralCode, RewardGrant, Touch
from db.rewards import Balance, balances


@dataclass(frozen=True, slots=True)
class RewardLine:
    reward_type: str
    role: str
    amount_minor: int
    currency: str
    status: str
    description: str | None
    created_at: datetime
    clears_at: datetime | None  # for rewards still waiting out the refund window


@dataclass(frozen=True, slots=True)
class AdvocateView:
    advocate_id: int
    customer_id: int
    program_id: int
    program_slug: str
    first_name: str | None  # for the greeting only
    code: str | None
    clicks: int
    signups: int
    successful: int
    rewards: tuple[RewardLine, ...]
    balances: tuple[Balance, ...]


def advocate_view(
    session: Session, customer_id: int, *, reward_limit: int = 50
) -> AdvocateView | None:
    """The customer as an advocate, in the program they joined last; None when they are
    no advocate."""
    row = session.execute(
        select(Advocate.id, Advocate.program_id, Program.slug, Customer.name)
        .join(Program, Program.id == Advocate.program_id)
        .join(Customer, Customer.id == Advocate.customer_id)
        .where(Advocate.customer_id == customer_id)
        .order_by(Advocate.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    advocate_id, program_id, slug, name = row
    code = session.scalar(
        select(ReferralCode.code)
        .where(ReferralCode.advocate_id == advocate_id, ReferralCode.revoked_at.is_(None))
        .order_by(ReferralCode.id)
        .limit(1)
    )
    clicks = session.scalar(
        select(func.count())
        .select_from(Touch)
        .join(ReferralCode, ReferralCode.id == Touch.code_id)
        .where(ReferralCode.advocate_id == advocate_id, Touch.kind == "click")
    )
    signups, successful = session.execute(
        select(
            func.count(case((Referral.status.not_in(("rejected", "voided")), 1))),
            func.count(case((Referral.status.in_(ACQUIRED), 1))),
        ).where(Referral.program_id == program_id, Referral.referrer_id == customer_id)
    ).one()
    rewards = session.execute(
        select(
            RewardGrant.reward_type,
            RewardGrant.role,
            RewardGrant.amount_minor,
            RewardGrant.currency,
            RewardGrant.status,
            RewardGrant.description,
            RewardGrant.created_at,
            RewardGrant.hold_until,
        )
        .where(RewardGrant.program_id == program_id, RewardGrant.beneficiary_id == customer_id)
        .order_by(RewardGrant.created_at.desc(), RewardGrant.id.desc())
        .limit(reward_limit)
    )
    return AdvocateView(
        advocate_id=advocate_id,
        customer_id=customer_id,
        program_id=program_id,
        program_slug=slug,
        first_name=(name or "").split(" ")[0] or None,
        code=code,
        clicks=int(clicks or 0),
        signups=int(signups),
        successful=int(successful),
        rewards=tuple(
            RewardLine(
                kind,
                role,
                amount,
                currency,
                status,
                description,
                created,
                hold if status in ("pending", "approved") else None,
            )
            for kind, role, amount, currency, status, description, created, hold in rewards
        ),
        balances=tuple(balances(session, customer_id)),
    )
