"""Provider delivery events into DeliveryEvent, and SendGrid's signed event webhook.

Payloads follow the samples in SendGrid's Event Webhook reference and Postmark's webhook
documentation (field names, time formats, id formats), with example.com addresses. Signed
SendGrid requests are signed here with a key pair made for the test, using `cryptography`
directly, never the code under test.
"""

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from integrations.mail.events import (
    DeliveryEvent,
    parse_postmark_event,
    parse_sendgrid_events,
    sendgrid_message_id,
    verify_sendgrid_events,
)
from integrations.webhooks.errors import MalformedPayload, SignatureError

# --- SendGrid -------------------------------------------------------------------------------

X_MESSAGE_ID = "W86EgYT6SQKk0lRflfLRsA"
SG_MESSAGE_ID = f"{X_MESSAGE_ID}.filterdrecv-p3las1-5bf99c48d-fn2zt-18-5E0D0F5E-E.0"
OLD_SG_MESSAGE_ID = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000"


def sg(event, **fields):
    return {
        "email": "ada@example.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "category": "cat facts",
        "sg_event_id": f"{event}-rbtnWrG1DVDGGGFHFyun0A",
        "sg_message_id": SG_MESSAGE_ID,
        "idempotency_key": "notify:grant:42",  # our custom argument, merged into the event
        **fields,
    }


SENDGRID_BATCH = [
    sg("processed"),
    sg("deferred", response="400 try again later", attempt="5"),
    sg("delivered", response="250 OK"),
    sg(
        "open",
        useragent="Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322)",
        ip="255.255.255.255",
        sg_machine_open=False,
    ),
    sg(
        "click",
        useragent="Mozilla/4.0",
        ip="255.255.255.255",
        url="https://refer.example.com/r/ADA7",
        url_offset={"index": 0, "type": "html"},
    ),
    sg(
        "bounce",
        reason="500 unknown recipient",
        status="5.0.0",
        type="bounce",
        bounce_classification="Invalid Address",
    ),
    sg("bounce", reason="550 blocked for spam", status="5.7.1", type="blocked"),
    sg("dropped", reason="Bounced Address", status="5.0.0"),
    sg("dropped", reason="Spam Content (if spam checker app enabled)", status="5.0.0"),
    sg("spamreport"),
    sg("unsubscribe"),
    sg("group_unsubscribe", asm_group_id=10, url="https://sendgrid.com", ip="255.255.255.255"),
    sg("group_resubscribe", asm_group_id=10, url="https://sendgrid.com", ip="255.255.255.255"),
]


def test_sendgrid_events_map_to_the_normalized_kinds_and_skip_the_rest():
    events = parse_sendgrid_events(json.dumps(SENDGRID_BATCH).encode())
    assert [(e.kind, e.permanent) for e in events] == [
        ("deferred", False),
        ("delivered", False),
        ("opened", False),
        ("clicked", False),
        ("bounced", True),
        ("bounced", False),  # type "blocked": a temporary refusal
        ("dropped", True),  # SendGrid already suppresses the address
        ("dropped", False),  # the content, not the address
        ("spam_report", True),
        ("unsubscribed", True),
        ("unsubscribed", True),
    ]


def test_a_sendgrid_event_carries_the_send_id_address_time_event_id_and_our_key():
    [event] = parse_sendgrid_events(json.dumps([sg("delivered")]))
    assert event == DeliveryEvent(
        provider="sendgrid",
        provider_message_id=X_MESSAGE_ID,
        kind="delivered",
        address="ada@example.com",
        occurred_at=datetime(2017, 12, 15, 0, 59, 29, tzinfo=UTC),
        permanent=False,
        idempotency_key="notify:grant:42",
        event_id="delivered-rbtnWrG1DVDGGGFHFyun0A",
    )


@pytest.mark.parametrize(
    ("sg_message_id", "x_message_id"),
    [
        (SG_MESSAGE_ID, X_MESSAGE_ID),
        ("Bq3lBRJcSlWCnPrPQ0J0Ng.recvd-5cf5f58fd-t8kn6-1-5F8A0E2D-19.0", "Bq3lBRJcSlWCnPrPQ0J0Ng"),
        (OLD_SG_MESSAGE_ID, "14c5d75ce93.dfd.64b469"),  # the old ids have dots of their own
        ("W86EgYT6SQKk0lRflfLRsA.0", X_MESSAGE_ID),
        (X_MESSAGE_ID, X_MESSAGE_ID),
    ],
)
def test_the_sendgrid_message_id_is_the_x_message_id_without_the_pipeline_suffix(
    sg_message_id, x_message_id
):
    assert sendgrid_message_id(sg_message_id) == x_message_id


def test_a_sendgrid_event_without_a_message_id_or_our_key_still_parses():
    bare = {"email": "ada@example.com", "timestamp": 1513299569, "event": "unsubscribe"}
    [event] = parse_sendgrid_events([bare])
    assert event.provider_message_id is None
    assert event.idempotency_key is None
    assert event.kind == "unsubscribed"


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"not json", "not JSON"),
        (b'{"event": "delivered"}', "not a JSON array"),
        (b"[42]", "event 0 is not an object"),
        (b'[{"timestamp": 1513299569}]', "event 0 has no event field"),
        (b'[{"event": "delivered", "email": "ada@example.com"}]', "event 0 has no usable"),
        (b'[{"event": "open", "timestamp": "yesterday"}]', "event 0 has no usable"),
    ],
)
def test_a_body_that_is_not_sendgrids_is_malformed_and_the_error_quotes_nothing(body, names):
    with pytest.raises(MalformedPayload, match=names) as error:
        parse_sendgrid_events(body)
    assert "ada@example.com" not in str(error.value)


# --- SendGrid signed event webhook ----------------------------------------------------------

NOW = 1_760_000_000
BODY = json.dumps([sg("delivered")], separators=(",", ":")).encode() + b"\r\n"


def key_pair():
    private = ec.generate_private_key(ec.SECP256R1())
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public_der).decode()


@pytest.fixture(scope="module")
def keys():
    return key_pair()


def signed(private, body=BODY, timestamp=NOW):
    signature = private.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode(), str(timestamp)


def test_a_correctly_signed_sendgrid_body_verifies(keys):
    private, public = keys
    signature, timestamp = signed(private)
    verify_sendgrid_events(public, BODY, signature, timestamp, now=NOW + 10)


def test_the_verification_key_may_be_given_as_pem(keys):
    private, public = keys
    pem = f"-----BEGIN PUBLIC KEY-----\n{public}\n-----END PUBLIC KEY-----\n"
    signature, timestamp = signed(private)
    verify_sendgrid_events(pem, BODY, signature, timestamp, now=NOW)


def test_a_tampered_body_fails(keys):
    private, public = keys
    signature, timestamp = signed(private)
    tampered = BODY.replace(b"delivered", b"bounce")
    with pytest.raises(SignatureError, match="no signature matched"):
        verify_sendgrid_events(public, tampered, signature, timestamp, now=NOW)


def test_a_body_re_serialized_after_parsing_fails(keys):
    private, public = keys
    signature, timestamp = signed(private)
    reserialized = json.dumps(json.loads(BODY)).encode()
    with pytest.raises(SignatureError):
        verify_sendgrid_events(public, reserialized, signature, timestamp, now=NOW)


def test_a_timestamp_changed_after_signing_fails(keys):
    private, public = keys
    signature, _ = signed(private)
    with pytest.raises(SignatureError, match="no signature matched"):
        verify_sendgrid_events(public, BODY, signature, str(NOW + 1), now=NOW)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_stale_or_future_dated_signature_fails_even_when_genuine(keys, age):
    private, public = keys
    signature, timestamp = signed(private)
    with pytest.raises(SignatureError, match="outside tolerance"):
        verify_sendgrid_events(public, BODY, signature, timestamp, now=NOW + age)


def test_a_signature_by_another_key_fails_and_either_key_passes_during_a_key_change(keys):
    _, public = keys
    other_private, other_public = key_pair()
    signature, timestamp = signed(other_private)
    with pytest.raises(SignatureError, match="no signature matched"):
        verify_sendgrid_events(public, BODY, signature, timestamp, now=NOW)
    verify_sendgrid_events([public, other_public], BODY, signature, timestamp, now=NOW)


@pytest.mark.parametrize(
    ("signature", "timestamp", "reason"),
    [
        (None, str(NOW), "missing signature header"),
        ("MEUCIQ==", None, "missing timestamp header"),
        ("MEUCIQ==", "17600000.5", "malformed timestamp"),
        ("not base64!", str(NOW), "malformed signature"),
        (base64.b64encode(b"not a DER signature").decode(), str(NOW), "no signature matched"),
    ],
)
def test_missing_or_garbled_headers_are_a_signature_error_not_a_crash(
    keys, signature, timestamp, reason
):
    _, public = keys
    with pytest.raises(SignatureError, match=reason):
        verify_sendgrid_events(public, BODY, signature, timestamp, now=NOW)


def test_a_verification_key_that_is_not_a_p256_public_key_is_the_operators_mistake():
    rsa_like = base64.b64encode(b"definitely not a key").decode()
    p384 = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for key in (rsa_like, base64.b64encode(p384).decode(), "", []):
        with pytest.raises(ValueError):
            verify_sendgrid_events(key, BODY, "MEUCIQ==", str(NOW), now=NOW)


# --- Postmark -------------------------------------------------------------------------------

PM_MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
METADATA = {"idempotency_key": "notify:grant:42", "a_key": "a_value"}

PM_DELIVERY = {
    "MessageID": PM_MESSAGE_ID,
    "Recipient": "ada@example.com",
    "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
    "Details": "Test delivery webhook details",
    "Tag": "welcome-email",
    "ServerID": 23,
    "Metadata": METADATA,
    "RecordType": "Delivery",
    "MessageStream": "outbound",
}


def pm_bounce(bounce_type, type_code, inactive, record="Bounce"):
    return {
        "RecordType": record,
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": type_code,
        "Name": "Hard bounce",
        "Tag": "Test",
        "MessageID": PM_MESSAGE_ID,
        "Metadata": METADATA,
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "Test bounce details",
        "Email": "ada@example.com",
        "From": "team@shop.example.com",
        "BouncedAt": "2019-11-05T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": inactive,
        "CanActivate": True,
        "Subject": "Test subject",
        "Content": "Return-Path:....",
    }


PM_OPEN = {
    "RecordType": "Open",
    "MessageStream": "outbound",
    "Metadata": METADATA,
    "FirstOpen": True,
    "Recipient": "ada@example.com",
    "MessageID": PM_MESSAGE_ID,
    "ReceivedAt": "2019-11-05T16:33:54.9070259Z",
    "Platform": "WebMail",
    "ReadSeconds": 5,
    "Tag": "welcome-email",
    "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "OS": {"Name": "OS X 10.7 Lion", "Family": "OS X 10", "Company": "Apple Computer, Inc."},
    "Client": {"Name": "Chrome 35.0.1916.153", "Family": "Chrome", "Company": "Google"},
    "Geo": {"CountryISOCode": "RS", "Country": "Serbia", "City": "Novi Sad"},
}
PM_CLICK = {
    **{k: v for k, v in PM_OPEN.items() if k not in ("FirstOpen", "ReadSeconds")},
    "RecordType": "Click",
    "ClickLocation": "HTML",
    "OriginalLink": "https://refer.example.com/r/ADA7",
}


def pm_subscription(suppress, reason):
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": PM_MESSAGE_ID,
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2020-02-01T10:53:34.416071Z",
        "Recipient": "ada@example.com",
        "Origin": "Recipient",
        "SuppressSending": suppress,
        "SuppressionReason": reason,
        "Tag": "my-tag",
        "Metadata": METADATA,
    }


def test_a_postmark_delivery_carries_the_message_id_address_time_and_our_key():
    event = parse_postmark_event(json.dumps(PM_DELIVERY).encode())
    assert event == DeliveryEvent(
        provider="postmark",
        provider_message_id=PM_MESSAGE_ID,
        kind="delivered",
        address="ada@example.com",
        occurred_at=datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC),
        permanent=False,
        idempotency_key="notify:grant:42",
        event_id=None,
    )


@pytest.mark.parametrize(
    ("payload", "kind", "permanent"),
    [
        (pm_bounce("HardBounce", 1, inactive=True), "bounced", True),
        (pm_bounce("BadEmailAddress", 100000, inactive=False), "bounced", True),
        (pm_bounce("SoftBounce", 4096, inactive=False), "bounced", False),
        (pm_bounce("Transient", 2, inactive=False), "bounced", False),
        (pm_bounce("Blocked", 100006, inactive=False), "bounced", False),
        (pm_bounce("DnsError", 256, inactive=True), "bounced", True),  # Postmark deactivated it
        (pm_bounce("Unsubscribe", 16, inactive=True), "unsubscribed", True),
        (
            pm_bounce("SpamComplaint", 512, inactive=True, record="SpamComplaint"),
            "spam_report",
            True,
        ),
        (PM_OPEN, "opened", False),
        (PM_CLICK, "clicked", False),
        (pm_subscription(True, "ManualSuppression"), "unsubscribed", True),
        (pm_subscription(True, "HardBounce"), "bounced", True),
        (pm_subscription(True, "SpamComplaint"), "spam_report", True),
    ],
)
def test_postmark_records_map_to_the_normalized_kinds(payload, kind, permanent):
    event = parse_postmark_event(payload)
    assert (event.kind, event.permanent) == (kind, permanent)
    assert event.address == "ada@example.com"
    assert event.provider_message_id == PM_MESSAGE_ID
    assert event.idempotency_key == "notify:grant:42"


def test_postmark_bounces_and_complaints_carry_their_id_as_the_event_id():
    event = parse_postmark_event(pm_bounce("HardBounce", 1, inactive=True))
    assert event.event_id == "4323372036854775807"
    assert event.occurred_at == datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC)


def test_postmark_times_with_an_offset_are_converted_to_utc():
    event = parse_postmark_event(
        {**PM_DELIVERY, "DeliveredAt": "2014-08-01T13:28:10.2735393-04:00"}
    )
    assert event.occurred_at == datetime(2014, 8, 1, 17, 28, 10, 273539, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        pm_bounce("AutoResponder", 64, inactive=False),  # an out-of-office reply
        pm_bounce("AddressChange", 128, inactive=False),
        pm_subscription(False, None),  # a reactivation
        {"RecordType": "Inbound", "MessageID": PM_MESSAGE_ID},
    ],
)
def test_postmark_records_that_say_nothing_about_delivery_are_left_out(payload):
    assert parse_postmark_event(payload) is None


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"[]", "not a JSON object"),
        (b"{}", "no RecordType"),
        (json.dumps({**PM_DELIVERY, "DeliveredAt": None}).encode(), "no DeliveredAt"),
        (json.dumps({**PM_DELIVERY, "DeliveredAt": "last week"}).encode(), "not a time"),
        (json.dumps({**pm_bounce("HardBounce", 1, True), "Type": None}).encode(), "no Type"),
    ],
)
def test_a_body_that_is_not_postmarks_is_malformed_and_the_error_quotes_nothing(body, names):
    with pytest.raises(MalformedPayload, match=names) as error:
        parse_postmark_event(body)
    assert "ada@example.com" not in str(error.value)
