"""Milestone reads and writes: who has passed a milestone, and what was already paid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from db.models import Advocate, Referral, RewardGrant, core_table

SUCCESSFUL = ("approved", "rewarded")


def successful_counts(
    session: Session, program_id: int, *, at_least: int, after_customer: int, limit: int
) -> list[tuple[int, int]]:
    """(referrer id, successful referrals) for referrers at or past the first milestone,
    in referrer order after a cursor, so batches walk the program without overlap."""
    count = func.count().label("n")
    rows = session.execute(
        select(Referral.referrer_id, count)
        .where(
            Referral.program_id == program_id,
            Referral.status.in_(SUCCESSFUL),
            Referral.referrer_id > after_customer,
        )
        .group_by(Referral.referrer_id)
        .having(count >= at_least)
        .order_by(Referral.referrer_id)
        .limit(limit)
    )
    return [(referrer, n) for referrer, n in rows]


def paid_milestones(
    session: Session, program_id: int, customer_ids: Sequence[int]
) -> dict[int, set[int]]:
    """customer -> referral counts whose milestone grant exists (whatever its status)."""
    paid: dict[int, set[int]] = defaultdict(set)
    if not customer_ids:
        return paid
    keys = session.execute(
        select(RewardGrant.beneficiary_id, RewardGrant.idempotency_key).where(
            RewardGrant.program_id == program_id,
            RewardGrant.role == "milestone",
            RewardGrant.beneficiary_id.in_(list(customer_ids)),
        )
    )
    for customer, key in keys:
        paid[customer].add(int(key.rsplit(":", 1)[1]))
    return paid


def tiers(session: Session, program_id: int, customer_ids: Sequence[int]) -> dict[int, str | None]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Advocate.customer_id, Advocate.tier).where(
            Advocate.program_id == program_id, Advocate.customer_id.in_(list(customer_ids))
        )
    )
    return {customer: tier for customer, tier in rows}


def set_tiers(session: Session, program_id: int, changes: dict[int, str]) -> None:
    if not changes:
        return
    table = core_table(Advocate)
    session.execute(
        update(table)
        .where(table.c.program_id == program_id, table.c.customer_id == bindparam("b_customer"))
        .values(tier=bindparam("b_tier")),
        [{"b_customer": c, "b_tier": t} for c, t in changes.items()],
        execution_options={"synchronize_session": False},
    )
