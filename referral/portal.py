"""Magic links to an advocate's own dashboard: `/portal/{token}`.

A token names the advocate (their customer id) and an expiry time, signed with HMAC-SHA256 under a
key of its own, so a link cannot be edited into someone else's dashboard and stops working
when it expires. It carries no personal data. The emails that carry it are sent again and
again (invitations, reward notices), each with a fresh link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

_CONTEXT: Final = b"referral-portal-v1"
_SIGNATURE_BYTES: Final = 16
_TOKEN: Final = re.compile(r"^([1-9][0-9]{0,18})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{22})$")
DEFAULT_LIFETIME: Final = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class PortalAccess:
    customer_id: int
    expires_at: datetime
    expired: bool


def portal_key(secret: bytes) -> bytes:
    """A key of its own, derived from a deployment secret: a portal link and an unsubscribe
    link can never be turned into one another."""
    if not secret:
        raise ValueError("the portal signing secret must not be empty")
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


def portal_token(customer_id: int, expires_at: datetime, key: bytes) -> str:
    if customer_id < 1:
        raise ValueError("customer id must be positive")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be aware (UTC)")
    body = f"{customer_id}.{int(expires_at.timestamp())}"
    return f"{body}.{_sign(body, key)}"


def read_portal_token(token: str, key: bytes, now: datetime) -> PortalAccess | None:
    """Whose dashboard a genuine token opens, and whether it has expired; None when the
    token is not one of ours (edited, forged, truncated)."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    customer, expires, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(f"{customer}.{expires}", key)):
        return None
    expires_at = datetime.fromtimestamp(int(expires), UTC)
    return PortalAccess(int(customer), expires_at, expired=now >= expires_at)


def portal_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/portal/{quote(token, safe='')}"


def _sign(body: str, key: bytes) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
