"""Velocity and caps: counts the database computed, against the configured limits.

A limit is the largest count still allowed; counts include the referral being checked.
"""

from __future__ import annotations

from referral.fraud import ReferralFacts, Signal
from referral.fraud.policy import Policy


def referrals_per_hour(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _over_limit(
        policy, "referrals_per_hour", "VELOCITY_REFERRALS_HOUR", "referrer", "1h",
        facts.referrer_referrals_last_hour, policy.referrals_per_hour,
    )  # fmt: skip


def referrals_per_day(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _over_limit(
        policy, "referrals_per_day", "VELOCITY_REFERRALS_DAY", "referrer", "24h",
        facts.referrer_referrals_last_day, policy.referrals_per_day,
    )  # fmt: skip


def accounts_per_device(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _over_limit(
        policy, "accounts_per_device", "VELOCITY_DEVICE_ACCOUNTS", "referee", "24h",
        facts.device_accounts_last_day, policy.accounts_per_device_per_day,
    )  # fmt: skip


def accounts_per_ip(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _over_limit(
        policy, "accounts_per_ip", "VELOCITY_IP_ACCOUNTS", "referee", "24h",
        facts.ip_accounts_last_day, policy.accounts_per_ip_per_day,
    )  # fmt: skip


def rewards_per_30_days(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _over_limit(
        policy, "rewards_per_30_days", "CAP_REWARDS_30_DAYS", "referrer", "30d",
        facts.referrer_rewards_last_30_days, policy.rewards_per_30_days,
    )  # fmt: skip


def _over_limit(
    policy: Policy, rule: str, reason: str, role: str, window: str, count: int, limit: int
) -> Signal | None:
    if count <= limit:
        return None
    return policy.signal(
        rule, reason, {"role": role, "count": count, "limit": limit, "window": window}
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
