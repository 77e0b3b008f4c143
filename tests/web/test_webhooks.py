"""Every webhook over real HTTP: a valid signature stores the event once; anything tampered,
stale, future-dated, unsigned or signed with an unknown secret gets 401 and stores nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from db.engine import transaction
from db.models import InboxEvent, Suppression
from tests.integrations.test_salesforce_outbound import ENVELOPE
from tests.web.conftest import (
    HUBSPOT_SECRET,
    PUBLIC,
    STANDARD_SECRETS,
    STRIPE_SECRETS,
    TWILIO_TOKEN,
)

EVENT = {
    "id": "evt-77",
    "type": "signup",
    "occurred_at": "2026-11-20T10:00:00Z",
    "customer": {"external_id": "C-77", "email": "c77@example.com"},
}


def stored(web):
    with transaction(web.engine) as session:
        return session.execute(
            select(InboxEvent.source, InboxEvent.event_id, InboxEvent.status)
        ).all()


# --- Standard Webhooks ---------------------------------------------------------------------


def standard_request(secret=STANDARD_SECRETS[0], *, at=None, msg_id="msg_1", body=None):
    body = body or json.dumps({"type": "signup", "timestamp": "x", "data": EVENT}).encode()
    timestamp = int(time.time()) if at is None else at
    from datetime import UTC, datetime

    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


def test_a_signed_standard_webhook_is_stored_and_a_redelivery_is_a_200(web):
    body, headers = standard_request()
    with web.client() as client:
        first = client.post("/webhooks/standard", content=body, headers=headers)
        again = client.post("/webhooks/standard", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert stored(web) == [("standard", "msg_1", "received")]
    assert len(web.trigger.notified) == 1


def test_the_rotated_in_secret_is_accepted_too(web):
    body, headers = standard_request(STANDARD_SECRETS[1])
    with web.client() as client:
        assert client.post("/webhooks/standard", content=body, headers=headers).status_code == 202


@pytest.mark.parametrize(
    "breakage",
    [
        "tampered body",
        "old timestamp",
        "future timestamp",
        "unknown secret",
        "no signature",
        "garbled signature",
    ],
)
def test_standard_webhooks_that_fail_the_check_get_401_and_store_nothing(web, breakage):
    # Well outside the 300 s window: over HTTP the server's clock moves on while the request
    # travels. The exact boundary is tested with an injected clock in tests/integrations.
    now = int(time.time())
    body, headers = standard_request(
        "whsec_" + base64.b64encode(b"someone-else").decode()
        if breakage == "unknown secret"
        else STANDARD_SECRETS[0],
        at={"old timestamp": now - 400, "future timestamp": now + 400}.get(breakage),
    )
    if breakage == "tampered body":
        body = body.replace(b"C-77", b"C-78")
    if breakage == "no signature":
        del headers["webhook-signature"]
    if breakage == "garbled signature":
        headers["webhook-signature"] = "v1,not base64!"
    with web.client() as client:
        answer = client.post("/webhooks/standard", content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_signature"
    assert stored(web) == []


def test_a_signed_standard_webhook_with_a_bad_event_is_a_422(web):
    bad = json.dumps({"type": "signup", "data": {"id": "x"}}).encode()
    body, headers = standard_request(body=bad)
    with web.client() as client:
        answer = client.post("/webhooks/standard", content=body, headers=headers)
    assert answer.status_code == 422
    assert stored(web) == []


# --- Stripe ----------------------------------------------------------------------------------


def stripe_headers(body: bytes, secret=STRIPE_SECRETS[0], at=None):
    t = int(time.time()) if at is None else at
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={v1}", "content-type": "application/json"}


STRIPE_EVENT = json.dumps(
    {"id": "evt_9", "type": "charge.refunded", "data": {"object": {"id": "ch_9"}}}
).encode()


def test_a_signed_stripe_event_is_stored_once(web):
    with web.client() as client:
        first = client.post(
            "/webhooks/stripe", content=STRIPE_EVENT, headers=stripe_headers(STRIPE_EVENT)
        )
        again = client.post(
            "/webhooks/stripe",
            content=STRIPE_EVENT,
            headers=stripe_headers(STRIPE_EVENT, STRIPE_SECRETS[1]),
        )
    assert (first.status_code, again.status_code) == (202, 200)
    assert stored(web) == [("stripe", "evt_9", "received")]


@pytest.mark.parametrize("breakage", ["tampered", "old", "future", "wrong secret", "missing"])
def test_stripe_events_that_fail_the_check_get_401(web, breakage):
    now = int(time.time())
    at = {"old": now - 400, "future": now + 400}.get(breakage)
    headers = stripe_headers(
        STRIPE_EVENT, "whsec_other" if breakage == "wrong secret" else STRIPE_SECRETS[0], at
    )
    body = STRIPE_EVENT.replace(b"ch_9", b"ch_8") if breakage == "tampered" else STRIPE_EVENT
    if breakage == "missing":
        del headers["Stripe-Signature"]
    with web.client() as client:
        answer = client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 401
    assert stored(web) == []


# --- HubSpot ---------------------------------------------------------------------------------


def hubspot_headers(body: bytes, path="/webhooks/hubspot", at_ms=None):
    ts = str(int(time.time() * 1000) if at_ms is None else at_ms)
    source = f"POST{PUBLIC}{path}".encode() + body + ts.encode()
    digest = hmac.new(HUBSPOT_SECRET.encode(), source, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": ts,
        "content-type": "application/json",
    }


HUBSPOT_BATCH = json.dumps(
    [
        {
            "eventId": 101,
            "subscriptionType": "contact.propertyChange",
            "objectId": 5001,
            "propertyName": "nps_score",
            "propertyValue": "10",
            "occurredAt": 1764000000000,
        },
        {
            "eventId": 102,
            "subscriptionType": "contact.creation",
            "objectId": 5002,
            "occurredAt": 1764000000001,
        },
    ]
).encode()


def test_a_signed_hubspot_batch_is_one_inbox_row_per_event(web):
    with web.client() as client:
        answer = client.post(
            "/webhooks/hubspot", content=HUBSPOT_BATCH, headers=hubspot_headers(HUBSPOT_BATCH)
        )
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 2
    assert {row.event_id for row in stored(web)} == {
        "101:5001:1764000000000",
        "102:5002:1764000000001",
    }


def test_hubspot_signatures_cover_the_uri_and_expire_after_five_minutes(web):
    old = int(time.time() * 1000) - 301_000
    with web.client() as client:
        stale = client.post(
            "/webhooks/hubspot",
            content=HUBSPOT_BATCH,
            headers=hubspot_headers(HUBSPOT_BATCH, at_ms=old),
        )
        other_path = client.post(
            "/webhooks/hubspot",
            content=HUBSPOT_BATCH,
            headers=hubspot_headers(HUBSPOT_BATCH, path="/webhooks/elsewhere"),
        )
    assert (stale.status_code, other_path.status_code) == (401, 401)
    assert stored(web) == []


# --- Twilio ----------------------------------------------------------------------------------


def twilio_post(client, params: dict[str, str], token=TWILIO_TOKEN):
    url = f"{PUBLIC}/webhooks/twilio"
    signed = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return client.post(
        "/webhooks/twilio",
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": base64.b64encode(digest).decode(),
            "content-type": "application/x-www-form-urlencoded",
        },
    )


def sms(body: str, sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "From": "+14155550100", "To": "+14155550199", "Body": body}


def suppressed(web):
    with transaction(web.engine) as session:
        return session.execute(select(Suppression.channel, Suppression.address)).all()


def test_stop_suppresses_the_number_before_the_answer_and_start_lifts_it(web):
    with web.client() as client:
        stop = twilio_post(client, sms(" stop ", "SM1"))
        assert stop.status_code == 200 and b"<Response>" in stop.content
        assert suppressed(web) == [("sms", "+14155550100")]
        twilio_post(client, sms("START", "SM2"))
    assert suppressed(web) == []
    assert {row.status for row in stored(web)} == {"processed"}


def test_an_unsigned_or_forged_sms_changes_nothing(web):
    with web.client() as client:
        forged = twilio_post(client, sms("STOP", "SM3"), token="not-the-token")
        unsigned = client.post(
            "/webhooks/twilio",
            content=urlencode(sms("STOP", "SM4")),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert suppressed(web) == [] and stored(web) == []


# --- Salesforce ------------------------------------------------------------------------------


def test_a_salesforce_message_from_a_known_org_is_stored_and_acknowledged(web):
    with web.client() as client:
        answer = client.post(
            "/webhooks/salesforce", content=ENVELOPE, headers={"content-type": "text/xml"}
        )
    assert answer.status_code == 200
    assert b"<Ack>true</Ack>" in answer.content
    assert {row.source for row in stored(web)} == {"salesforce"}
    assert len(stored(web)) == 2


def test_a_salesforce_message_from_another_org_is_refused(web):
    other = ENVELOPE.replace(b"00D000000000062EAA", b"00D000000000099AAA")
    with web.client() as client:
        answer = client.post("/webhooks/salesforce", content=other)
    assert answer.status_code == 403
    assert stored(web) == []


def test_malformed_salesforce_xml_is_a_400(web):
    with web.client() as client:
        answer = client.post("/webhooks/salesforce", content=b"<notifications><oops")
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed_xml"
