"""Program files: every mistake is named by field, and the rules compute what they say."""

from datetime import UTC, datetime

import pytest

from referral.programs import ProgramFileError, Role, parse_program

BASE = {
    "slug": "friends",
    "name": "Friends",
    "referrer_reward": {"type": "credit", "amount": "10.00"},
    "referee_reward": {"type": "discount", "amount": 15, "unit": "percent"},
}


def error_for(**changes) -> str:
    with pytest.raises(ProgramFileError) as caught:
        parse_program({**BASE, **changes}, source="friends.yaml")
    return str(caught.value)


def test_a_valid_program_parses_with_defaults():
    program = parse_program(BASE)
    assert program.reward_structure == "dual"
    assert program.attribution.model == "last_click"
    assert program.hold_days == 14


def test_an_unknown_field_is_named_with_the_file():
    assert error_for(max_referals=3) == "friends.yaml: max_referals: Extra inputs are not permitted"


def test_a_nested_mistake_names_the_path():
    message = error_for(referrer_reward={"type": "voucher", "amount": 5})
    assert message.startswith("friends.yaml: referrer_reward.type: Input should be")


def test_amounts_finer_than_the_currency_are_refused():
    assert "more decimals than USD allows" in error_for(
        referrer_reward={"type": "credit", "amount": "10.005"}
    )


def test_yen_has_no_minor_unit():
    program = parse_program(
        {**BASE, "currency": "JPY", "referrer_reward": {"type": "credit", "amount": 500}}
    )
    assert program.referrer_reward.value_minor("JPY") == 500


def test_a_percent_above_100_is_refused():
    assert "cannot exceed 100" in error_for(
        referee_reward={"type": "discount", "amount": 120, "unit": "percent"}
    )


def test_dual_needs_both_rewards():
    assert "referee_reward is required" in error_for(referee_reward=None)


def test_tiered_needs_tiers_starting_at_one():
    assert "at least one entry in tiers" in error_for(reward_structure="tiered")
    message = error_for(
        reward_structure="tiered",
        tiers=[
            {"name": "silver", "from_referral": 5, "referrer_reward": {"type": "cash", "amount": 5}}
        ],
    )
    assert "first tier must start at from_referral 1" in message


def test_tiers_apply_from_their_threshold():
    program = parse_program(
        {
            **BASE,
            "reward_structure": "tiered",
            "tiers": [
                {
                    "name": "bronze",
                    "from_referral": 1,
                    "referrer_reward": {"type": "cash", "amount": 5},
                },
                {
                    "name": "gold",
                    "from_referral": 3,
                    "referrer_reward": {"type": "cash", "amount": 9},
                },
            ],
        }
    )
    amounts = [program.rewards_for(n)[Role.REFERRER].value_minor("USD") for n in (1, 2, 3, 10)]
    assert amounts == [500, 500, 900, 900]


def test_referrer_only_pays_no_referee():
    program = parse_program({**BASE, "reward_structure": "referrer_only"})
    assert set(program.rewards_for(1)) == {Role.REFERRER}


def test_percent_rewards_are_a_share_of_the_purchase_in_minor_units():
    program = parse_program(BASE)
    assert program.referee_reward.value_minor("USD", purchase_minor=4_999) == 750


def test_milestones_must_increase():
    message = error_for(
        milestones=[
            {"name": "b", "referrals": 5, "tier_upgrade": "gold"},
            {"name": "a", "referrals": 3, "tier_upgrade": "silver"},
        ]
    )
    assert "increasing referrals order" in message


def test_the_active_window_is_half_open_in_utc():
    program = parse_program(
        {**BASE, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}
    )
    assert program.is_active(datetime(2026, 12, 1, tzinfo=UTC))
    assert not program.is_active(datetime(2027, 1, 1, tzinfo=UTC))


def test_an_end_before_the_start_is_refused():
    assert "ends_at must be after starts_at" in error_for(
        starts_at="2027-01-01T00:00:00Z", ends_at="2026-01-01T00:00:00Z"
    )


def test_the_fingerprint_changes_only_with_the_rules():
    assert parse_program(BASE).fingerprint() == parse_program(dict(BASE)).fingerprint()
    assert (
        parse_program(BASE).fingerprint() != parse_program({**BASE, "hold_days": 3}).fingerprint()
    )


def test_the_bundled_program_files_are_valid():
    from config.program_files import bundled_program_files, load_program_files

    assert {c.slug for c in load_program_files(bundled_program_files())} == {"friends", "partners"}
