"""Render contexts: what each template can rely on, built from what the outbox stored."""

import pytest

from referral.invitations import UnknownTrigger, check_trigger, invitation_key
from referral.notifications import (
    ContextError,
    channel_link,
    describe_reward,
    first_name,
    render_context,
)


def test_first_name_is_the_first_word_or_a_friendly_stand_in():
    assert first_name("Ada King Lovelace") == "Ada"
    assert first_name(None) == "there" and first_name("  ") == "there"


def test_sms_gets_the_short_link_and_other_channels_the_tracked_one():
    assert (
        channel_link("https://x.example/", "AB12CD34", "sms")
        == "https://x.example/r/AB12CD34?ch=sms"
    )
    email = channel_link("https://x.example", "AB12CD34", "email")
    assert (
        email.startswith("https://x.example/r/AB12CD34?utm_source=referral") and "ch=email" in email
    )


def test_rewards_read_as_people_say_them():
    assert describe_reward("credit", 1000, "USD") == "10.00 USD credit"
    assert describe_reward("cash", 2500, "EUR") == "25.00 EUR"
    assert describe_reward("points", 1500, "PTS") == "1,500 points"


def test_a_reward_payload_becomes_the_reward_earned_context():
    payload = {
        "grant_id": 9,
        "reward_type": "discount",
        "amount_minor": 600,
        "currency": "USD",
        "description": None,
        "coupon_code": "RW-ABC",
    }
    context = render_context("reward_earned", payload, name="Ada L", unsubscribe_url="u")
    assert context == {
        "reward": "6.00 USD discount",
        "description": "",
        "coupon_code": "RW-ABC",
        "first_name": "Ada",
        "unsubscribe_url": "u",
        "portal_url": None,
    }


def test_only_advocates_get_the_dashboard_link():
    reward = {"reward_type": "credit", "amount_minor": 1000, "currency": "USD"}
    link = "https://r.example/portal/t"

    def portal(template, payload):
        return render_context(template, payload, name=None, unsubscribe_url="u", portal_url=link)[
            "portal_url"
        ]

    assert portal("reward_earned", {**reward, "role": "referrer"}) == link
    assert portal("reward_earned", {**reward, "role": "referee"}) is None
    assert portal("invitation", {"code": "ADA-1"}) == link


def test_a_payload_missing_a_key_names_the_key_not_the_values():
    with pytest.raises(ContextError, match="reward_earned: payload has no currency"):
        render_context(
            "reward_earned",
            {"reward_type": "credit", "amount_minor": 1},
            name=None,
            unsubscribe_url="",
        )


def test_send_time_facts_win_over_anything_stored_in_the_payload():
    context = render_context(
        "invitation", {"first_name": "stale", "code": "X"}, name="Ada", unsubscribe_url="u"
    )
    assert context["first_name"] == "Ada" and context["code"] == "X"


def test_invitation_keys_are_per_program_customer_trigger_and_day():
    from datetime import date

    assert invitation_key(1, 2, "purchase", date(2026, 11, 1)) == "invite:1:2:purchase:2026-11-01"
    with pytest.raises(UnknownTrigger):
        check_trigger("birthday")
