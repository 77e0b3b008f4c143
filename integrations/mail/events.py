"""Provider delivery events, parsed into one shape, and the SendGrid signed webhook check.

Pure functions over bytes and dicts, like `integrations.webhooks`: `web/` caps and reads the
body, verifies it (SendGrid: `verify_sendgrid_events`; Postmark signs nothing, so its
webhook URL carries basic-auth credentials), writes the inbox row, and a task applies the
parsed events to invitations and suppressions.

`DeliveryEvent.permanent` says the address should not be mailed again: a hard bounce, a
spam complaint, an unsubscribe, a drop because the provider already suppresses the address.
`idempotency_key` is the key the senders put into SendGrid's custom arguments and
Postmark's metadata: it finds the outbox row even when the send's answer was lost.

Events that are none of the kinds (SendGrid `processed` and `group_resubscribe`, Postmark
auto-replies, address-change notices and reactivations) are left out, not errors. A body
that is not what the provider sends raises `MalformedPayload`, naming the field, never
its content.

SendGrid quirks handled here:

- `sg_message_id` is the `X-Message-Id` from the send plus a suffix from SendGrid's
  pipeline (`<X-Message-Id>.filterdrecv-...-0.0`, `<X-Message-Id>.recvd-...`); older ids
  contain dots themselves (`14c5d75ce93.dfd.64b469.filter0001...`), so the suffix is cut at
  `.filter` / `.recvd` when present and at the first dot otherwise;
- a `bounce` event with `type: "blocked"` is a temporary refusal, not a hard bounce;
- custom arguments arrive as top-level fields of each event.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from integrations.webhooks.errors import MalformedPayload, SignatureError

EventKind = Literal[
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "spam_report",
    "unsubscribed",
    "deferred",
    "dropped",
]
IDEMPOTENCY_FIELD: Final = "idempotency_key"
DEFAULT_TOLERANCE: Final = 300
SENDGRID_SIGNATURE_HEADER: Final = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER: Final = "X-Twilio-Email-Event-Webhook-Timestamp"

_SECONDS: Final = re.compile(r"[0-9]{1,12}")
_SENDGRID_SUFFIX: Final = re.compile(r"^(.+?)\.(?:filter|recvd)")

_SENDGRID_KINDS: Final[dict[str, EventKind]] = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "deferred": "deferred",
    "dropped": "dropped",
}
# `dropped` reasons that mean SendGrid suppresses the address itself: every later send to
# it is dropped too.
_SENDGRID_SUPPRESSED: Final = frozenset(
    {"bounced address", "spam reporting address", "unsubscribed address", "invalid"}
)

# Postmark bounce types (its Bounce API list) that say the address is gone for good.
_POSTMARK_HARD: Final = frozenset({"HardBounce", "BadEmailAddress", "ManuallyDeactivated"})
# Notices that arrive as bounces but say nothing about delivery.
_POSTMARK_NOT_BOUNCES: Final = frozenset(
    {
        "AutoResponder",
        "AddressChange",
        "Subscribe",
        "ChallengeVerification",
        "OpenRelayTest",
        "InboundError",
    }
)
_POSTMARK_TIME: Final = {
    "Delivery": "DeliveredAt",
    "Bounce": "BouncedAt",
    "SpamComplaint": "BouncedAt",
    "Open": "ReceivedAt",
    "Click": "ReceivedAt",
    "SubscriptionChange": "ChangedAt",
}


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    provider: str
    provider_message_id: str | None
    kind: EventKind
    address: str | None
    occurred_at: datetime
    permanent: bool
    idempotency_key: str | None = None
    event_id: str | None = None  # the provider's id for this event, where it gives one


# --- SendGrid -----------------------------------------------------------------------------


def parse_sendgrid_events(payload: bytes | str | Sequence[Any]) -> list[DeliveryEvent]:
    """The Event Webhook body (a JSON array of events), raw or already decoded."""
    items = _decoded(payload) if isinstance(payload, bytes | str) else payload
    if not isinstance(items, list | tuple):
        raise MalformedPayload("the SendGrid event body is not a JSON array")
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise MalformedPayload(f"SendGrid event {index} is not an object")
        event = _sendgrid_event(index, item)
        if event is not None:
            events.append(event)
    return events


def sendgrid_message_id(sg_message_id: str) -> str:
    """The `X-Message-Id` the send returned, from an event's `sg_message_id`."""
    match = _SENDGRID_SUFFIX.match(sg_message_id)
    if match:
        return match.group(1)
    return sg_message_id.split(".", 1)[0]


def _sendgrid_event(index: int, item: Mapping[str, Any]) -> DeliveryEvent | None:
    name = item.get("event")
    if not isinstance(name, str):
        raise MalformedPayload(f"SendGrid event {index} has no event field")
    kind = _SENDGRID_KINDS.get(name)
    if kind is None:
        return None
    stamp = item.get("timestamp")
    if isinstance(stamp, str) and _SECONDS.fullmatch(stamp):
        stamp = int(stamp)
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise MalformedPayload(f"SendGrid event {index} has no usable timestamp")
    try:
        occurred_at = datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayload(f"SendGrid event {index} has no usable timestamp") from None
    sg_message_id = _text(item.get("sg_message_id"))
    if kind == "bounced":
        # "bounce" is permanent; "blocked" is a temporary refusal (reputation, content).
        permanent = str(item.get("type", "bounce")).lower() != "blocked"
    elif kind == "dropped":
        permanent = str(item.get("reason", "")).strip().lower() in _SENDGRID_SUPPRESSED
    else:
        permanent = kind in ("spam_report", "unsubscribed")
    return DeliveryEvent(
        provider="sendgrid",
        provider_message_id=sendgrid_message_id(sg_message_id) if sg_message_id else None,
        kind=kind,
        address=_text(item.get("email")),
        occurred_at=occurred_at,
        permanent=permanent,
        idempotency_key=_text(item.get(IDEMPOTENCY_FIELD)),
        event_id=_text(item.get("sg_event_id")),
    )


def verify_sendgrid_events(
    public_key_b64: str | Sequence[str],
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """SendGrid's Signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64 DER, in
    `X-Twilio-Email-Event-Webhook-Signature`) over the timestamp header's text followed by
    the raw body. `public_key_b64` is the verification key as the SendGrid settings page
    shows it (base64 DER, PEM also accepted), or several during a key change. Raises
    SignatureError, or ValueError for a key that is no P-256 public key.

    SendGrid documents no clock window and retries failed posts for up to 24 hours; the
    window here is DESIGN.md's 300 seconds, so the endpoint must answer 2xx promptly.
    """
    keys = [
        _sendgrid_key(k)
        for k in ([public_key_b64] if isinstance(public_key_b64, str) else public_key_b64)
    ]
    if not keys:
        raise ValueError("no SendGrid verification key")
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    if not signature:
        raise SignatureError("missing signature header")
    if not timestamp:
        raise SignatureError("missing timestamp header")
    sent = timestamp.strip()
    if not _SECONDS.fullmatch(sent):
        raise SignatureError("malformed timestamp")
    if abs(now - int(sent)) > tolerance:
        raise SignatureError("timestamp outside tolerance")
    try:
        der = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed signature") from None
    signed = sent.encode() + body
    for key in keys:
        try:
            key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            return
        except (InvalidSignature, ValueError):
            continue
    raise SignatureError("no signature matched")


def _sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    try:
        stripped = text.strip()
        if stripped.startswith("-----BEGIN"):
            key = load_pem_public_key(stripped.encode())
        else:
            key = load_der_public_key(base64.b64decode(stripped, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise ValueError("the SendGrid verification key is not a public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the SendGrid verification key is not an ECDSA P-256 key")
    return key


# --- Postmark -----------------------------------------------------------------------------


def parse_postmark_event(payload: bytes | str | Mapping[str, Any]) -> DeliveryEvent | None:
    """One Postmark webhook body (Postmark posts one record per request), raw or decoded;
    None for a record that is none of the kinds."""
    data = _decoded(payload) if isinstance(payload, bytes | str) else payload
    if not isinstance(data, Mapping):
        raise MalformedPayload("the Postmark webhook body is not a JSON object")
    record = data.get("RecordType")
    if not isinstance(record, str):
        raise MalformedPayload("the Postmark webhook has no RecordType")
    time_field = _POSTMARK_TIME.get(record)
    if time_field is None:
        return None
    classified = _postmark_kind(record, data)
    if classified is None:
        return None
    kind, permanent = classified
    address_field = "Email" if record in ("Bounce", "SpamComplaint") else "Recipient"
    metadata = data.get("Metadata")
    event_id = data.get("ID") if record in ("Bounce", "SpamComplaint") else None
    return DeliveryEvent(
        provider="postmark",
        provider_message_id=_text(data.get("MessageID")),
        kind=kind,
        address=_text(data.get(address_field)),
        occurred_at=_iso_time(data.get(time_field), time_field),
        permanent=permanent,
        idempotency_key=(
            _text(metadata.get(IDEMPOTENCY_FIELD)) if isinstance(metadata, Mapping) else None
        ),
        event_id=str(event_id) if isinstance(event_id, int | str) and event_id != "" else None,
    )


def _postmark_kind(record: str, data: Mapping[str, Any]) -> tuple[EventKind, bool] | None:
    if record == "Delivery":
        return "delivered", False
    if record == "Open":
        return "opened", False
    if record == "Click":
        return "clicked", False
    if record == "SpamComplaint":
        return "spam_report", True
    if record == "Bounce":
        bounce_type = data.get("Type")
        if not isinstance(bounce_type, str):
            raise MalformedPayload("the Postmark bounce has no Type")
        if bounce_type in _POSTMARK_NOT_BOUNCES:
            return None
        if bounce_type == "SpamComplaint":
            return "spam_report", True
        if bounce_type == "Unsubscribe":
            return "unsubscribed", True
        # Inactive: Postmark itself stopped sending to the address after this bounce.
        return "bounced", bounce_type in _POSTMARK_HARD or data.get("Inactive") is True
    # SubscriptionChange: SuppressSending false is a reactivation, none of the kinds.
    if data.get("SuppressSending") is not True:
        return None
    reason = data.get("SuppressionReason")
    if reason == "HardBounce":
        return "bounced", True
    if reason == "SpamComplaint":
        return "spam_report", True
    return "unsubscribed", True


# --- shared -------------------------------------------------------------------------------


def _decoded(payload: bytes | str) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload("the body is not JSON") from None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _iso_time(value: object, field: str) -> datetime:
    """Postmark's times: ISO 8601 with up to 7 fractional digits and an offset or Z."""
    if not isinstance(value, str):
        raise MalformedPayload(f"the Postmark webhook has no {field}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise MalformedPayload(f"the Postmark webhook's {field} is not a time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
