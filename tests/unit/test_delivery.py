"""Which channel reaches a customer, who must not be messaged, and how retries spread out."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.delivery import (
    Recipient,
    backoff_seconds,
    choose_channel,
    refusal,
    suppression_address,
)

PROGRAM_ORDER = ["email", "sms", "whatsapp"]


def person(*consents, email="ada@example.com", phone="+14155550123", preferred=None):
    return Recipient("Ada Lovelace", email, phone, frozenset(consents), preferred)


def test_the_preferred_channel_wins_when_the_customer_consents_to_it():
    assert choose_channel(person("email", "sms", preferred="sms"), PROGRAM_ORDER, set()) == "sms"


def test_without_consent_to_the_preferred_channel_the_program_order_decides():
    assert choose_channel(person("email", preferred="sms"), PROGRAM_ORDER, set()) == "email"
    assert choose_channel(person("whatsapp", "sms"), PROGRAM_ORDER, set()) == "sms"


def test_a_preferred_channel_the_program_does_not_use_is_ignored():
    assert choose_channel(person("email", "sms", preferred="sms"), ["email"], set()) == "email"


def test_a_suppressed_or_unaddressable_channel_is_passed_over():
    both = person("email", "sms")
    assert choose_channel(both, PROGRAM_ORDER, {("email", "ada@example.com")}) == "sms"
    assert choose_channel(person("email", "sms", email=None), PROGRAM_ORDER, set()) == "sms"


def test_nobody_is_reached_without_a_usable_channel():
    assert choose_channel(person(), PROGRAM_ORDER, set()) is None
    assert choose_channel(person("sms", phone=None), PROGRAM_ORDER, set()) is None


def test_refusals_name_their_reason():
    assert refusal(person("sms"), "email", set()) == "no_consent"
    assert refusal(person("email", email=None), "email", set()) == "no_address"
    assert refusal(person("sms"), "sms", {("sms", "+14155550123")}) == "suppressed"
    assert refusal(person("email"), "pigeon", set()) == "unknown_channel"
    assert refusal(person("email"), "email", set()) is None


def test_a_suppression_matches_every_spelling_of_the_same_gmail_box():
    suppressed = {("email", suppression_address("email", "adalovelace@gmail.com"))}
    spelled = person("email", email="Ada.Lovelace+news@googlemail.com")
    assert refusal(spelled, "email", suppressed) == "suppressed"


def test_backoff_doubles_its_ceiling_with_every_attempt_up_to_the_cap():
    ceiling = [backoff_seconds(n, base=60, cap=3600, rand=lambda: 1.0) for n in range(1, 9)]
    assert ceiling == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_backoff_is_full_jitter_from_zero_to_the_ceiling():
    assert backoff_seconds(3, base=60, rand=lambda: 0.0) == 0
    assert backoff_seconds(3, base=60, rand=lambda: 0.25) == 60


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=1))
def test_backoff_never_exceeds_the_cap_even_after_absurd_attempt_counts(attempts, draw):
    assert 0 <= backoff_seconds(attempts, base=30, cap=7200, rand=lambda: draw) <= 7200


def test_backoff_needs_at_least_one_attempt():
    with pytest.raises(ValueError):
        backoff_seconds(0, base=60)
