"""Campaign windows and milestones at the exact instant."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.campaigns import CampaignFileError, boosted, in_window, parse_campaign, pick
from referral.milestones import reached, tier_for, unpaid
from referral.programs import parse_program

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)
instants = st.datetimes(
    min_value=datetime(2026, 11, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC)
)


@given(instants)
def test_the_window_includes_its_start_and_excludes_its_end(at):
    assert in_window(START, END, at) == (START <= at < END)


def test_the_boundaries_to_the_microsecond():
    assert in_window(START, END, START)
    assert not in_window(START, END, START - timedelta(microseconds=1))
    assert in_window(START, END, END - timedelta(microseconds=1))
    assert not in_window(START, END, END)


@given(st.integers(0, 10**7), st.integers(10_000, 100_000), st.integers(0, 10**5))
def test_a_boost_never_pays_less_than_the_plain_reward(amount, multiplier_bp, bonus):
    assert boosted(amount, multiplier_bp, bonus) >= amount


def test_overlapping_campaigns_pay_the_most_generous():
    windows = [(1, START, END, 15_000, 0), (2, START, END, 20_000, 0)]
    assert pick(windows, START) == (2, 20_000, 0)
    assert pick(windows, END) is None


def test_a_campaign_file_needs_a_boost_and_a_sane_window():
    base = {
        "slug": "xmas",
        "name": "Xmas",
        "program": "friends",
        "starts_at": "2026-12-01T00:00:00Z",
        "ends_at": "2027-01-01T00:00:00Z",
    }
    with pytest.raises(CampaignFileError, match="needs a multiplier above 1 or a bonus"):
        parse_campaign(base, "xmas.yaml")
    with pytest.raises(CampaignFileError, match=r"xmas\.yaml: ends_at must be after starts_at"):
        parse_campaign({**base, "multiplier": 2, "ends_at": "2026-11-01T00:00:00Z"}, "xmas.yaml")
    assert parse_campaign({**base, "multiplier": "1.5"}).multiplier_bp == 15_000


PROGRAM = parse_program(
    {
        "slug": "friends",
        "name": "Friends",
        "reward_structure": "referrer_only",
        "referrer_reward": {"type": "credit", "amount": 5},
        "milestones": [
            {
                "name": "three",
                "referrals": 3,
                "tier_upgrade": "silver",
                "reward": {"type": "credit", "amount": 20},
            },
            {"name": "ten", "referrals": 10, "tier_upgrade": "gold"},
        ],
    }
)


@given(st.integers(0, 50))
def test_a_milestone_is_reached_exactly_at_its_count(count):
    assert [m.referrals for m in reached(PROGRAM, count)] == [n for n in (3, 10) if n <= count]


def test_paid_milestones_are_never_paid_again_and_tiers_only_rise():
    assert [m.referrals for m in unpaid(PROGRAM, 12, paid={3})] == [10]
    assert unpaid(PROGRAM, 12, paid={3, 10}) == []
    assert [tier_for(PROGRAM, n) for n in (2, 3, 9, 10, 40)] == [
        None,
        "silver",
        "silver",
        "gold",
        "gold",
    ]
