"""distribute_rewards, a batch per task: grant, release holds, issue."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from db import rewards as q
from db.engine import engine_for, transaction
from db.programs import Programs
from referral.programs import RewardType
from referral.rewards import GrantPlan, issue_postings, plan_referral_grants
from tasks.base import database_task


def grant_batch(session: Session, batch_size: int) -> dict[str, int]:
    referrals = q.claim_qualified(session, batch_size)
    if not referrals:
        return {"referrals": 0, "grants": 0}
    programs = Programs(session)
    counts = q.rewarded_counts(session, {(r.program_id, r.referrer_id) for r in referrals})
    plans: list[GrantPlan] = []
    for referral in referrals:
        config = programs.by_version_id(referral.program_version_id).config
        key = (referral.program_id, referral.referrer_id)
        counts[key] = counts.get(key, 0) + 1
        plans += plan_referral_grants(
            config,
            program_id=referral.program_id,
            referral_id=referral.id,
            referrer_id=referral.referrer_id,
            referee_id=referral.referee_id,
            nth_referral=counts[key],
            purchase_minor=referral.purchase_minor,
            purchased_at=referral.purchased_at,
        )
    q.insert_grants(session, plans)
    q.mark_referrals(session, [r.id for r in referrals], "approved")
    return {"referrals": len(referrals), "grants": len(plans)}


def issue_batch(session: Session, batch_size: int) -> dict[str, Any]:
    grants = q.claim_approved(session, batch_size)
    if not grants:
        return {"issued": 0, "by_type": {}}
    discounts = [g for g in grants if g.reward_type == RewardType.DISCOUNT]
    coupons = dict(
        zip([g.id for g in discounts], q.unique_coupons(session, len(discounts)), strict=True)
    )
    postings = []
    outbox: list[dict[str, Any]] = []
    by_type: dict[str, int] = defaultdict(int)
    for grant in grants:
        postings += issue_postings(
            grant_id=grant.id,
            program_id=grant.program_id,
            beneficiary_id=grant.beneficiary_id,
            reward_type=grant.reward_type,
            amount_minor=grant.amount_minor,
            currency=grant.currency,
        )
        by_type[grant.reward_type] += grant.amount_minor
        payload = {
            "grant_id": grant.id,
            "reward_type": grant.reward_type,
            "amount_minor": grant.amount_minor,
            "currency": grant.currency,
            "description": grant.description,
            "coupon_code": coupons.get(grant.id),
        }
        if grant.reward_type in (RewardType.CASH, RewardType.PRODUCT):
            outbox.append(
                {
                    "idempotency_key": f"payout:grant:{grant.id}",
                    "kind": "payout",
                    "channel": "payout",
                    "customer_id": grant.beneficiary_id,
                    "template": None,
                    "payload": payload,
                }
            )
        outbox.append(
            {
                "idempotency_key": f"notify:grant:{grant.id}",
                "kind": "notification",
                "channel": grant.preferred_channel or "email",
                "customer_id": grant.beneficiary_id,
                "template": "reward_earned",
                "payload": payload,
            }
        )
    q.insert_postings(session, postings)
    q.insert_outbox(session, outbox)
    q.mark_issued(session, [g.id for g in grants], coupons)
    q.complete_rewarded_referrals(session, {g.referral_id for g in grants if g.referral_id})
    return {"issued": len(grants), "by_type": dict(by_type)}


@database_task("grant-rewards-batch")
def grant_rewards_batch(database_url: str, batch_size: int) -> dict[str, int]:
    with transaction(engine_for(database_url)) as session:
        return grant_batch(session, batch_size)


@database_task("release-holds")
def release_holds(database_url: str) -> int:
    with transaction(engine_for(database_url)) as session:
        return q.release_holds(session)


@database_task("issue-rewards-batch")
def issue_rewards_batch(database_url: str, batch_size: int) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return issue_batch(session, batch_size)
