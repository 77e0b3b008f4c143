"""Unsubscribe links: signed, free of personal data, and in the form RFC 8058 asks for."""

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from referral.unsubscribe import (
    link_key,
    read_token,
    unsubscribe_headers,
    unsubscribe_token,
    unsubscribe_url,
)

KEY = link_key(b"pepper")


def test_a_token_reads_back_as_the_customer_and_channel_it_was_made_for():
    assert read_token(unsubscribe_token(42, "email", KEY), KEY) == (42, "email")


@given(st.integers(min_value=1, max_value=2**62), st.sampled_from(["email", "sms", "whatsapp"]))
def test_every_token_round_trips(customer, channel):
    assert read_token(unsubscribe_token(customer, channel, KEY), KEY) == (customer, channel)


def test_an_edited_token_or_another_deployments_key_is_refused():
    token = unsubscribe_token(42, "email", KEY)
    assert read_token(token.replace("42.", "43.", 1), KEY) is None
    assert read_token(token.replace("email", "sms"), KEY) is None
    assert read_token(token, link_key(b"another pepper")) is None
    assert read_token("garbage", KEY) is None


def test_the_signing_key_is_not_the_secret_it_comes_from():
    assert link_key(b"pepper") != b"pepper" and len(link_key(b"pepper")) == 32


def test_the_url_lives_under_u_and_shows_no_address():
    url = unsubscribe_url("https://refer.example.com/", unsubscribe_token(7, "email", KEY))
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "refer.example.com")
    assert parts.path.startswith("/u/7.email.") and "@" not in url


def test_headers_offer_one_click_unsubscribe():
    assert unsubscribe_headers("https://x.example/u/t") == {
        "List-Unsubscribe": "<https://x.example/u/t>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
