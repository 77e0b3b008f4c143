"""One-click unsubscribe links (RFC 8058) that carry no personal data.

A link is `{public_base_url}/u/{token}`. The token names a customer id and a channel and is
signed with HMAC-SHA256, so editing the URL cannot unsubscribe someone else, and the URL shows
no address. Tokens do not expire: a link in a years-old email must still work. `read_token` is
the half the `/u/{token}` endpoint uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final
from urllib.parse import quote

_CONTEXT: Final = b"referral-unsubscribe-v1"
_SIGNATURE_BYTES: Final = 16  # 128 bits: forging one needs 2**128 guesses
_TOKEN: Final = re.compile(r"^([1-9][0-9]{0,18})\.([a-z]{1,16})\.([A-Za-z0-9_-]{22})$")


def link_key(secret: bytes) -> bytes:
    """A key for signing links, derived from a deployment secret, so that secret itself
    never signs anything a customer can see."""
    if not secret:
        raise ValueError("the unsubscribe signing secret must not be empty")
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


def unsubscribe_token(customer_id: int, channel: str, key: bytes) -> str:
    body = f"{customer_id}.{channel}"
    if not _TOKEN.match(f"{body}.{'A' * 22}"):
        raise ValueError("customer id must be positive and channel lowercase letters")
    return f"{body}.{_sign(body, key)}"


def read_token(token: str, key: bytes) -> tuple[int, str] | None:
    """(customer id, channel) for a genuine token; None for anything else."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    customer, channel, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(f"{customer}.{channel}", key)):
        return None
    return int(customer), channel


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{quote(token, safe='')}"


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe with RFC 8058 one-click: mail providers show an unsubscribe
    button that POSTs `List-Unsubscribe=One-Click` to the URL, no page visit needed."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _sign(body: str, key: bytes) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
