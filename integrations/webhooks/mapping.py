"""Provider webhook payloads turned into `referral.events.Event` dicts, or into nothing.

Pure functions over already-verified, already-parsed JSON. A payload of a type we do not use
maps to [] (it was delivered, it is simply not ours to act on); a payload of a type we do use
that lacks what the type must carry raises MalformedPayload, naming the field and never its
value. Each dict validates with `Event.model_validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from integrations.webhooks.errors import MalformedPayload
from referral.money import MoneyError, check_currency, to_minor

Keyword = Literal["stop", "start", "help"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# Stripe's own minor units, which are not always ISO 4217's: ISK is two-decimal in Stripe's
# API (100 = 1 krona) while ISO says zero, and Stripe counts several ISO two-decimal
# currencies (MGA) as zero-decimal. Every other currency is two-decimal in Stripe's API.
_STRIPE_ZERO_DECIMAL: Final = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
_STRIPE_THREE_DECIMAL: Final = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])
_STRIPE_PURCHASES: Final = ("charge.succeeded", "payment_intent.succeeded")
_STRIPE_REFUNDS: Final = ("charge.refunded",)

# A contact property change, in the classic and in the generic ("object.*") subscriptions;
# 0-1 is HubSpot's object type id for contacts.
_HUBSPOT_CONTACT_CHANGE: Final = "contact.propertyChange"
_HUBSPOT_OBJECT_CHANGE: Final = "object.propertyChange"
_HUBSPOT_CONTACT_TYPE: Final = "0-1"

# Twilio's default keywords, matched against the whole trimmed body, case-insensitively.
_SMS_KEYWORDS: Final[dict[str, Keyword]] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "stop"
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "start"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}
_TWILIO_OPT_OUT_TYPES: Final[dict[str, Keyword]] = {
    "STOP": "stop",
    "START": "start",
    "HELP": "help",
}


@dataclass(frozen=True, slots=True)
class InboundSms:
    """One SMS received by Twilio. The number and text are personal data: kept out of repr
    so logging the object shows the sid and keyword only."""

    message_sid: str
    from_number: str = field(repr=False)
    body: str = field(repr=False)
    keyword: Keyword | None


def stripe_events(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A Stripe event as purchase or refund events.

    - `charge.succeeded` (once captured; an authorization alone is not a purchase) and
      `payment_intent.succeeded` -> purchase, amount captured / received;
    - `charge.refunded` -> refund of what this event refunded: the rise of `amount_refunded`
      over `data.previous_attributes.amount_refunded`. Only when Stripe sends no previous
      value is it the cumulative `amount_refunded`, which counts an earlier partial refund
      of the same charge twice; refunds are summed per order downstream, so the delta is
      what is wanted;
    - everything else -> [].

    `order_id` is the PaymentIntent id for both, so a refund of a charge finds the purchase
    of its payment whichever event recorded that; a charge made without a PaymentIntent
    (the legacy Charges API) uses its own id on both sides. A purchase's `id` is
    `stripe:purchase:<order id>`, so an endpoint subscribed to both charge.succeeded and
    payment_intent.succeeded records one purchase per payment; a refund's is the Stripe
    event id, so each partial refund counts once and a redelivered one not again.

    The customer is `metadata.external_id`, else the Stripe customer (`cus_...`), else (a
    guest checkout) `stripe-guest:<order id>`, the same for a purchase and its refund. Stripe
    does not copy a PaymentIntent's metadata to its charges: metadata used here must be on
    the object the subscribed events carry, or the purchase and its refund name different
    customers. Amounts are converted from Stripe's minor units to ours.
    """
    kind = _mapping(payload, "a Stripe event").get("type")
    if kind not in _STRIPE_PURCHASES + _STRIPE_REFUNDS:
        return []
    data = _mapping(payload.get("data"), "data")
    obj = _mapping(data.get("object"), "data.object")
    if kind == "charge.succeeded" and obj.get("captured") is False:
        return []
    if kind == "payment_intent.succeeded":
        order_id = _text(obj.get("id"), "data.object.id")
        amount = _first_positive(obj, "amount_received", "amount")
    else:
        charge_id = _text(obj.get("id"), "data.object.id")
        order_id = _id_of(obj.get("payment_intent")) or charge_id
        if kind == "charge.succeeded":
            amount = _first_positive(obj, "amount_captured", "amount")
        else:
            amount = _refunded_now(obj, data.get("previous_attributes"))
            if amount <= 0:
                return []
    stripe_currency = _text(obj.get("currency"), "data.object.currency").lower()
    currency = _currency(stripe_currency)
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    billing = obj.get("billing_details")
    billing = billing if isinstance(billing, Mapping) else {}
    customer = _compact(
        external_id=_opt_text(metadata.get("external_id"))
        or _id_of(obj.get("customer"))
        or f"stripe-guest:{order_id}",
        email=_opt_text(billing.get("email")) or _opt_text(obj.get("receipt_email")),
        phone=_opt_text(billing.get("phone")),
        name=_opt_text(billing.get("name")),
    )
    created = payload.get("created", obj.get("created"))
    event_id = _text(payload.get("id"), "id")
    return [
        _compact(
            id=event_id if kind in _STRIPE_REFUNDS else f"stripe:purchase:{order_id}",
            type="refund" if kind in _STRIPE_REFUNDS else "purchase",
            occurred_at=_from_seconds(created, "created"),
            customer=customer,
            order_id=order_id,
            amount=_stripe_to_minor(amount, stripe_currency, currency),
            currency=currency,
            referral_code=_opt_text(metadata.get("referral_code")),
            payment_fingerprint=_card_fingerprint(obj),
        )
    ]


def hubspot_events(payload: list[Any], *, nps_property: str = "nps_score") -> list[dict[str, Any]]:
    """A HubSpot webhook batch (a JSON array of subscription events) as nps events.

    A contact property change of `nps_property` to a whole number 0-10 is an nps event for
    customer `str(objectId)`; a change to anything else (cleared, "7.5", "great") and every
    other subscription is skipped. HubSpot says `eventId` is not guaranteed to be unique,
    so `id` is `hubspot:<eventId>:<objectId>:<occurredAt>`: a retry of one notification
    keeps all three and dedupes, two changes that happen to share an eventId do not.
    """
    if not isinstance(payload, list):
        raise MalformedPayload("a HubSpot webhook body is a JSON array")
    events = []
    for item in payload:
        change = _mapping(item, "subscription event")
        if not _is_contact_change(change) or change.get("propertyName") != nps_property:
            continue
        score = _nps_score(change.get("propertyValue"))
        if score is None:
            continue
        event_id = _whole(change.get("eventId"), "eventId")
        object_id = _whole(change.get("objectId"), "objectId")
        occurred_ms = _whole(change.get("occurredAt"), "occurredAt")
        events.append(
            {
                "id": f"hubspot:{event_id}:{object_id}:{occurred_ms}",
                "type": "nps",
                "occurred_at": (_EPOCH + timedelta(milliseconds=occurred_ms)).isoformat(),
                "customer": {"external_id": str(object_id)},
                "score": score,
            }
        )
    return events


def twilio_inbound(params: Mapping[str, str]) -> InboundSms:
    """An inbound SMS webhook's form fields, with the opt-out keyword it carries if any.

    Twilio itself blocks a number that sends STOP (and unblocks on START) before we see it;
    we suppress the address at once as well, so email, other senders and Twilio numbers
    outside the Messaging Service respect it too. Only a body that is exactly one keyword
    counts, as for Twilio: "stop it" and "please cancel" are ordinary messages. When a
    Messaging Service with Advanced Opt-Out has matched one of its own keywords, Twilio
    says so in `OptOutType`, which wins.
    """
    message_sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    if not message_sid:
        raise MalformedPayload("MessageSid missing")
    from_number = (params.get("From") or "").strip()
    if not from_number:
        raise MalformedPayload("From missing")
    body = params.get("Body") or ""
    opt_out_type = (params.get("OptOutType") or "").strip().upper()
    keyword = _TWILIO_OPT_OUT_TYPES.get(opt_out_type) or _SMS_KEYWORDS.get(body.strip().upper())
    return InboundSms(message_sid, from_number, body, keyword)


def _is_contact_change(change: Mapping[str, Any]) -> bool:
    kind = change.get("subscriptionType")
    return kind == _HUBSPOT_CONTACT_CHANGE or (
        kind == _HUBSPOT_OBJECT_CHANGE and change.get("objectTypeId") == _HUBSPOT_CONTACT_TYPE
    )


def _nps_score(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    score = int(number)
    return score if 0 <= score <= 10 else None


def _refunded_now(charge: Mapping[str, Any], previous: object) -> int:
    total = _whole(charge.get("amount_refunded"), "data.object.amount_refunded")
    before = previous.get("amount_refunded") if isinstance(previous, Mapping) else None
    if isinstance(before, int) and not isinstance(before, bool):
        return total - before
    return total


def _stripe_to_minor(amount: int, stripe_currency: str, currency: str) -> int:
    if stripe_currency in _STRIPE_ZERO_DECIMAL:
        places = 0
    elif stripe_currency in _STRIPE_THREE_DECIMAL:
        places = 3
    else:
        places = 2
    try:
        return to_minor(Decimal(amount).scaleb(-places), currency)
    except MoneyError:
        raise MalformedPayload(f"amount has more decimals than {currency} allows") from None


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except MoneyError:
        raise MalformedPayload("data.object.currency is not an ISO 4217 code") from None


def _card_fingerprint(obj: Mapping[str, Any]) -> str | None:
    details = obj.get("payment_method_details")
    card = details.get("card") if isinstance(details, Mapping) else None
    return _opt_text(card.get("fingerprint")) if isinstance(card, Mapping) else None


def _first_positive(obj: Mapping[str, Any], *names: str) -> int:
    for name in names:
        value = obj.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    raise MalformedPayload(f"data.object.{names[-1]} missing or not a positive integer")


def _from_seconds(value: object, name: str) -> str:
    return (_EPOCH + timedelta(seconds=_whole(value, name))).isoformat()


def _id_of(value: object) -> str | None:
    """An id that Stripe sends as a string, or as an object when it was expanded."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return _opt_text(value)


def _compact(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{name} is not an object")
    return value


def _text(value: object, name: str) -> str:
    text = _opt_text(value)
    if text is None:
        raise MalformedPayload(f"{name} missing")
    return text


def _opt_text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{name} missing or not an integer")
    return value
