"""distribute_rewards, a batch per task: grant, release holds, issue."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from db import campaigns
from db import rewards as q
from db.engine import engine_for, transaction
from db.outbox import recipients
from db.programs import Programs
from referral.campaigns import boosted, pick
from referral.delivery import choose_channel
from referral.experiments.assignment import ExperimentSpec, assign
from referral.programs import ProgramConfig, RewardType, Role
from referral.rewards import GrantPlan, issue_postings, plan_referral_grants
from tasks.base import collection_paused, database_task


@collection_paused
def grant_batch(session: Session, batch_size: int) -> dict[str, Any]:
    referrals = q.claim_qualified(session, batch_size)
    if not referrals:
        return {"referrals": 0, "grants": 0, "boosted": 0, "issued": 0, "by_type": {}}
    programs = Programs(session)
    counts = q.rewarded_counts(session, {(r.program_id, r.referrer_id) for r in referrals})
    boosts = _CampaignBoosts(session, referrals)
    plans: list[GrantPlan] = []
    configs: dict[int, ProgramConfig] = {}
    experiments: dict[int, ExperimentSpec | None] = {}
    for referral in referrals:
        if referral.program_version_id not in configs:
            loaded = programs.by_version_id(referral.program_version_id)
            configs[referral.program_version_id] = loaded.config
            trial = loaded.config.experiment
            experiments[referral.program_version_id] = trial.spec() if trial else None
        config = configs[referral.program_version_id]
        spec = experiments[referral.program_version_id]
        if spec is not None:
            # The referrer's arm decides the rewards of both sides of their referrals.
            config = config.for_arm(assign(spec, referral.referrer_id).arm)
        key = (referral.program_id, referral.referrer_id)
        counts[key] = counts.get(key, 0) + 1
        plans += [
            boosts.apply(plan, referral)
            for plan in plan_referral_grants(
                config,
                program_id=referral.program_id,
                referral_id=referral.id,
                referrer_id=referral.referrer_id,
                referee_id=referral.referee_id,
                nth_referral=counts[key],
                purchase_minor=referral.purchase_minor,
                purchased_at=referral.purchased_at,
            )
        ]
    # Grants that need neither a person nor a hold are issued as they are created: one
    # write each instead of an insert now and an update in an issue batch later.
    issued, coupons = q.insert_grants(session, plans, issue_ready=True)
    by_type = pay(session, issued, coupons)
    complete = _fully_issued(referrals, plans, issued)
    q.mark_referrals(session, [r.id for r in referrals if r.id not in complete], "approved")
    q.mark_referrals(session, sorted(complete), "rewarded")
    boosted = sum(1 for p in plans if p.campaign_id is not None)
    return {
        "referrals": len(referrals),
        "grants": len(plans),
        "boosted": boosted,
        "issued": len(issued),
        "by_type": by_type,
    }


def _fully_issued(
    referrals: list[q.QualifiedReferral], plans: list[GrantPlan], issued: list[q.ApprovedGrant]
) -> set[int]:
    """Referrals all of whose grants were issued just now: rewarded at once."""
    planned = Counter(p.referral_id for p in plans)
    paid = Counter(g.referral_id for g in issued)
    return {r.id for r in referrals if planned[r.id] == paid[r.id]}


class _CampaignBoosts:
    """Seasonal multipliers and bonuses for referrers whose qualifying purchase fell inside
    a campaign window and who belong to its audience."""

    def __init__(self, session: Session, referrals: list[q.QualifiedReferral]) -> None:
        since = min(r.purchased_at for r in referrals)
        self.windows = campaigns.windows(session, sorted({r.program_id for r in referrals}), since)
        referrers = {r.referrer_id for r in referrals}
        self.members = {
            w.id: campaigns.audience_members(session, w, referrers)
            for w in self.windows
            if w.audience
        }

    def apply(self, plan: GrantPlan, referral: q.QualifiedReferral) -> GrantPlan:
        if plan.role != Role.REFERRER or not self.windows:
            return plan
        eligible = [
            (w.id, w.starts_at, w.ends_at, w.multiplier_bp, w.bonus_minor)
            for w in self.windows
            if w.program_id == plan.program_id
            and (not w.audience or plan.beneficiary_id in self.members[w.id])
        ]
        chosen = pick(eligible, referral.purchased_at)
        if chosen is None:
            return plan
        campaign_id, multiplier_bp, bonus_minor = chosen
        amount = boosted(plan.amount_minor, multiplier_bp, bonus_minor)
        return replace(plan, amount_minor=amount, campaign_id=campaign_id)


@collection_paused
def issue_batch(session: Session, batch_size: int) -> dict[str, Any]:
    """Grants approved after their creation (a hold released, a person's approval)."""
    grants = q.claim_approved(session, batch_size)
    if not grants:
        return {"issued": 0, "by_type": {}}
    coupons = q.coupons_for(session, [g.id for g in grants if g.reward_type == RewardType.DISCOUNT])
    by_type = pay(session, grants, coupons)
    q.mark_issued(session, [g.id for g in grants], coupons)
    q.complete_rewarded_referrals(session, {g.referral_id for g in grants if g.referral_id})
    return {"issued": len(grants), "by_type": by_type}


def pay(session: Session, grants: list[q.ApprovedGrant], coupons: dict[int, str]) -> dict[str, int]:
    """The ledger postings, payout requests and notices of grants being issued; returns the
    amounts by reward type."""
    if not grants:
        return {}
    postings = []
    outbox: list[dict[str, Any]] = []
    by_type: dict[str, int] = defaultdict(int)
    reach = notification_channels(session, grants)
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
            "role": grant.role,
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
        channel = reach.get(grant.id)
        if channel is not None:  # nobody to tell without a channel they agreed to
            outbox.append(
                {
                    "idempotency_key": f"notify:grant:{grant.id}",
                    "kind": "notification",
                    "channel": channel,
                    "customer_id": grant.beneficiary_id,
                    "template": "reward_earned",
                    "payload": payload,
                }
            )
    # Keyed by grant ids that were pending, approved or unborn until this transaction: no
    # posting or message of theirs can exist yet.
    q.insert_postings(session, postings, first_write=True)
    q.insert_outbox(session, outbox, first_write=True)
    return dict(by_type)


def notification_channels(session: Session, grants: list[q.ApprovedGrant]) -> dict[int, str]:
    """Per grant, the channel its notification goes by: the beneficiary's preferred one when
    they agreed to it, else the first they agreed to in the program's order. Suppressions
    are checked when the message is sent, as for every message."""
    people = recipients(session, {g.beneficiary_id for g in grants})
    programs = Programs(session)
    orders = {
        program_id: programs.by_id(program_id).config.invitations.channels
        for program_id in {g.program_id for g in grants}
    }
    chosen = {}
    for grant in grants:
        channel = choose_channel(people[grant.beneficiary_id], orders[grant.program_id], ())
        if channel is not None:
            chosen[grant.id] = channel
    return chosen


@database_task("grant-rewards-batch")
def grant_rewards_batch(database_url: str, batch_size: int) -> dict[str, Any]:
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


@database_task("complete-rewarded-referrals")
def complete_rewarded(database_url: str) -> int:
    with transaction(engine_for(database_url)) as session:
        return q.complete_rewarded_referrals(session, None)
