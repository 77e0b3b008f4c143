"""The report's figures for one program, as a few aggregate queries each: the funnel,
attributed revenue, reward cost, successful referrals per advocate and fraud counts. The
formulas on top of them (rates, ROI, leaderboards) are referral.analytics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, aliased

from db.breakdowns import ACQUIRED, REWARD_COST, Segment, by_channel, issued_rewards
from db.models import Conversion, Customer, Referral, RewardGrant
from referral.analytics.cohorts import CustomerOrders, Order
from referral.analytics.funnel import FunnelCounts
from referral.analytics.leaderboards import AdvocateTally, Success
from referral.analytics.roi import RewardCostRow
from referral.analytics.timing import Conversion as TimedReferral
from referral.programs import RewardType


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
    by_channel: tuple[Segment, ...]


def program_figures(
    session: Session, program_id: int, currency: str, since: datetime
) -> ProgramFigures:
    """Everything from `since` on (referrals by when they were made, money by when it
    moved). The funnel, referrals and revenue are the sums of the channels' figures, which
    count every invitation, click and referral once."""
    channels = tuple(by_channel(session, program_id, currency, since))
    flagged, rejected = session.execute(
        select(
            func.count(case((Referral.status == "flagged", 1))),
            func.count(case((Referral.status == "rejected", 1))),
        ).where(Referral.program_id == program_id, Referral.referred_at >= since)
    ).one()
    referrals = sum(s.signups for s in channels)
    acquired = sum(s.purchases for s in channels)
    return ProgramFigures(
        funnel=FunnelCounts(
            invitations_sent=sum(s.invitations[0] for s in channels),
            invitations_opened=sum(s.invitations[1] for s in channels),
            invitations_clicked=sum(s.invitations[2] for s in channels),
            link_clicks=sum(s.link_clicks for s in channels),
            signups=referrals,
            purchases=acquired,
        ),
        referrals=referrals,
        acquired=acquired,
        revenue_minor=sum(s.revenue_minor for s in channels),
        costs=_costs(session, program_id, since),
        successes=successes(session, program_id, since),
        fraud=FraudCounts(flagged=flagged, rejected=rejected),
        channels={s.name: s.link_clicks for s in channels if s.link_clicks},
        by_channel=channels,
    )


def _costs(session: Session, program_id: int, since: datetime) -> tuple[RewardCostRow, ...]:
    rows = session.execute(
        select(*REWARD_COST)
        .where(issued_rewards(program_id, since))
        .group_by(RewardGrant.reward_type, RewardGrant.currency)
    )
    return tuple(RewardCostRow(RewardType(kind), cur, int(total)) for kind, cur, total in rows)


# A referral's qualifying purchase, for the queries on referrals that paid off.
PURCHASE = aliased(Conversion, name="qualifying_purchase")


def _paid_off(program_id: int, since: datetime, *columns: Any) -> Select[Any]:
    """`columns` of the program's referrals that paid off, joined to their qualifying
    purchase (`PURCHASE`), those purchases from `since` on."""
    return (
        select(*columns)
        .select_from(Referral)
        .join(PURCHASE, PURCHASE.id == Referral.qualifying_conversion_id)
        .where(
            Referral.program_id == program_id,
            Referral.status.in_(ACQUIRED),
            PURCHASE.occurred_at >= since,
        )
    )


def successes(session: Session, program_id: int, since: datetime) -> tuple[AdvocateTally, ...]:
    """Per advocate: successful referrals and when the last of them counted (its qualifying
    purchase), the leaderboard's tie-break."""
    rows = session.execute(
        _paid_off(
            program_id, since, Referral.referrer_id, func.count(), func.max(PURCHASE.occurred_at)
        ).group_by(Referral.referrer_id)
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
    acquired = list(session.scalars(_paid_off(program_id, since, PURCHASE.occurred_at)))
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
    rows = session.execute(
        _paid_off(program_id, since, Referral.referred_at, PURCHASE.occurred_at).where(
            PURCHASE.occurred_at >= Referral.referred_at
        )
    )
    return [TimedReferral(made, bought) for made, bought in rows]


def success_events(session: Session, program_id: int, since: datetime) -> list[Success]:
    """Each successful referral as (advocate, when its purchase qualified): the monthly
    leaderboards' rows."""
    rows = session.execute(_paid_off(program_id, since, Referral.referrer_id, PURCHASE.occurred_at))
    return [Success(advocate, at) for advocate, at in rows]
