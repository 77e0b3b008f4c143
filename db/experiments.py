"""Reward experiments: who was exposed to which arm, and each arm's outcome for the
report (referral.experiments does the statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from db.breakdowns import ACQUIRED
from db.models import Conversion, ExperimentExposure, Referral, RewardGrant
from db.statements import bulk_insert
from referral.experiments.incrementality import GroupOutcome
from referral.experiments.means import SampleSummary
from referral.experiments.results import ArmOutcome


def record_exposures(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """The first exposure stands: an advocate invited again stays in their arm."""
    bulk_insert(session, ExperimentExposure, rows, ignore_conflicts=True)


def arm_outcomes(
    session: Session, program_id: int, experiment: str
) -> tuple[list[ArmOutcome], GroupOutcome | None]:
    """Per arm: exposed advocates, those with a successful referral, the successful
    referrals, revenue per advocate (their referees' qualifying purchases) and reward cost;
    and the held-out group, when there is one, by the same measures."""
    per_advocate = _per_advocate(session, program_id, experiment)
    arms: dict[str | None, list[tuple[int, int, int]]] = {}
    for arm, _customer, acquisitions, revenue, cost in per_advocate:
        arms.setdefault(arm, []).append((acquisitions, revenue, cost))
    outcomes = [
        ArmOutcome(
            arm=arm,
            advocates=len(rows),
            converted=sum(1 for a, _, _ in rows if a),
            acquisitions=sum(a for a, _, _ in rows),
            revenue=_summary([r for _, r, _ in rows]),
            cost_minor=sum(c for _, _, c in rows),
        )
        for arm, rows in arms.items()
        if arm is not None
    ]
    held = arms.get(None)
    holdout = (
        GroupOutcome(
            customers=len(held),
            converted=sum(1 for a, _, _ in held if a),
            revenue=_summary([r for _, r, _ in held]),
        )
        if held
        else None
    )
    return sorted(outcomes, key=lambda o: o.arm), holdout


def _per_advocate(session: Session, program_id: int, experiment: str) -> list[tuple[Any, ...]]:
    purchase = aliased(Conversion)
    acquired = (
        select(
            Referral.referrer_id.label("customer_id"),
            func.count().label("acquisitions"),
            func.coalesce(func.sum(purchase.amount_minor), 0).label("revenue"),
        )
        .join(purchase, purchase.id == Referral.qualifying_conversion_id)
        .where(Referral.program_id == program_id, Referral.status.in_(ACQUIRED))
        .group_by(Referral.referrer_id)
        .subquery()
    )
    cost = (
        select(
            Referral.referrer_id.label("customer_id"),
            func.sum(
                case((RewardGrant.status == "issued", RewardGrant.amount_minor), else_=0)
            ).label("cost"),
        )
        .join(RewardGrant, RewardGrant.referral_id == Referral.id)
        .where(Referral.program_id == program_id)
        .group_by(Referral.referrer_id)
        .subquery()
    )
    rows = session.execute(
        select(
            ExperimentExposure.arm,
            ExperimentExposure.customer_id,
            func.coalesce(acquired.c.acquisitions, 0),
            func.coalesce(acquired.c.revenue, 0),
            func.coalesce(cost.c.cost, 0),
        )
        .outerjoin(acquired, acquired.c.customer_id == ExperimentExposure.customer_id)
        .outerjoin(cost, cost.c.customer_id == ExperimentExposure.customer_id)
        .where(
            ExperimentExposure.experiment == experiment,
            ExperimentExposure.program_id == program_id,
        )
    )
    # SUM over BIGINT is NUMERIC on PostgreSQL: back to int for exact statistics.
    return [
        (arm, customer, int(n), int(revenue), int(cost)) for arm, customer, n, revenue, cost in rows
    ]


def _summary(values: list[int]) -> SampleSummary:
    return SampleSummary(n=len(values), total=sum(values), total_squares=sum(v * v for v in values))
