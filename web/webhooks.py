"""Signed webhooks from CRMs, payment and messaging providers.

Each handler checks the signature on the raw bytes first (constant time, |now - t| <= 300 s,
every configured secret), and stores nothing unless it holds: a tampered, replayed or
unsigned request gets 401. Then the payload goes to the inbox, committed before the answer,
deduplicated on the provider's event id for good.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from db import inbox
from db.engine import transaction
from db.suppressions import suppress, unsuppress
from integrations.mail.events import (
    parse_postmark_event,
    parse_sendgrid_events,
    verify_sendgrid_events,
)
from integrations.webhooks.errors import MalformedPayload, SignatureError
from integrations.webhooks.mapping import twilio_inbound
from integrations.webhooks.salesforce import ack, check_organization, parse_outbound_message
from integrations.webhooks.signatures import (
    verify_hubspot_v3,
    verify_standard,
    verify_stripe,
    verify_twilio,
)
from referral.events import Event
from web.context import AppContext, Context
from web.errors import ApiError

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

SIGNED: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, stale or wrong signature: nothing stored"}
}


class Received(BaseModel):
    status: Literal["accepted", "duplicate"]
    accepted: int
    duplicates: int


@router.post("/standard", response_model=Received, status_code=202, responses=SIGNED)
async def standard(request: Request, ctx: Context) -> JSONResponse:
    """Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); the
    payload is `{"type", "timestamp", "data"}` with an event of our contract as `data`."""
    body = await request.body()
    secrets = _secrets(
        ctx.settings.webhooks.standard_secrets, "REFERRAL_WEBHOOKS__STANDARD_SECRETS"
    )
    webhook_id = _checked(
        lambda: verify_standard(
            body=body, headers=dict(request.headers), secrets=secrets, now=time.time()
        )
    )
    payload = _json(body)
    data = payload.get("data") if isinstance(payload, dict) else None
    try:
        event = Event.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "data is not a valid event", fields=_fields(exc)) from None
    item = inbox.Received("standard", webhook_id, event.type, event.model_dump(mode="json"))
    return await _store(ctx, [item])


@router.post("/stripe", response_model=Received, status_code=202, responses=SIGNED)
async def stripe(request: Request, ctx: Context) -> JSONResponse:
    """Stripe events (`Stripe-Signature: t=...,v1=...`): payments become purchases and
    refunds; other types are kept in the inbox and ignored."""
    body = await request.body()
    secrets = _secrets(ctx.settings.webhooks.stripe_secrets, "REFERRAL_WEBHOOKS__STRIPE_SECRETS")
    header = request.headers.get("stripe-signature")
    _checked(lambda: verify_stripe(body=body, header=header, secrets=secrets, now=time.time()))
    payload = _json(body)
    if not isinstance(payload, dict) or not payload.get("id") or not payload.get("type"):
        raise ApiError(422, "invalid", "a Stripe event has an id and a type")
    item = inbox.Received("stripe", str(payload["id"]), str(payload["type"])[:64], payload)
    return await _store(ctx, [item])


@router.post("/hubspot", response_model=Received, status_code=202, responses=SIGNED)
async def hubspot(request: Request, ctx: Context) -> JSONResponse:
    """HubSpot webhooks, signature v3 (method + URI + body + timestamp, HMAC-SHA256, base64);
    a batch of subscription events, one inbox row each."""
    body = await request.body()
    secrets = _secrets(
        ctx.settings.webhooks.hubspot_client_secret, "REFERRAL_WEBHOOKS__HUBSPOT_CLIENT_SECRET"
    )
    _checked(
        lambda: verify_hubspot_v3(
            method=request.method,
            uri=_public_url(request, ctx),
            body=body,
            timestamp=request.headers.get("x-hubspot-request-timestamp"),
            signature=request.headers.get("x-hubspot-signature-v3"),
            secrets=secrets,
            now=time.time(),
        )
    )
    payload = _json(body)
    if not isinstance(payload, list) or not all(isinstance(e, dict) for e in payload):
        raise ApiError(422, "invalid", "a HubSpot webhook body is a JSON array of events")
    items = [
        inbox.Received(
            "hubspot",
            f"{e.get('eventId')}:{e.get('objectId')}:{e.get('occurredAt')}",
            str(e.get("subscriptionType") or "unknown")[:64],
            e,
        )
        for e in payload
    ]
    return await _store(ctx, items)


@router.post("/twilio", response_class=Response, responses=SIGNED)
async def twilio(request: Request, ctx: Context) -> Response:
    """Inbound SMS (`X-Twilio-Signature`). STOP and its synonyms suppress the number at
    once, before the answer; START lifts it. Answers empty TwiML: Twilio sends its own
    opt-out confirmation."""
    body = await request.body()
    token = ctx.settings.webhooks.twilio_auth_token
    if token is None:
        raise ApiError(401, "unauthorized", "REFERRAL_WEBHOOKS__TWILIO_AUTH_TOKEN is not set")
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    _checked(
        lambda: verify_twilio(
            url=_public_url(request, ctx),
            params=params,
            signature=request.headers.get("x-twilio-signature"),
            auth_token=token.get_secret_value(),
        )
    )
    try:
        sms = twilio_inbound(params)
    except MalformedPayload as exc:
        raise ApiError(422, "invalid", str(exc)) from None

    def store() -> None:
        with transaction(ctx.engine) as session:
            if sms.keyword == "stop":
                suppress(session, "sms", sms.from_number, "sms_stop")
            elif sms.keyword == "start":
                unsuppress(session, "sms", sms.from_number)
            new = inbox.accept(
                session,
                [inbox.Received("twilio", sms.message_sid, f"sms.{sms.keyword or 'text'}", params)],
            )
            # Nothing further to run: the opt-out is done, other texts are kept for people.
            inbox.mark(session, list(new.values()), "processed", flow_run_id=None)

    await run_in_threadpool(store)
    return Response(_EMPTY_TWIML, media_type="text/xml")


_EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@router.post(
    "/salesforce",
    response_class=Response,
    responses={403: {"description": "an organization that is not configured"}},
)
async def salesforce(request: Request, ctx: Context) -> Response:
    """Salesforce outbound messages (SOAP). They carry no signature, so the organization id
    must be one we know, and the flow re-reads each record from Salesforce before acting."""
    body = await request.body()
    try:
        message = parse_outbound_message(body)
    except MalformedPayload as exc:
        raise ApiError(400, "malformed_xml", str(exc)) from None
    try:
        check_organization(message.organization_id, ctx.settings.webhooks.salesforce_org_ids)
    except SignatureError as exc:
        raise ApiError(403, "forbidden", exc.reason) from None
    items = [
        inbox.Received(
            "salesforce",
            n.id,
            f"salesforce.{n.sobject_type}"[:64],
            {
                "organization_id": message.organization_id,
                "action_id": message.action_id,
                "sobject_type": n.sobject_type,
                "record_id": n.record_id,
                "fields": n.fields,
            },
        )
        for n in message.notifications
    ]
    await _store(ctx, items)
    return Response(ack(), media_type="text/xml")


@router.post("/sendgrid", response_model=Received, status_code=202, responses=SIGNED)
async def sendgrid(request: Request, ctx: Context) -> JSONResponse:
    """SendGrid's signed Event Webhook: deliveries, opens, clicks, bounces, spam reports and
    unsubscribes, one inbox row per event."""
    body = await request.body()
    keys = ctx.settings.webhooks.sendgrid_public_keys
    if not keys:
        raise ApiError(401, "unauthorized", "REFERRAL_WEBHOOKS__SENDGRID_PUBLIC_KEYS is not set")
    _checked(
        lambda: verify_sendgrid_events(
            keys,
            body,
            request.headers.get("x-twilio-email-event-webhook-signature"),
            request.headers.get("x-twilio-email-event-webhook-timestamp"),
            now=time.time(),
        )
    )
    payload = _json(body)
    try:
        parse_sendgrid_events(payload)
    except MalformedPayload as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    items = [
        inbox.Received(
            "sendgrid",
            str(e.get("sg_event_id") or _digest(e)),
            str(e.get("event") or "unknown")[:64],
            e,
        )
        for e in payload
    ]
    return await _store(ctx, items)


@router.post("/postmark", response_model=Received, status_code=202, responses=SIGNED)
async def postmark(request: Request, ctx: Context) -> JSONResponse:
    """Postmark's webhooks (one record per request), authenticated by the basic-auth
    credentials configured in their URL."""
    hooks = ctx.settings.webhooks
    if not hooks.postmark_username or hooks.postmark_password is None:
        raise ApiError(401, "unauthorized", "REFERRAL_WEBHOOKS__POSTMARK_USERNAME is not set")
    offered = request.headers.get("authorization", "")
    expected = (
        "Basic "
        + base64.b64encode(
            f"{hooks.postmark_username}:{hooks.postmark_password.get_secret_value()}".encode()
        ).decode()
    )
    if not hmac.compare_digest(offered.encode(), expected.encode()):
        raise ApiError(401, "invalid_signature", "wrong or missing basic-auth credentials")
    body = await request.body()
    payload = _json(body)
    try:
        event = parse_postmark_event(payload)
    except MalformedPayload as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    event_id = (event.event_id if event else None) or _digest(payload)
    record = str(payload.get("RecordType") or "unknown")[:64]
    return await _store(ctx, [inbox.Received("postmark", event_id, record, payload)])


def _digest(item: Any) -> str:
    """An id for an event its provider gave none: the same event twice, the same id."""
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:40]


async def _store(ctx: AppContext, items: Sequence[inbox.Received]) -> JSONResponse:
    new = await ctx.accept(items)
    duplicates = len({(i.source, i.event_id) for i in items}) - len(new)
    body = Received(
        status="accepted" if new else "duplicate", accepted=len(new), duplicates=duplicates
    )
    return JSONResponse(body.model_dump(), 202 if new else 200)


def _checked(verify: Any) -> Any:
    try:
        return verify()
    except SignatureError as exc:
        raise ApiError(401, "invalid_signature", exc.reason) from None


def _secrets(configured: Sequence[Any], variable: str) -> list[str]:
    if not configured:
        raise ApiError(401, "unauthorized", f"{variable} is not set: nothing can be verified")
    return [secret.get_secret_value() for secret in configured]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None


def _fields(error: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()
    ]


def _public_url(request: Request, ctx: AppContext) -> str:
    """The URL the provider called, which is what it signed: behind a proxy the public one."""
    base = ctx.settings.webhooks.public_base_url or ctx.settings.web.public_base_url
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base.rstrip('/')}{request.url.path}{query}"
