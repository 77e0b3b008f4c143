"""Reward rules: what each referral earns, and the ledger postings that pay it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from referral.milestones import milestone_key
from referral.programs import Approval, Milestone, ProgramConfig, RewardType, Role

# Credits, points and discounts are liabilities we hold for the customer; cash and products
# are owed until a payout connector confirms them.
_PAYABLE = {RewardType.CASH, RewardType.PRODUCT}


@dataclass(frozen=True, slots=True)
class GrantPlan:
    idempotency_key: str
    program_id: int
    referral_id: int | None
    beneficiary_id: int
    role: str
    reward_type: str
    amount_minor: int
    currency: str
    description: str
    needs_approval: bool
    hold_until: datetime
    campaign_id: int | None = None


def grant_key(referral_id: int, role: Role | str) -> str:
    """The business identity of a referral reward: one per referral and role, for good."""
    return f"referral:{referral_id}:{Role(role).value}"


def plan_referral_grants(
    config: ProgramConfig,
    *,
    program_id: int,
    referral_id: int,
    referrer_id: int,
    referee_id: int,
    nth_referral: int,
    purchase_minor: int,
    purchased_at: datetime,
) -> list[GrantPlan]:
    beneficiaries = {Role.REFERRER: referrer_id, Role.REFEREE: referee_id}
    plans = []
    for role, spec in config.rewards_for(nth_referral).items():
        amount = spec.value_minor(config.currency, purchase_minor)
        if amount <= 0:
            continue
        plans.append(
            GrantPlan(
                idempotency_key=grant_key(referral_id, role),
                program_id=program_id,
                referral_id=referral_id,
                beneficiary_id=beneficiaries[role],
                role=role.value,
                reward_type=spec.type.value,
                amount_minor=amount,
                currency=spec.resolved_currency(config.currency),
                description=spec.description or f"{spec.type.value} reward",
                needs_approval=config.approval is Approval.MANUAL,
                hold_until=purchased_at + timedelta(days=config.hold_days),
            )
        )
    return plans


@dataclass(frozen=True, slots=True)
class LedgerPosting:
    transaction_id: str
    grant_id: int | None
    customer_id: int | None
    account: str
    kind: str
    amount_minor: int
    currency: str


def issue_postings(
    *,
    grant_id: int,
    program_id: int,
    beneficiary_id: int,
    reward_type: str,
    amount_minor: int,
    currency: str,
) -> list[LedgerPosting]:
    """Two postings that sum to zero: the program's expense and what the customer holds."""
    kind = RewardType(reward_type)
    customer_account = f"customer:{beneficiary_id}:{'payable' if kind in _PAYABLE else kind.value}"
    transaction = f"grant:{grant_id}:issue"
    return [
        LedgerPosting(
            transaction,
            grant_id,
            None,
            f"program:{program_id}:expense",
            "issue",
            -amount_minor,
            currency,
        ),
        LedgerPosting(
            transaction, grant_id, beneficiary_id, customer_account, "issue", amount_minor, currency
        ),
    ]


def clawback_postings(issued: Sequence[LedgerPosting]) -> list[LedgerPosting]:
    """The exact reverse of what was issued: never more, never less."""
    return [
        replace(
            p,
            transaction_id=p.transaction_id.replace(":issue", ":clawback"),
            kind="clawback",
            amount_minor=-p.amount_minor,
        )
        for p in issued
    ]


def plan_milestone_grant(
    config: ProgramConfig,
    *,
    program_id: int,
    customer_id: int,
    milestone: Milestone,
    at: datetime,
) -> GrantPlan | None:
    """A milestone bonus follows referrals that were already validated: no further hold."""
    spec = milestone.reward
    if spec is None:
        return None
    return GrantPlan(
        idempotency_key=milestone_key(program_id, customer_id, milestone.referrals),
        program_id=program_id,
        referral_id=None,
        beneficiary_id=customer_id,
        role="milestone",
        reward_type=spec.type.value,
        amount_minor=spec.value_minor(config.currency),
        currency=spec.resolved_currency(config.currency),
        description=spec.description or milestone.name,
        needs_approval=config.approval is Approval.MANUAL,
        hold_until=at,
    )
