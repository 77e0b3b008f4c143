"""Personal referral links and ready-made share URLs for each channel.

Every share URL embeds the advocate's link with `ch=<channel>`, so a click on `/r/{code}` can
be attributed to the channel it was shared on without any cookie or third-party tracker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

SHARE_CHANNELS: Final = ("email", "sms", "whatsapp", "x", "facebook", "linkedin")


@dataclass(frozen=True, slots=True)
class ShareKit:
    """Everything an advocate's page or invitation needs to let them share."""

    code: str
    link: str
    qr_url_svg: str
    qr_url_png: str
    # Left out of the hash so a kit can still be used as a dict key or set member.
    share: dict[str, str] = field(hash=False)


def referral_link(
    base_url: str,
    code: str,
    *,
    campaign: str | None = None,
    channel: str | None = None,
    medium: str = "referral",
) -> str:
    """Return `{base_url}/r/{code}` with UTM parameters, and `ch` when a channel is given."""
    params = [("utm_source", "referral"), ("utm_medium", medium)]
    if campaign:
        params.append(("utm_campaign", campaign))
    if channel:
        params.append(("ch", channel))
    return f"{_code_path(base_url, code)}?{urlencode(params, quote_via=quote)}"


def share_urls(
    base_url: str,
    code: str,
    *,
    message: str,
    subject: str,
    campaign: str | None = None,
) -> dict[str, str]:
    """Return one share URL per channel in SHARE_CHANNELS, keyed by channel."""
    urls: dict[str, str] = {}
    for channel in SHARE_CHANNELS:
        link = referral_link(base_url, code, campaign=campaign, channel=channel)
        text = f"{message.strip()} {link}".lstrip()
        urls[channel] = _share_url(channel, link=link, text=text, message=message, subject=subject)
    return urls


def share_kit(
    base_url: str,
    code: str,
    *,
    message: str,
    subject: str,
    campaign: str | None = None,
) -> ShareKit:
    """Return the link, QR code URLs and share URLs for one advocate's code."""
    path = _code_path(base_url, code)
    return ShareKit(
        code=code,
        link=referral_link(base_url, code, campaign=campaign),
        qr_url_svg=f"{path}/qr.svg",
        qr_url_png=f"{path}/qr.png",
        share=share_urls(base_url, code, message=message, subject=subject, campaign=campaign),
    )


def _code_path(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{quote(code, safe='')}"


def _share_url(channel: str, *, link: str, text: str, message: str, subject: str) -> str:
    # quote(), not quote_plus(): mail and SMS apps do not decode '+' and would show it.
    if channel == "email":
        return f"mailto:?subject={_q(subject)}&body={_q(text)}"
    if channel == "sms":
        # "sms:?&body=" is the one form both iOS and Android Messages accept.
        return f"sms:?&body={_q(text)}"
    if channel == "whatsapp":
        return f"https://wa.me/?text={_q(text)}"
    if channel == "x":
        return "https://twitter.com/intent/tweet?" + _query(text=message.strip(), url=link)
    if channel == "facebook":
        return "https://www.facebook.com/sharer/sharer.php?" + _query(u=link)
    if channel == "linkedin":
        return "https://www.linkedin.com/sharing/share-offsite/?" + _query(url=link)
    raise ValueError(f"unknown share channel {channel!r}")


def _q(text: str) -> str:
    return quote(text, safe="")


def _query(**params: str) -> str:
    return urlencode(params, quote_via=quote)


def landing_url(landing: str, code: str) -> str:
    """The shop's landing page with the code attached (`ref=`), so the shop can prefill its
    promo field and send the code back with the sign-up; its own query is kept."""
    parts = urlsplit(landing)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ref"]
    query.append(("ref", code))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def referrer_host(referer: str | None) -> str | None:
    """The host of a Referer header, lower case, or None when there is none to read. Only
    the host: the path and query of the page before can carry anything, search terms and
    email addresses included."""
    if not referer:
        return None
    try:
        host = urlsplit(referer.strip()).hostname
    except ValueError:
        return None
    if not host or len(host) > 253 or not host.isascii():
        return None
    return host.lower().rstrip(".") or None
