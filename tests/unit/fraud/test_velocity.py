"""Velocity and caps: a limit is the largest count allowed; one more is flagged."""

import pytest

from referral.fraud import Severity
from referral.fraud.velocity import (
    accounts_per_device,
    accounts_per_ip,
    max_referrals,
    referrals_per_day,
    referrals_per_hour,
    rewards_per_30_days,
)
from tests.unit.fraud.builders import DEFAULT, policy, referral

CASES = [
    (referrals_per_hour, "referrer_referrals_last_hour", "referrals_per_hour", 10),
    (referrals_per_day, "referrer_referrals_last_day", "referrals_per_day", 25),
    (accounts_per_device, "device_accounts_last_day", "accounts_per_device_per_day", 3),
    (accounts_per_ip, "ip_accounts_last_day", "accounts_per_ip_per_day", 20),
    (rewards_per_30_days, "referrer_rewards_last_30_days", "rewards_per_30_days", 30),
]


@pytest.mark.parametrize(("rule", "fact", "setting", "limit"), CASES)
def test_at_the_limit_is_allowed(rule, fact, setting, limit):
    assert rule(referral(**{fact: limit}), DEFAULT) is None


@pytest.mark.parametrize(("rule", "fact", "setting", "limit"), CASES)
def test_one_over_the_limit_is_a_soft_signal_with_count_and_limit(rule, fact, setting, limit):
    signal = rule(referral(**{fact: limit + 1}), DEFAULT)
    assert signal is not None
    assert signal.severity is Severity.SOFT
    assert (signal.evidence["count"], signal.evidence["limit"]) == (limit + 1, limit)


@pytest.mark.parametrize(("rule", "fact", "setting", "limit"), CASES)
def test_limits_come_from_the_config(rule, fact, setting, limit):
    assert rule(referral(**{fact: 2}), policy(velocity={setting: 1})) is not None


def test_office_signups_from_one_ip_never_weigh_enough_to_review_alone():
    signal = accounts_per_ip(referral(ip_accounts_last_day=500), DEFAULT)
    assert signal is not None
    assert signal.score < DEFAULT.config.review_score


def test_program_max_referrals_flags_referrals_past_the_cap():
    assert (
        max_referrals(referral(referrer_referrals_total=25, program_max_referrals=25), DEFAULT)
        is None
    )
    signal = max_referrals(referral(referrer_referrals_total=26, program_max_referrals=25), DEFAULT)
    assert signal is not None and signal.evidence == {"role": "referrer", "count": 26, "limit": 25}


def test_a_program_without_max_referrals_has_no_cap():
    assert max_referrals(referral(referrer_referrals_total=10_000), DEFAULT) is None
