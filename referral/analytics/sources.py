"""Referral sources: which channels bring clicks, sign-ups, purchases and revenue.

Per channel (email, sms, whatsapp, x, facebook, linkedin, copy-link, qr, promo code, ...):
its share of each total across channels, and its click-to-purchase rate (purchases /
clicks; None without clicks; above 1 when promo codes bring purchases without a click).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from referral.analytics.ratios import rate


@dataclass(frozen=True, slots=True)
class ChannelCounts:
    channel: str
    clicks: int
    signups: int
    purchases: int
    revenue_minor: int


@dataclass(frozen=True, slots=True)
class ChannelShare:
    channel: str
    clicks: int
    signups: int
    purchases: int
    revenue_minor: int
    click_share: float | None
    purchase_share: float | None
    revenue_share: float | None
    """None when the total across channels is 0."""
    click_to_purchase: float | None


def channel_shares(rows: Iterable[ChannelCounts]) -> tuple[ChannelShare, ...]:
    """Shares per channel, most revenue first (then most purchases, then by name)."""
    counts = list(rows)
    if len({r.channel for r in counts}) != len(counts):
        raise ValueError("one row per channel")
    clicks = sum(r.clicks for r in counts)
    purchases = sum(r.purchases for r in counts)
    revenue = sum(r.revenue_minor for r in counts)
    shares = [
        ChannelShare(
            channel=r.channel,
            clicks=r.clicks,
            signups=r.signups,
            purchases=r.purchases,
            revenue_minor=r.revenue_minor,
            click_share=rate(r.clicks, clicks),
            purchase_share=rate(r.purchases, purchases),
            revenue_share=rate(r.revenue_minor, revenue),
            click_to_purchase=rate(r.purchases, r.clicks),
        )
        for r in counts
    ]
    return tuple(sorted(shares, key=lambda s: (-s.revenue_minor, -s.purchases, s.channel)))
