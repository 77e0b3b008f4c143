"""The report's figures for one program, as a few aggregate queries each: the funnel,
attributed revenue, reward cost, successful referrals per advocate and fraud counts. The
formulas on top of them (rates, ROI, leaderboards) are referral.analytics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from db.models import Conversion, Customer, Invitation, Referral, RewardGrant, Touch
from referral.analytics.cohorts import CustomerOrders, Order
from referral.analytics.funnel import FunnelCounts
from referral.analytics.leaderboards import AdvocateTally, Success
from referral.analytics.roi import RewardCostRow
from referral.analytics.timing import Conversion as TimedReferral
from referral.programs import RewardType

# A referral that paid off, or will once its hold ends.
ACQUIRED = ("qualified", "approved", "rewarded")


@dataclass(frozen=True, slots=True)
class FraudCounts:
    flagged: int  # waiting for a person now
    rejected: int


@dataclass(frozen=True, slots=True)
class ProgramFigures:
    funnel: FunnelCounts
    referrals: int
    acquired: int  # referred customers whose purchase qualified
    revenue_minor: int  # their purchases since the referral, less refunds, in `currency`
    costs: tuple[RewardCostRow, ...]
    successes: tuple[AdvocateTally, ...]
    fraud: FraudCounts
    channels: dict[str, int]  # link clicks by channel


def program_figures(
    session: Session, program_id: int, currency: str, since: datetime
) -> ProgramFigures:
    """Everything from `since` on (referrals by when they were made, money by when it
    moved)."""
    invited = session.execute(
        select(
            func.count(),
            func.count(Invitation.opened_at),
            func.count(Invitation.clicked_at),
        ).where(Invitation.program_id == program_id, Invitation.created_at >= since)
    ).one()
    clicks: dict[str, int] = {}
    for channel, n in session.execute(
        select(Touch.channel, func.count())
        .where(Touch.program_id == program_id, Touch.kind == "click", Touch.occurred_at >= since)
        .group_by(Touch.channel)
    ):
        clicks[channel or "unknown"] = clicks.get(channel or "unknown", 0) + n
    made = and_(Referral.program_id == program_id, Referral.referred_at >= since)
    referrals, acquired, flagged, rejected = session.execute(
        select(
            func.count(),
            func.count(case((Referral.status.in_(ACQUIRED), 1))),
            func.count(case((Referral.status == "flagged", 1))),
            func.count(case((Referral.status == "rejected", 1))),
        ).where(made)
    ).one()
    return ProgramFigures(
        funnel=FunnelCounts(
            invitations_sent=invited[0],
            invitations_opened=invited[1],
            invitations_clicked=invited[2],
            link_clicks=sum(clicks.values()),
            signups=referrals,
            purchases=acquired,
        ),
        referrals=referrals,
        acquired=acquired,
        revenue_minor=int(session.scalar(referred_revenue(program_id, currency, since)) or 0),
        costs=_costs(session, program_id, since),
        successes=successes(session, program_id, since),
        fraud=FraudCounts(flagged=flagged, rejected=rejected),
        channels=clicks,
    )


def referred_revenue(program_id: int, currency: str, since: datetime) -> Select[tuple[int]]:
    """Purchases by referees at or after their referral, less their refunds; only referrals
    that were not voided, rejected or flagged, in the program's currency. A query, so the
    breakdowns can group it by channel or campaign."""
    signed = case(
        (Conversion.kind == "refund", -Conversion.amount_minor), else_=Conversion.amount_minor
    )
    return (
        select(func.coalesce(func.sum(signed), 0))
        .select_from(Conversion)
        .join(Referral, Referral.referee_id == Conversion.customer_id)
        .where(
            Referral.program_id == program_id,
            Referral.status.in_(ACQUIRED),
            Conversion.kind.in_(("purchase", "refund")),
            Conversion.currency == currency,
            Conversion.occurred_at >= Referral.referred_at,
            Conversion.occurred_at >= since,
        )
    )


def issued_rewards(program_id: int, since: datetime) -> ColumnElement[bool]:
    """Rewards that cost something: issued ones. A clawed-back reward is worth nothing (the
    reversal)."""
    return and_(
        RewardGrant.program_id == program_id,
        RewardGrant.status == "issued",
        RewardGrant.created_at >= since,
    )


REWARD_COST = (RewardGrant.reward_type, RewardGrant.currency, func.sum(RewardGrant.amount_minor))


def _costs(session: Session, program_id: int, since: datetime) -> tuple[RewardCostRow, ...]:
    rows = session.execute(
        select(*REWARD_COST)
        .where(issued_rewards(program_id, since))
        .group_by(RewardGrant.reward_type, RewardGrant.currency)
    )
    return tuple(RewardCostRow(RewardType(kind), cur, int(total)) for kind, cur, total in rows)


def successes(session: Session, program_id: int, since: datetime) -> tuple[AdvocateTally, ...]:
    """Per advocate: successful referrals and when the last of them counted (its qualifying
    purchase), the leaderboard's tie-break."""
    purchase = aliased(Conversion)
    rows = session.execute(
        select(Referral.referrer_id, func.count(), func.max(purchase.occurred_at))
        .join(purchase, purchase.id == Referral.qualifying_conversion_id)
        .where(
            Referral.program_id == program_id,
            Referral.status.in_(ACQUIRED),
            purchase.occurred_at >= since,
        )
        .group_by(Referral.referrer_id)
    )
    return tuple(AdvocateTally(advocate, int(n), at) for advocate, n, at in rows)


def external_ids(session: Session, customer_ids: list[int]) -> dict[int, str]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.external_id).where(Customer.id.in_(customer_ids))
    )
    return dict(rows.tuples().all())


def activity_times(
    session: Session, program_id: int, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """When referrals were made, and when referred customers' purchases qualified, from
    `since`: the trend's raw points (bucketed by referral.analytics.trends)."""
    made = list(
        session.scalars(
            select(Referral.referred_at).where(
                Referral.program_id == program_id, Referral.referred_at >= since
            )
        )
    )
    purchase = aliased(Conversion)
    acquired = list(
        session.scalars(
            select(purchase.occurred_at)
            .join(Referral, Referral.qualifying_conversion_id == purchase.id)
            .where(
                Referral.program_id == program_id,
                Referral.status.in_(ACQUIRED),
                purchase.occurred_at >= since,
            )
        )
    )
    return made, acquired


def customer_orders(
    session: Session, program_id: int, currency: str, since: datetime
) -> list[CustomerOrders]:
    """Customers whose first purchase (in `currency`) came at or after `since`, with all
    their purchases and refunds (refunds negative), flagged when this program referred
    them: the rows of the referred-versus-other cohorts."""
    first = (
        select(Conversion.customer_id, func.min(Conversion.occurred_at).label("first_at"))
        .where(Conversion.kind == "purchase", Conversion.currency == currency)
        .group_by(Conversion.customer_id)
        .having(func.min(Conversion.occurred_at) >= since)
        .subquery()
    )
    rows = session.execute(
        select(
            Conversion.customer_id,
            first.c.first_at,
            Conversion.occurred_at,
            case(
                (Conversion.kind == "refund", -Conversion.amount_minor),
                else_=Conversion.amount_minor,
            ),
        )
        .join(first, first.c.customer_id == Conversion.customer_id)
        .where(Conversion.kind.in_(("purchase", "refund")), Conversion.currency == currency)
    )
    referred = set(
        session.scalars(
            select(Referral.referee_id).where(
                Referral.program_id == program_id, Referral.status.in_(ACQUIRED)
            )
        )
    )
    orders: dict[int, tuple[datetime, list[Order]]] = {}
    for customer_id, first_at, at, amount in rows:
        orders.setdefault(customer_id, (first_at, []))[1].append(Order(at, int(amount)))
    return [
        CustomerOrders(customer_id, customer_id in referred, first_at, found)
        for customer_id, (first_at, found) in orders.items()
    ]


def conversion_delays(session: Session, program_id: int, since: datetime) -> list[TimedReferral]:
    """Referral to qualifying purchase, for the referrals acquired since `since`."""
    purchase = aliased(Conversion)
    rows = session.execute(
        select(Referral.referred_at, purchase.occurred_at)
        .join(purchase, purchase.id == Referral.qualifying_conversion_id)
        .where(
            Referral.program_id == program_id,
            Referral.status.in_(ACQUIRED),
            purchase.occurred_at >= since,
            purchase.occurred_at >= Referral.referred_at,
        )
    )
    return [TimedReferral(made, bought) for made, bought in rows]


def success_events(session: Session, program_id: int, since: datetime) -> list[Success]:
    """Each successful referral as (advocate, when its purchase qualified): the monthly
    leaderboards' rows."""
    purchase = aliased(Conversion)
    rows = session.execute(
        select(Referral.referrer_id, purchase.occurred_at)
        .join(purchase, purchase.id == Referral.qualifying_conversion_id)
        .where(
            Referral.program_id == program_id,
            Referral.status.in_(ACQUIRED),
            purchase.occurred_at >= since,
        )
    )
    return [Success(advocate, at) for advocate, at in rows]
