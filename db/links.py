"""What a click on `/r/{code}` needs to know, in one indexed read."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from db.models import Conversion, Program, ReferralCode


@dataclass(frozen=True, slots=True)
class CodeTarget:
    code_id: int
    program_id: int
    program_slug: str
    owner_id: int
    live: bool


def code_target(session: Session, code: str) -> CodeTarget | None:
    row = session.execute(
        select(
            ReferralCode.id,
            ReferralCode.program_id,
            Program.slug,
            ReferralCode.customer_id,
            ReferralCode.revoked_at.is_(None),
        )
        .join(Program, Program.id == ReferralCode.program_id)
        .where(ReferralCode.code == code)
    ).first()
    return CodeTarget(*row) if row else None


def is_own_visitor(session: Session, customer_id: int, visitor_id: str) -> bool:
    """Has this visitor cookie been seen on one of the customer's own sign-ups or orders:
    then the click on their link is their own, not a friend's."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Conversion.customer_id == customer_id, Conversion.visitor_id == visitor_id
                )
            )
        )
    )
