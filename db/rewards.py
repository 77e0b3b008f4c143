"""Reward grants, the ledger and the outbox: every write keyed so a re-run writes nothing new.

A batch is one transaction: grant status, ledger postings and outbox rows commit together
or not at all, so a crash mid-batch leaves nothing half-paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from db.models import (
    Conversion,
    Customer,
    FraudSignal,
    LedgerEntry,
    OutboxMessage,
    Program,
    Referral,
    Review,
    RewardGrant,
)
from db.statements import among, bulk_insert, bulk_update, claim, take_turns
from db.types import utcnow
from referral.codes import new_codes
from referral.programs import RewardType
from referral.rewards import GrantPlan, LedgerPosting, clawback_postings, issue_postings

K = TypeVar("K")


def insert_fraud_signals(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    bulk_insert(session, FraudSignal, rows, ignore_conflicts=True)


# --- granting ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QualifiedReferral:
    id: int
    program_id: int
    program_version_id: int
    referrer_id: int
    referee_id: int
    purchase_minor: int
    purchased_at: datetime


def claim_qualified(session: Session, limit: int) -> list[QualifiedReferral]:
    """The oldest qualified referrals, locked. Batches take turns: a referral's tier counts
    the referrer's referrals rewarded before it, which a batch running beside it would not
    have committed yet."""
    take_turns(session, "grant-rewards")
    ids = list(
        session.scalars(
            claim(
                session,
                select(Referral.id)
                .where(Referral.status == "qualified")
                .order_by(Referral.id)
                .limit(limit),
            )
        )
    )
    if not ids:
        return []
    rows = session.execute(
        select(
            Referral.id,
            Referral.program_id,
            Referral.program_version_id,
            Referral.referrer_id,
            Referral.referee_id,
            Conversion.amount_minor,
            Conversion.occurred_at,
        )
        .join(Conversion, Conversion.id == Referral.qualifying_conversion_id)
        .where(among(session, Referral.id, ids))
        .order_by(Referral.id)
    )
    return [QualifiedReferral(*row) for row in rows]


def rewarded_counts(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(program, referrer) -> referrals already past qualification: the tier position."""
    if not keys:
        return {}
    rows = session.execute(
        select(Referral.program_id, Referral.referrer_id, func.count())
        .where(
            among(session, Referral.referrer_id, {r for _, r in keys}),
            Referral.status.in_(("approved", "rewarded")),
        )
        .group_by(Referral.program_id, Referral.referrer_id)
    )
    return {(p, r): n for p, r, n in rows if (p, r) in keys}


def insert_grants(
    session: Session, plans: Sequence[GrantPlan], *, issue_ready: bool = False
) -> tuple[list[ApprovedGrant], dict[int, str]]:
    """New grants, pending; or approved already when no person must approve them and their
    hold has passed (database clock), which saves release_holds a pass over them.

    With `issue_ready`, such grants are inserted issued instead, discounts with their coupon
    code: returned with the codes by grant id, for the caller to write their postings and
    notices in the same transaction. A grant that already exists is left as it is and not
    returned.
    """
    if not plans:
        return [], {}
    now = session.execute(select(utcnow())).scalar_one()
    ready = {p.idempotency_key for p in plans if not p.needs_approval and p.hold_until <= now}
    coupons: dict[str, str] = {}
    if issue_ready:
        discounts = [
            p.idempotency_key
            for p in plans
            if p.idempotency_key in ready and p.reward_type == RewardType.DISCOUNT
        ]
        coupons = coupons_for(session, discounts)
    ready_as = "issued" if issue_ready else "approved"
    rows = [
        {
            "idempotency_key": p.idempotency_key,
            "program_id": p.program_id,
            "referral_id": p.referral_id,
            "beneficiary_id": p.beneficiary_id,
            "role": p.role,
            "reward_type": p.reward_type,
            "amount_minor": p.amount_minor,
            "currency": p.currency,
            "description": p.description,
            "needs_approval": p.needs_approval,
            "campaign_id": p.campaign_id,
            "status": ready_as if p.idempotency_key in ready else "pending",
            "approved_at": now if p.idempotency_key in ready else None,
            "issued_at": now if issue_ready and p.idempotency_key in ready else None,
            "coupon_code": coupons.get(p.idempotency_key),
            "hold_until": p.hold_until,
        }
        for p in plans
    ]
    returned = bulk_insert(
        session, RewardGrant, rows, ignore_conflicts=True, returning=("idempotency_key", "id")
    )
    inserted: dict[str, int] = {key: grant_id for key, grant_id in returned}
    grants = [
        ApprovedGrant(
            id=inserted[p.idempotency_key],
            program_id=p.program_id,
            referral_id=p.referral_id,
            beneficiary_id=p.beneficiary_id,
            role=p.role,
            reward_type=p.reward_type,
            amount_minor=p.amount_minor,
            currency=p.currency,
            description=p.description,
        )
        for p in plans
        if issue_ready and p.idempotency_key in ready and p.idempotency_key in inserted
    ]
    return grants, {inserted[k]: code for k, code in coupons.items() if k in inserted}


def mark_referrals(session: Session, ids: Sequence[int], status: str) -> None:
    if ids:
        session.execute(
            update(Referral)
            .where(among(session, Referral.id, ids))
            .values(status=status, status_changed_at=utcnow()),
            execution_options={"synchronize_session": False},
        )


# --- approval and issue ---------------------------------------------------------------------


def release_holds(session: Session) -> int:
    """Grants whose refund window has closed (database clock) and need no manual approval."""
    result = session.execute(
        update(RewardGrant)
        .where(
            RewardGrant.status == "pending",
            RewardGrant.needs_approval.is_(False),
            RewardGrant.hold_until <= utcnow(),
        )
        .values(status="approved", approved_at=utcnow(), status_changed_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ApprovedGrant:
    id: int
    program_id: int
    referral_id: int | None
    beneficiary_id: int
    role: str
    reward_type: str
    amount_minor: int
    currency: str
    description: str | None


def claim_approved(session: Session, limit: int) -> list[ApprovedGrant]:
    ids = list(
        session.scalars(
            claim(
                session,
                select(RewardGrant.id)
                .where(RewardGrant.status == "approved")
                .order_by(RewardGrant.id)
                .limit(limit),
            )
        )
    )
    if not ids:
        return []
    rows = session.execute(
        select(
            RewardGrant.id,
            RewardGrant.program_id,
            RewardGrant.referral_id,
            RewardGrant.beneficiary_id,
            RewardGrant.role,
            RewardGrant.reward_type,
            RewardGrant.amount_minor,
            RewardGrant.currency,
            RewardGrant.description,
        )
        .where(among(session, RewardGrant.id, ids))
        .order_by(RewardGrant.id)
    )
    return [ApprovedGrant(*row) for row in rows]


def insert_postings(
    session: Session, postings: Sequence[LedgerPosting], *, first_write: bool = False
) -> None:
    """Postings that exist already are skipped (a second refund's clawback). `first_write`:
    the postings of grants this transaction issues, which no other transaction can have
    written; they go in without the conflict check (by plain COPY on PostgreSQL), and a
    duplicate, which would be a bug, fails the batch instead of being skipped."""
    bulk_insert(
        session,
        LedgerEntry,
        [
            {
                "transaction_id": p.transaction_id,
                "grant_id": p.grant_id,
                "customer_id": p.customer_id,
                "account": p.account,
                "kind": p.kind,
                "amount_minor": p.amount_minor,
                "currency": p.currency,
            }
            for p in postings
        ],
        ignore_conflicts=not first_write,
    )


def insert_outbox(
    session: Session, rows: Sequence[dict[str, Any]], *, first_write: bool = False
) -> None:
    """Messages whose idempotency key exists already are skipped; `first_write` as for
    insert_postings."""
    bulk_insert(session, OutboxMessage, rows, ignore_conflicts=not first_write)


def mark_issued(session: Session, grant_ids: Sequence[int], coupons: dict[int, str]) -> None:
    bulk_update(
        session,
        RewardGrant,
        [{"id": gid, "coupon_code": coupons.get(gid)} for gid in grant_ids],
        also={"status": "issued", "issued_at": utcnow(), "status_changed_at": utcnow()},
    )


def complete_rewarded_referrals(session: Session, referral_ids: set[int] | None) -> int:
    """A referral is rewarded once none of its grants is still waiting.

    With ids, only those referrals (the batch just issued); with None, every approved
    referral. Two runs issuing the two grants of one referral at the same moment each see
    the other's grant as still waiting, so each run ends with the full sweep. Two plain
    indexed reads and one keyed update: a correlated NOT EXISTS planned badly at scale.
    """
    if referral_ids is None:
        referral_ids = set(
            session.scalars(select(Referral.id).where(Referral.status == "approved"))
        )
    if not referral_ids:
        return 0
    ids = sorted(referral_ids)
    waiting = set(
        session.scalars(
            select(RewardGrant.referral_id)
            .where(
                among(session, RewardGrant.referral_id, ids),
                RewardGrant.status.in_(("pending", "approved", "needs_reconciliation")),
            )
            .distinct()
        )
    )
    done = [i for i in ids if i not in waiting]
    if not done:
        return 0
    result = session.execute(
        update(Referral)
        .where(among(session, Referral.id, done), Referral.status == "approved")
        .values(status="rewarded", status_changed_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def coupons_for(session: Session, keys: Sequence[K], length: int = 10) -> dict[K, str]:
    """A single-use coupon code for each key, checked against the ones already handed out."""
    count = len(keys)
    codes: list[str] = []
    while len(codes) < count:
        fresh = [f"RW-{c}" for c in new_codes(count - len(codes), length)]
        taken = set(
            session.scalars(
                select(RewardGrant.coupon_code).where(
                    among(session, RewardGrant.coupon_code, fresh)
                )
            )
        )
        codes += [c for c in fresh if c not in taken]
    return dict(zip(keys, codes, strict=True))


# --- voids and clawbacks --------------------------------------------------------------------


def void_referrals(session: Session, referral_ids: Sequence[int], *, reason: str) -> int:
    """Void referrals; waiting grants are rejected and issued ones clawed back, exactly."""
    ids = sorted(set(referral_ids))
    if not ids:
        return 0
    mark = update(Referral).where(Referral.id.in_(ids), Referral.status != "voided")
    session.execute(
        mark.values(status="voided", status_reason=reason, status_changed_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(RewardGrant)
        .where(RewardGrant.referral_id.in_(ids), RewardGrant.status.in_(("pending", "approved")))
        .values(status="rejected", status_changed_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    issued = (
        session.execute(
            select(RewardGrant.id).where(
                RewardGrant.referral_id.in_(ids), RewardGrant.status == "issued"
            )
        )
        .scalars()
        .all()
    )
    return clawback(session, list(issued))


def clawback(session: Session, grant_ids: Sequence[int]) -> int:
    if not grant_ids:
        return 0
    entries = (
        session.execute(
            select(LedgerEntry).where(
                LedgerEntry.grant_id.in_(list(grant_ids)), LedgerEntry.kind == "issue"
            )
        )
        .scalars()
        .all()
    )
    postings = clawback_postings(
        [
            LedgerPosting(
                e.transaction_id,
                e.grant_id,
                e.customer_id,
                e.account,
                e.kind,
                e.amount_minor,
                e.currency,
            )
            for e in entries
        ]
    )
    insert_postings(session, postings)
    session.execute(
        update(RewardGrant)
        .where(RewardGrant.id.in_(list(grant_ids)), RewardGrant.status == "issued")
        .values(status="clawed_back", status_changed_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return len(grant_ids)


__all__ = ["issue_postings"]


# --- people's decisions and questions ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantView:
    id: int
    program: str
    customer: str
    role: str
    reward_type: str
    amount_minor: int
    currency: str
    status: str
    needs_approval: bool
    hold_until: datetime | None
    created_at: datetime


def list_grants(session: Session, *, status: str | None, limit: int) -> list[GrantView]:
    query = (
        select(
            RewardGrant.id,
            Program.slug,
            Customer.external_id,
            RewardGrant.role,
            RewardGrant.reward_type,
            RewardGrant.amount_minor,
            RewardGrant.currency,
            RewardGrant.status,
            RewardGrant.needs_approval,
            RewardGrant.hold_until,
            RewardGrant.created_at,
        )
        .join(Program, Program.id == RewardGrant.program_id)
        .join(Customer, Customer.id == RewardGrant.beneficiary_id)
        .order_by(RewardGrant.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(RewardGrant.status == status)
    return [GrantView(*row) for row in session.execute(query)]


class GrantDecisionError(ValueError):
    pass


def decide_grants(
    session: Session, grant_ids: Sequence[int], *, approve: bool, who: str, reason: str
) -> list[int]:
    """Approve or reject waiting grants, recording who decided and why (append-only).

    Approval lifts the need for a person; the refund hold still runs its course, so an
    approved grant is issued once its hold ends. All ids must be waiting, or nothing changes.
    """
    ids = sorted(set(grant_ids))
    found = dict(
        session.execute(select(RewardGrant.id, RewardGrant.status).where(RewardGrant.id.in_(ids)))
        .tuples()
        .all()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise GrantDecisionError(f"no reward grant with id {missing[0]}")
    decided = [i for i in ids if found[i] != "pending"]
    if decided:
        raise GrantDecisionError(
            f"grant {decided[0]} is {found[decided[0]]}, not pending: only waiting grants "
            "can be approved or rejected"
        )
    if approve:
        session.execute(
            update(RewardGrant)
            .where(RewardGrant.id.in_(ids))
            .values(needs_approval=False, status_changed_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
    else:
        session.execute(
            update(RewardGrant)
            .where(RewardGrant.id.in_(ids))
            .values(status="rejected", status_changed_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
    session.execute(
        insert(Review),
        [
            {
                "grant_id": i,
                "decision": "approve" if approve else "reject",
                "decided_by": who,
                "reason": reason,
            }
            for i in ids
        ],
    )
    return ids


@dataclass(frozen=True, slots=True)
class Balance:
    account: str
    currency: str
    amount_minor: int


def balances(session: Session, customer_id: int) -> list[Balance]:
    rows = session.execute(
        select(LedgerEntry.account, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.customer_id == customer_id)
        .group_by(LedgerEntry.account, LedgerEntry.currency)
        .order_by(LedgerEntry.account)
    )
    return [Balance(account, currency, int(total or 0)) for account, currency, total in rows]
