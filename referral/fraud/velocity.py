"""Velocity and caps: counts the database computed, against the configured limits.

A limit is the largest count still allowed; counts include the referral being checked.
"""

from __future__ import annotations

from referral.fraud import ReferralFacts, Signal
from referral.fraud.policy import Policy


def referrals_per_hour(facts: ReferralFacts, policy: Policy) -> Signal | None:
    count, limit = facts.referrer_referrals_last_hour, policy.referrals_per_hour
    if count <= limit:
        return None
    return policy.signal(
        "referrals_per_hour",
        "VELOCITY_REFERRALS_HOUR",
        {"role": "referrer", "count": count, "limit": limit, "window": "1h"},
    )


def referrals_per_day(facts: ReferralFacts, policy: Policy) -> Signal | None:
    count, limit = facts.referrer_referrals_last_day, policy.referrals_per_day
    if count <= limit:
        return None
    return policy.signal(
        "referrals_per_day",
        "VELOCITY_REFERRALS_DAY",
        {"role": "referrer", "count": count, "limit": limit, "window": "24h"},
    )


def accounts_per_device(facts: ReferralFacts, policy: Policy) -> Signal | None:
    count, limit = facts.device_accounts_last_day, policy.accounts_per_device_per_day
    if count <= limit:
        return None
    return policy.signal(
        "accounts_per_device",
        "VELOCITY_DEVICE_ACCOUNTS",
        {"role": "referee", "count": count, "limit": limit, "window": "24h"},
    )


def accounts_per_ip(facts: ReferralFacts, policy: Policy) -> Signal | None:
    count, limit = facts.ip_accounts_last_day, policy.accounts_per_ip_per_day
    if count <= limit:
        return None
    return policy.signal(
        "accounts_per_ip",
        "VELOCITY_IP_ACCOUNTS",
        {"role": "referee", "count": count, "limit": limit, "window": "24h"},
    )


def rewards_per_30_days(facts: ReferralFacts, policy: Policy) -> Signal | None:
    count, limit = facts.referrer_rewards_last_30_days, policy.rewards_per_30_days
    if count <= limit:
        return None
    return policy.signal(
        "rewards_per_30_days",
        "CAP_REWARDS_30_DAYS",
        {"role": "referrer", "count": count, "limit": limit, "window": "30d"},
    )


def max_referrals(facts: ReferralFacts, policy: Policy) -> Signal | None:
    """Referrals made beyond the program's max_referrals. Validation already stops paying for
    them; this marks an advocate who keeps recruiting past the cap, a farm's habit."""
    limit = facts.program_max_referrals
    count = facts.referrer_referrals_total
    if limit is None or count <= limit:
        return None
    return policy.signal(
        "max_referrals",
        "CAP_MAX_REFERRALS",
        {"role": "referrer", "count": count, "limit": limit},
    )
