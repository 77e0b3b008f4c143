"""Channel shares: where referrals come from."""

import pytest

from referral.analytics.sources import ChannelCounts, channel_shares


def test_each_channel_has_its_share_of_the_totals_and_its_own_rate():
    shares = channel_shares(
        [
            ChannelCounts("email", clicks=300, signups=40, purchases=20, revenue_minor=60_000),
            ChannelCounts("whatsapp", clicks=100, signups=30, purchases=20, revenue_minor=40_000),
            ChannelCounts("promo_code", clicks=0, signups=5, purchases=10, revenue_minor=0),
        ]
    )
    assert [s.channel for s in shares] == ["email", "whatsapp", "promo_code"]
    email, whatsapp, promo = shares
    assert (email.click_share, email.purchase_share, email.revenue_share) == (0.75, 0.4, 0.6)
    assert whatsapp.click_to_purchase == 0.2
    assert promo.click_to_purchase is None


def test_no_activity_at_all_gives_no_shares():
    (only,) = channel_shares([ChannelCounts("sms", 0, 0, 0, 0)])
    assert only.click_share is None and only.revenue_share is None


def test_a_channel_twice_is_refused():
    with pytest.raises(ValueError):
        channel_shares([ChannelCounts("sms", 1, 0, 0, 0), ChannelCounts("sms", 1, 0, 0, 0)])
