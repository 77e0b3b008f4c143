"""milestone_rewards, a batch of advocates per task: bonuses paid once, tiers upgraded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import milestones as q
from db.engine import engine_for, transaction
from db.outbox import recipients
from db.programs import Programs
from db.rewards import insert_grants, insert_outbox
from db.types import utcnow
from referral.delivery import choose_channel
from referral.milestones import milestone_key, tier_for, unpaid
from referral.rewards import GrantPlan, plan_milestone_grant
from tasks.base import database_task


def milestone_batch(
    session: Session, program_slug: str, *, after_customer: int, batch_size: int
) -> dict[str, Any]:
    program = Programs(session).get(program_slug)
    config = program.config
    if not config.milestones:
        return {"advocates": 0, "grants": 0, "tier_upgrades": 0, "cursor": None}
    rows = q.successful_counts(
        session,
        program.id,
        at_least=config.milestones[0].referrals,
        after_customer=after_customer,
        limit=batch_size,
    )
    if not rows:
        return {"advocates": 0, "grants": 0, "tier_upgrades": 0, "cursor": None}
    now = session.scalar(select(utcnow()))
    assert now is not None
    customers = [customer for customer, _ in rows]
    people = recipients(session, customers)
    paid = q.paid_milestones(session, program.id, customers)
    current_tiers = q.tiers(session, program.id, customers)
    plans: list[GrantPlan] = []
    upgrades: dict[int, str] = {}
    notices: list[dict[str, Any]] = []
    for customer, count in rows:
        for milestone in unpaid(config, count, paid[customer]):
            key = milestone_key(program.id, customer, milestone.referrals)
            plan = plan_milestone_grant(
                config, program_id=program.id, customer_id=customer, milestone=milestone, at=now
            )
            if plan is not None:
                plans.append(plan)
            channel = choose_channel(people[customer], config.invitations.channels, ())
            if channel is None:  # nobody to tell without a channel they agreed to
                continue
            notices.append(
                {
                    "idempotency_key": f"notify:{key}",
                    "kind": "notification",
                    "channel": channel,
                    "customer_id": customer,
                    "template": "milestone_reached",
                    "payload": {
                        "program": program.slug,
                        "milestone": milestone.name,
                        "referrals": milestone.referrals,
                        "tier": milestone.tier_upgrade,
                    },
                }
            )
        tier = tier_for(config, count)
        if tier and tier != current_tiers.get(customer):
            upgrades[customer] = tier
    insert_grants(session, plans)
    insert_outbox(session, notices)
    q.set_tiers(session, program.id, upgrades)
    return {
        "advocates": len(rows),
        "grants": len(plans),
        "tier_upgrades": len(upgrades),
        "cursor": customers[-1],
    }


@database_task("milestone-rewards-batch")
def milestone_rewards_batch(
    database_url: str, program_slug: str, after_customer: int, batch_size: int
) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return milestone_batch(
            session, program_slug, after_customer=after_customer, batch_size=batch_size
        )
