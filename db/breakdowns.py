"""The report's funnel and money split by channel and by seasonal campaign, a few grouped
queries each.

- Channel: invitations by the channel they went out on; link clicks by the channel of the
  shared link; referrals, purchases, revenue and reward cost by the referral's own channel
  (the clicked link's, or promo_code). Milestone rewards belong to no referral and so to no
  channel: the channels' costs add up to the referral rewards only.
- Campaign: invitations it sent; link clicks and referrals made inside its window, with
  those referrals' purchases and revenue whenever they came; the rewards it boosted (whose
  qualifying purchase fell in the window).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from db.models import Campaign, Conversion, Invitation, Referral, RewardGrant, Touch
from referral.analytics.funnel import FunnelCounts
from referral.analytics.roi import RewardCostRow
from referral.programs import RewardType

# A referral that paid off, or will once its hold ends.
ACQUIRED = ("qualified", "approved", "rewarded")
UNKNOWN = "unknown"  # a link shared without a channel, or figures from before channels


@dataclass(slots=True)
class Segment:
    """One channel's or campaign's figures."""

    name: str
    invitations: list[int] = field(default_factory=lambda: [0, 0, 0])  # sent, opened, clicked
    link_clicks: int = 0
    signups: int = 0
    purchases: int = 0
    revenue_minor: int = 0
    costs: list[RewardCostRow] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def funnel(self) -> FunnelCounts:
        sent, opened, clicked = self.invitations
        return FunnelCounts(sent, opened, clicked, self.link_clicks, self.signups, self.purchases)


class _Segments(dict[Any, Segment]):
    def __missing__(self, key: Any) -> Segment:
        self[key] = Segment(str(key))
        return self[key]


def by_channel(session: Session, program_id: int, currency: str, since: datetime) -> list[Segment]:
    found = _Segments()
    invited = select(
        Invitation.channel,
        func.count(),
        func.count(Invitation.opened_at),
        func.count(Invitation.clicked_at),
    ).where(Invitation.program_id == program_id, Invitation.created_at >= since)
    for channel, sent, opened, clicked in session.execute(invited.group_by(Invitation.channel)):
        found[channel or UNKNOWN].invitations = [sent, opened, clicked]
    clicks = select(Touch.channel, func.count()).where(
        Touch.program_id == program_id, Touch.kind == "click", Touch.occurred_at >= since
    )
    for channel, n in session.execute(clicks.group_by(Touch.channel)):
        found[channel or UNKNOWN].link_clicks += n
    made = and_(Referral.program_id == program_id, Referral.referred_at >= since)
    for channel, signups, purchases in session.execute(
        select(Referral.channel, func.count(), _count_acquired())
        .where(made)
        .group_by(Referral.channel)
    ):
        segment = found[channel or UNKNOWN]
        segment.signups += signups
        segment.purchases += purchases
    for amount, channel in session.execute(
        referred_revenue(program_id, currency, since)
        .add_columns(Referral.channel)
        .group_by(Referral.channel)
    ):
        found[channel or UNKNOWN].revenue_minor += int(amount)
    for channel, kind, cur, amount in session.execute(
        select(Referral.channel, *REWARD_COST)
        .join(Referral, Referral.id == RewardGrant.referral_id)
        .where(issued_rewards(program_id, since))
        .group_by(Referral.channel, RewardGrant.reward_type, RewardGrant.currency)
    ):
        found[channel or UNKNOWN].costs.append(RewardCostRow(RewardType(kind), cur, int(amount)))
    return list(found.values())


def by_campaign(session: Session, program_id: int, currency: str, since: datetime) -> list[Segment]:
    """The program's campaigns whose window reaches `since` or later, in start order."""
    campaigns = session.execute(
        select(Campaign.id, Campaign.slug, Campaign.name, Campaign.starts_at, Campaign.ends_at)
        .where(Campaign.program_id == program_id, Campaign.ends_at >= since)
        .order_by(Campaign.starts_at, Campaign.id)
    ).all()
    found = _Segments()
    for campaign_id, slug, name, starts_at, ends_at in campaigns:
        found[campaign_id] = Segment(
            slug,
            detail={
                "name": name,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
    if not found:
        return []
    ids = list(found)
    for campaign_id, sent, opened, clicked in session.execute(
        select(
            Invitation.campaign_id,
            func.count(),
            func.count(Invitation.opened_at),
            func.count(Invitation.clicked_at),
        )
        .where(Invitation.campaign_id.in_(ids), Invitation.created_at >= since)
        .group_by(Invitation.campaign_id)
    ):
        found[campaign_id].invitations = [sent, opened, clicked]
    during = _campaign_window(ids)
    for campaign_id, n in session.execute(
        select(Campaign.id, func.count())
        .join(Touch, during(Touch.occurred_at))
        .where(Touch.program_id == program_id, Touch.kind == "click", Touch.occurred_at >= since)
        .group_by(Campaign.id)
    ):
        found[campaign_id].link_clicks = n
    for campaign_id, signups, purchases in session.execute(
        select(Campaign.id, func.count(), _count_acquired())
        .join(Referral, during(Referral.referred_at))
        .where(Referral.program_id == program_id, Referral.referred_at >= since)
        .group_by(Campaign.id)
    ):
        found[campaign_id].signups, found[campaign_id].purchases = signups, purchases
    for amount, campaign_id in session.execute(
        referred_revenue(program_id, currency, since)
        .add_columns(Campaign.id)
        .join(Campaign, during(Referral.referred_at))
        .group_by(Campaign.id)
    ):
        found[campaign_id].revenue_minor = int(amount)
    for campaign_id, kind, cur, amount in session.execute(
        select(RewardGrant.campaign_id, *REWARD_COST)
        .where(issued_rewards(program_id, since), RewardGrant.campaign_id.in_(ids))
        .group_by(RewardGrant.campaign_id, RewardGrant.reward_type, RewardGrant.currency)
    ):
        found[campaign_id].costs.append(RewardCostRow(RewardType(kind), cur, int(amount)))
    return list(found.values())


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


def _campaign_window(ids: Iterable[int]) -> Any:
    """Joins a campaign whose [start, end) holds the moment: the boundary the multiplier
    itself uses."""
    ids = list(ids)

    def during(moment: Any) -> ColumnElement[bool]:
        return and_(Campaign.id.in_(ids), moment >= Campaign.starts_at, moment < Campaign.ends_at)

    return during


def _count_acquired() -> Any:
    return func.count(case((Referral.status.in_(ACQUIRED), 1)))
