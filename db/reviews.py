"""The review queue: referrals the fraud checks held for a person to decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, aliased

from db.models import Customer, FraudSignal, Program, Referral, Review
from db.statements import among
from db.types import days_since, utcnow


@dataclass(frozen=True, slots=True)
class Backlog:
    open: int
    oldest_waiting_days: float | None


def backlog(session: Session) -> Backlog:
    """How many referrals wait for review and how long the oldest has waited, by the
    database clock."""
    count, oldest = session.execute(
        select(
            func.count(),
            func.max(days_since(Referral.status_changed_at)),
        ).where(Referral.status == "flagged")
    ).one()
    return Backlog(int(count), float(oldest) if oldest is not None else None)


@dataclass(frozen=True, slots=True)
class Waiting:
    referral_id: int
    program: str
    referrer: str  # CRM external ids: what people look up
    referee: str
    score: int
    reasons: tuple[str, ...]
    waiting_since: datetime


@dataclass(frozen=True, slots=True)
class SignalView:
    rule: str
    severity: str
    score: int
    reason_code: str
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DecisionView:
    decision: str
    decided_by: str
    reason: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewDetail:
    referral_id: int
    program: str
    status: str
    status_reason: str | None
    referrer: str
    referee: str
    referred_at: datetime
    signals: tuple[SignalView, ...]
    decisions: tuple[DecisionView, ...]


PAST = {"approve": "approved", "reject": "rejected", "reopen": "reopened"}


class ReviewError(ValueError):
    """A decision that cannot be taken; the message says why."""


# What a person may do, from which referral status, to which status. Approval sends a
# referral back into the pipeline where it stood: qualified when its purchase already
# counted, pending otherwise.
_FROM: dict[str, tuple[str, ...]] = {
    "approve": ("flagged",),
    "reject": ("flagged",),
    # An appeal: a rejected referral, or one a person let through, goes back to the queue,
    # as long as nothing was paid for it yet.
    "reopen": ("rejected", "pending", "qualified"),
}


def _referral_rows(session: Session) -> Any:
    referrer, referee = aliased(Customer), aliased(Customer)
    return (
        select(
            Referral.id,
            Program.slug,
            referrer.external_id,
            referee.external_id,
            Referral.status,
            Referral.status_reason,
            Referral.referred_at,
            Referral.status_changed_at,
        )
        .join(Program, Program.id == Referral.program_id)
        .join(referrer, referrer.id == Referral.referrer_id)
        .join(referee, referee.id == Referral.referee_id)
    )


def waiting(session: Session, limit: int) -> list[Waiting]:
    """The review queue, longest waiting first."""
    rows = session.execute(
        _referral_rows(session)
        .where(Referral.status == "flagged")
        .order_by(Referral.status_changed_at, Referral.id)
        .limit(limit)
    ).all()
    signals = _signals(session, [row[0] for row in rows])
    return [
        Waiting(
            referral_id=id_,
            program=program,
            referrer=referrer,
            referee=referee,
            score=sum(s.score for s in signals.get(id_, ())),
            reasons=tuple(s.reason_code for s in signals.get(id_, ())),
            waiting_since=changed_at,
        )
        for id_, program, referrer, referee, _status, _reason, _at, changed_at in rows
    ]


def detail(session: Session, referral_id: int) -> ReviewDetail | None:
    row = session.execute(_referral_rows(session).where(Referral.id == referral_id)).first()
    if row is None:
        return None
    id_, program, referrer, referee, status, reason, referred_at, _changed = row
    decisions = session.execute(
        select(Review.decision, Review.decided_by, Review.reason, Review.decided_at)
        .where(Review.referral_id == referral_id)
        .order_by(Review.decided_at, Review.id)
    )
    return ReviewDetail(
        referral_id=id_,
        program=program,
        status=status,
        status_reason=reason,
        referrer=referrer,
        referee=referee,
        referred_at=referred_at,
        signals=tuple(_signals(session, [id_]).get(id_, ())),
        decisions=tuple(DecisionView(*d) for d in decisions),
    )


def decide(session: Session, referral_id: int, decision: str, *, who: str, reason: str) -> str:
    """Approve, reject or reopen a referral, recording who, when (database clock) and why;
    returns its new status."""
    if decision not in _FROM:
        raise ReviewError(f"no decision {decision!r}; decisions: {', '.join(_FROM)}")
    row = session.execute(
        select(Referral.status, Referral.qualifying_conversion_id)
        .where(Referral.id == referral_id)
        .with_for_update()
    ).first()
    if row is None:
        raise ReviewError(f"no referral with id {referral_id}")
    status, qualifying = row
    if status not in _FROM[decision]:
        allowed = " or ".join(_FROM[decision])
        raise ReviewError(
            f"referral {referral_id} is {status}; only {allowed} can be {PAST[decision]}"
        )
    new = {
        "approve": "qualified" if qualifying is not None else "pending",
        "reject": "rejected",
        "reopen": "flagged",
    }[decision]
    session.execute(
        update(Referral)
        .where(Referral.id == referral_id)
        .values(status=new, status_reason=f"review: {decision}", status_changed_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        insert(Review).values(
            referral_id=referral_id, decision=decision, decided_by=who, reason=reason
        )
    )
    return new


def _signals(session: Session, referral_ids: list[int]) -> dict[int, list[SignalView]]:
    found: dict[int, list[SignalView]] = {}
    if not referral_ids:
        return found
    rows = session.execute(
        select(
            FraudSignal.referral_id,
            FraudSignal.rule,
            FraudSignal.severity,
            FraudSignal.score,
            FraudSignal.reason_code,
            FraudSignal.evidence,
        )
        .where(among(session, FraudSignal.referral_id, referral_ids))
        .order_by(FraudSignal.referral_id, FraudSignal.id)
    )
    for referral_id, rule, severity, score, code, evidence in rows:
        found.setdefault(referral_id, []).append(
            SignalView(rule, severity, score, code, evidence or {})
        )
    return found
