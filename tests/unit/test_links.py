from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.links import (
    SHARE_CHANNELS,
    ShareKit,
    referral_link,
    referrer_host,
    share_kit,
    share_urls,
)

BASE = "https://refer.example.com"
CODE = "ABCD2345"
MESSAGE = "Get 10% off your first order & free shipping!"
SUBJECT = "A gift for you"


def query(url: str) -> dict[str, str]:
    pairs = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=False)
    return {key: values[-1] for key, values in pairs.items()}


def link_inside(text: str) -> str:
    """The referral link that a share text ends with."""
    return text.rsplit(" ", 1)[-1]


def test_link_points_at_the_code_with_utm_source_and_medium():
    link = referral_link(BASE, CODE)
    assert link == f"{BASE}/r/{CODE}?utm_source=referral&utm_medium=referral"


def test_link_carries_campaign_and_channel_when_given():
    link = referral_link(BASE, CODE, campaign="spring-2025", channel="sms", medium="qr")
    assert urlsplit(link).path == f"/r/{CODE}"
    assert query(link) == {
        "utm_source": "referral",
        "utm_medium": "qr",
        "utm_campaign": "spring-2025",
        "ch": "sms",
    }


def test_link_leaves_out_campaign_and_channel_when_not_given():
    assert set(query(referral_link(BASE, CODE))) == {"utm_source", "utm_medium"}


@pytest.mark.parametrize("base", [BASE, BASE + "/", BASE + "//"])
def test_trailing_slashes_on_the_base_url_do_not_double_up(base):
    assert referral_link(base, CODE).startswith(f"{BASE}/r/{CODE}?")


def test_base_url_with_a_path_keeps_it():
    assert referral_link("https://example.com/shop/", CODE).startswith(
        f"https://example.com/shop/r/{CODE}?"
    )


def test_the_code_is_url_quoted_in_the_path():
    link = referral_link(BASE, "A/B?C#D")
    assert urlsplit(link).path == "/r/A%2FB%3FC%23D"


def test_campaign_with_spaces_is_percent_encoded():
    link = referral_link(BASE, CODE, campaign="spring sale")
    assert "utm_campaign=spring%20sale" in link
    assert query(link)["utm_campaign"] == "spring sale"


@given(code=st.text(min_size=1), campaign=st.text(min_size=1))
def test_code_and_campaign_survive_a_round_trip_through_the_url(code, campaign):
    link = referral_link(BASE, code, campaign=campaign)
    parts = urlsplit(link)
    assert unquote(parts.path.removeprefix("/r/")) == code
    assert "/" not in parts.path.removeprefix("/r/")
    assert query(link)["utm_campaign"] == campaign


def test_there_is_one_share_url_per_channel():
    urls = share_urls(BASE, CODE, message=MESSAGE, subject=SUBJECT)
    assert (
        tuple(urls) == SHARE_CHANNELS == ("email", "sms", "whatsapp", "x", "facebook", "linkedin")
    )


@pytest.fixture
def urls() -> dict[str, str]:
    return share_urls(BASE, CODE, message=MESSAGE, subject=SUBJECT, campaign="spring")


def expected_link(channel: str) -> str:
    return referral_link(BASE, CODE, campaign="spring", channel=channel)


def test_email_share_is_a_mailto_with_subject_and_message_followed_by_the_link(urls):
    url = urls["email"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.path) == ("mailto", "")
    fields = query(url)
    assert fields["subject"] == SUBJECT
    assert fields["body"] == f"{MESSAGE} {expected_link('email')}"
    assert query(link_inside(fields["body"]))["ch"] == "email"


def test_email_share_encodes_spaces_as_percent_20_because_mail_clients_show_plus(urls):
    assert "+" not in urls["email"]
    assert "subject=A%20gift%20for%20you" in urls["email"]


def test_sms_share_uses_the_form_ios_and_android_both_accept(urls):
    url = urls["sms"]
    assert url.startswith("sms:?&body=")
    assert "+" not in url
    assert query(url)["body"] == f"{MESSAGE} {expected_link('sms')}"


def test_whatsapp_share_puts_message_and_link_in_the_text(urls):
    url = urls["whatsapp"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/")
    assert query(url)["text"] == f"{MESSAGE} {expected_link('whatsapp')}"


def test_x_share_passes_message_and_link_separately(urls):
    url = urls["x"]
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("twitter.com", "/intent/tweet")
    assert query(url) == {"text": MESSAGE, "url": expected_link("x")}


def test_facebook_share_passes_only_the_link(urls):
    url = urls["facebook"]
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("www.facebook.com", "/sharer/sharer.php")
    assert query(url) == {"u": expected_link("facebook")}


def test_linkedin_share_passes_only_the_link(urls):
    url = urls["linkedin"]
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("www.linkedin.com", "/sharing/share-offsite/")
    assert query(url) == {"url": expected_link("linkedin")}


@pytest.mark.parametrize("channel", SHARE_CHANNELS)
def test_every_share_url_attributes_clicks_to_its_own_channel(urls, channel):
    fields = query(urls[channel])
    embedded = (
        fields.get("url") or fields.get("u") or link_inside(fields.get("body") or fields["text"])
    )
    assert urlsplit(embedded).path == f"/r/{CODE}"
    assert query(embedded)["ch"] == channel
    assert query(embedded)["utm_campaign"] == "spring"


def test_an_empty_message_shares_just_the_link():
    urls = share_urls(BASE, CODE, message="", subject=SUBJECT)
    assert query(urls["whatsapp"])["text"] == referral_link(BASE, CODE, channel="whatsapp")


def test_share_kit_bundles_link_qr_urls_and_share_urls():
    kit = share_kit(BASE + "/", CODE, message=MESSAGE, subject=SUBJECT, campaign="spring")
    assert kit == ShareKit(
        code=CODE,
        link=referral_link(BASE, CODE, campaign="spring"),
        qr_url_svg=f"{BASE}/r/{CODE}/qr.svg",
        qr_url_png=f"{BASE}/r/{CODE}/qr.png",
        share=share_urls(BASE, CODE, message=MESSAGE, subject=SUBJECT, campaign="spring"),
    )


def test_share_kit_link_has_no_channel_because_it_is_the_one_people_copy():
    kit = share_kit(BASE, CODE, message=MESSAGE, subject=SUBJECT)
    assert "ch" not in query(kit.link)


def test_share_kit_is_immutable_and_hashable():
    kit = share_kit(BASE, CODE, message=MESSAGE, subject=SUBJECT)
    with pytest.raises(AttributeError):
        kit.code = "OTHER"  # type: ignore[misc]
    assert hash(kit) == hash(share_kit(BASE, CODE, message=MESSAGE, subject=SUBJECT))


@pytest.mark.parametrize(
    ("referer", "host"),
    [
        ("https://www.RetailMeNot.com/view/x?email=a@b.example", "www.retailmenot.com"),
        ("http://slickdeals.net./f/1", "slickdeals.net"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("", None),
        (None, None),
        ("not a url", None),
        ("https://[::1", None),
    ],
)
def test_only_the_host_of_a_referer_is_kept(referer, host):
    assert referrer_host(referer) == host
