"""Is this request really from the provider? One verifier per signing scheme.

Each verifier takes the raw body bytes exactly as received (a body parsed and re-serialized
no longer matches its signature), the headers as plain strings, the secrets, and `now` in
unix seconds. `now` is a parameter so the caller decides which clock counts and tests are
deterministic. A verifier returns normally or raises `SignatureError`; a missing or garbled
header is a `SignatureError` like a wrong signature, never an unhandled exception, because
either way the request is a stranger's. A secret that cannot be a secret (empty, malformed)
is the operator's mistake and raises `ValueError`: the request is not to blame.

Shared rules (DESIGN.md section 8):

- several secrets are accepted, any one may match, so a secret can be rotated without a
  window in which real deliveries fail;
- signatures are compared with `hmac.compare_digest`, so response timing does not tell an
  attacker how many leading characters of a guess were right;
- a signed timestamp must be within `tolerance` seconds of `now` in both directions: a
  replay of an old delivery fails, and so does one dated in the future (a leaked signature
  of a future-dated request would otherwise stay usable until its date comes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import urlsplit

from integrations.webhooks.errors import SignatureError

DEFAULT_TOLERANCE: Final = 300
STANDARD_SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret

# ASCII digits only: str.isdigit() also accepts "²" and other digits int() then refuses.
_SECONDS: Final = re.compile(r"[0-9]{1,12}")
_MILLISECONDS: Final = re.compile(r"[0-9]{1,15}")

# HubSpot signs the URI with these escapes decoded, and only these (its v3 validation docs
# list them). One left-to-right pass, so "%253A" stays "%253A" as it does on HubSpot's side.
_HUBSPOT_DECODED: Final = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_HUBSPOT_ESCAPE: Final = re.compile("|".join(re.escape(e) for e in _HUBSPOT_DECODED))


def verify_hubspot_v3(
    *,
    method: str,
    uri: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """HubSpot request signature v3 (`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp`).

    The signature is base64(HMAC-SHA256(client secret, method + uri + body + timestamp)),
    the timestamp is in milliseconds. `uri` is the full URL HubSpot called, scheme, host,
    path and query, as HubSpot sees it: behind a proxy the caller rebuilds it from the
    public base URL, not from the address the proxy forwarded to. The v1/v2 signatures
    HubSpot still sends alongside carry no timestamp and are deliberately not supported.
    """
    keys = _secret_keys(secrets)
    if not signature:
        raise SignatureError("missing signature header")
    if not timestamp:
        raise SignatureError("missing timestamp header")
    sent_ms = timestamp.strip()
    if not _MILLISECONDS.fullmatch(sent_ms):
        raise SignatureError("malformed timestamp")
    _check_age(int(sent_ms) / 1000, now, tolerance)
    signed_uri = _HUBSPOT_ESCAPE.sub(lambda m: _HUBSPOT_DECODED[m.group(0)], uri)
    message = b"".join((method.encode(), signed_uri.encode(), body, sent_ms.encode()))
    provided = signature.strip().encode()
    for key in keys:
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())
        if hmac.compare_digest(expected, provided):
            return
    raise SignatureError("no signature matched")


def verify_stripe(
    *,
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Stripe's `Stripe-Signature: t=<unix seconds>,v1=<hex>,v1=<hex>,v0=<hex>`.

    Each v1 is hex(HMAC-SHA256(endpoint secret, f"{t}.{body}")); Stripe sends several while
    an endpoint secret is being rolled, and any one matching is enough. v0 is a test-mode
    scheme and ignored. Unlike Standard Webhooks, the whole `whsec_...` string is the key
    as it is: it is not base64-decoded.
    """
    keys = _secret_keys(secrets)
    if not header:
        raise SignatureError("missing signature header")
    sent, signatures = _stripe_parts(header)
    _check_age(int(sent), now, tolerance)
    message = sent.encode() + b"." + body
    for key in keys:
        expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
        if any(hmac.compare_digest(expected, s.encode()) for s in signatures):
            return
    raise SignatureError("no signature matched")


def verify_standard(
    *,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> str:
    """Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); returns
    the webhook id, the key to deduplicate deliveries on.

    The signature header is a space-separated list of `v1,<base64 HMAC-SHA256>` entries
    over f"{id}.{timestamp}.{body}", keyed with the bytes the secret's base64 (after
    `whsec_`) decodes to. Entries of other versions (`v1a` is asymmetric ed25519) are
    skipped. Header names are matched case-insensitively, as HTTP says they are.

    Written out rather than taken from the `standardwebhooks` package: its `Webhook.verify`
    reads the system clock with a fixed five minutes, decodes the body as UTF-8 and lets
    malformed headers escape as ValueError; the tests use it as an independent signer.
    """
    keys = [_standard_key(secret) for secret in _checked(secrets)]
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id", "").strip()
    sent = lowered.get("webhook-timestamp", "").strip()
    signature = lowered.get("webhook-signature", "").strip()
    if not webhook_id:
        raise SignatureError("missing webhook id header")
    if not sent:
        raise SignatureError("missing timestamp header")
    if not signature:
        raise SignatureError("missing signature header")
    if not _SECONDS.fullmatch(sent):
        raise SignatureError("malformed timestamp")
    _check_age(int(sent), now, tolerance)
    message = f"{webhook_id}.{sent}.".encode() + body
    provided = []
    for entry in signature.split():
        version, comma, encoded = entry.partition(",")
        if version == "v1" and comma:
            try:
                provided.append(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError):
                continue
    for key in keys:
        expected = hmac.new(key, message, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, p) for p in provided):
            return webhook_id
    raise SignatureError("no signature matched")


def verify_twilio(
    *,
    url: str,
    params: Mapping[str, str],
    signature: str | None,
    auth_token: str,
) -> None:
    """Twilio's `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, url + each POST parameter
    name followed by its value, names sorted case-sensitively)).

    Twilio signs no timestamp, so a captured request can be replayed for ever; replays are
    stopped upstream by deduplicating on MessageSid, which every delivery carries. `url` is
    the full URL Twilio requested, query string included. Twilio is not consistent about
    default ports in what it signs (its own SDK checks both), so the URL is tried as given,
    without its port and with the scheme's default port. A parameter sent twice must be
    passed once per value by the caller; a Mapping cannot, so such requests fail (inbound
    SMS and status callbacks send each name once). JSON bodies (`bodySHA256`) are not
    supported.
    """
    if not auth_token:
        raise ValueError("the Twilio auth token must not be empty")
    if not signature:
        raise SignatureError("missing signature header")
    key = auth_token.encode()
    signed_params = "".join(name + params[name] for name in sorted(params))
    provided = signature.strip().encode()
    for candidate in _twilio_urls(url):
        digest = hmac.new(key, (candidate + signed_params).encode(), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest), provided):
            return
    raise SignatureError("no signature matched")


def _checked(secrets: Sequence[str]) -> Sequence[str]:
    # A lone string is a Sequence[str] too: each of its characters would become a secret.
    if isinstance(secrets, str | bytes):
        raise TypeError("secrets must be a sequence of secrets, not one string")
    if not secrets or not all(secrets):
        raise ValueError("at least one webhook secret is needed, and none may be empty")
    return secrets


def _secret_keys(secrets: Sequence[str]) -> list[bytes]:
    return [secret.encode() for secret in _checked(secrets)]


def _standard_key(secret: str) -> bytes:
    if not secret.startswith(STANDARD_SECRET_PREFIX):
        raise ValueError(f"a Standard Webhooks secret starts with {STANDARD_SECRET_PREFIX}")
    encoded = secret.removeprefix(STANDARD_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a Standard Webhooks secret is whsec_ and base64") from None
    if not key:
        raise ValueError("a Standard Webhooks secret must not be empty")
    return key


def _check_age(sent_at: float, now: float, tolerance: int) -> None:
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    if abs(now - sent_at) > tolerance:
        raise SignatureError("timestamp outside tolerance")


def _stripe_parts(header: str) -> tuple[str, list[str]]:
    """(t, the v1 signatures) of a Stripe-Signature header."""
    sent: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, equals, value = item.strip().partition("=")
        if not name and not equals:
            continue  # an empty item, as from a trailing comma
        if not name or not equals:
            raise SignatureError("malformed signature header")
        if name == "t":
            if sent is not None:
                raise SignatureError("malformed signature header")
            sent = value
        elif name == "v1" and value:
            signatures.append(value)
    if sent is None:
        raise SignatureError("missing timestamp header")
    if not _SECONDS.fullmatch(sent):
        raise SignatureError("malformed timestamp")
    if not signatures:
        raise SignatureError("malformed signature header")
    return sent, signatures


def _twilio_urls(url: str) -> list[str]:
    """`url` as given, without its port, and with the scheme's default port if it has none.

    The netloc is replaced in the original string rather than the URL being rebuilt, which
    would normalize other parts (an empty query's "?") and change what was signed.
    """
    candidates = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return candidates
    default = {"https": 443, "http": 80}.get(parts.scheme)
    start = url.find("//") + 2
    end = start + len(parts.netloc)
    if default is None or not parts.netloc or url[start:end] != parts.netloc:
        return candidates
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport[: hostport.rfind(":")] if port is not None else hostport
    for netloc in (f"{userinfo}{at}{host}", f"{userinfo}{at}{host}:{port or default}"):
        candidate = url[:start] + netloc + url[end:]
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates
