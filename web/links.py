"""`/r/{code}`: count the click, remember the visitor, send them on. Never an error page."""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from db.engine import transaction
from db.ingest import Click
from db.links import is_own_visitor
from referral.codes import normalize_code
from referral.fraud.policy import NetworkSet
from referral.links import landing_url, referral_link
from referral.qr import qr_png, qr_svg
from web.context import AppContext, Context

router = APIRouter(tags=["referral links"])

VISITOR_COOKIE = "rvid"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# What a visitor cookie or device id may look like: ours, or the shop's own opaque id.
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# A visitor id is stored in 64 characters; a longer cookie is replaced, not refused.
_VISITOR_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# Any code we could have issued, generated or vanity; anything else is unknown at a glance.
_CODE = re.compile(r"^[A-Z0-9_-]{1,64}$")


# Documented here, read by hand below: FastAPI's per-parameter validation cost more than
# everything else a click does, and a click must never be refused for an odd value anyway.
_CLICK_PARAMETERS: dict[str, Any] = {
    "parameters": [
        {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "ch", "in": "query", "schema": {"type": "string"}, "description": "channel"},
        {"name": "device_id", "in": "query", "schema": {"type": "string"}},
        *({"name": k, "in": "query", "schema": {"type": "string"}} for k in UTM_KEYS),
        {"name": VISITOR_COOKIE, "in": "cookie", "schema": {"type": "string"}},
    ]
}


@router.get(
    "/r/{code}",
    status_code=302,
    response_class=Response,
    openapi_extra=_CLICK_PARAMETERS,
    responses={302: {"description": "to the landing, self-referral or fallback page"}},
)
async def follow(request: Request) -> Response:
    """Record a touch and redirect to the program's landing page with the code attached.

    An unknown or revoked code goes to the fallback page; an advocate's own click (their
    visitor cookie) goes to the program's self-referral page and counts nothing. The touch
    is committed before the redirect, together with other clicks of the same moment.
    """
    ctx: AppContext = request.app.state.context
    code = request.path_params["code"]
    query = request.query_params
    ch, device_id = query.get("ch"), query.get("device_id")
    rvid = request.cookies.get(VISITOR_COOKIE)
    # Odd input is cleaned, never refused: a click must land somewhere useful.
    visitor = rvid if rvid and _VISITOR_ID.match(rvid) else secrets.token_urlsafe(16)
    channel = ch[:32] if ch and ch.isprintable() else None
    device = device_id if device_id and _OPAQUE_ID.match(device_id) else None
    code = normalize_code(code)
    hit, target = ctx.cached_link(code) if _CODE.match(code) else (True, None)
    if not hit:
        target = await run_in_threadpool(ctx.load_link, code)
    if target is None or not target.code.live:
        fallback = target.program.config.links.fallback_url if target else None
        return _redirect(fallback or ctx.settings.web.fallback_url)
    links = target.program.config.links
    days = target.program.config.attribution.window_days
    ip = request.client.host if request.client else None
    if ip and ip in _blocked_networks(target.program.config.fraud.blocklists.ips):
        # The only moment the raw address is known (only its hash is kept): a click from a
        # blocked network lands on the fallback page and is never counted.
        return _redirect(links.fallback_url or ctx.settings.web.fallback_url)
    if rvid:
        own = await run_in_threadpool(_own_visitor, ctx, target.code.owner_id, visitor)
        if own:
            own_page = links.self_referral_url or links.landing_url
            return _redirect(own_page, _cookie(ctx, visitor, days))
    utm = {k: v[:128] for k in UTM_KEYS if (v := query.get(k)) and v.isprintable()}
    await ctx.click_writer.submit(
        Click(
            code=code,
            channel=channel,
            visitor_id=visitor,
            device_id=device,
            ip=ip,
            user_agent=request.headers.get("user-agent"),
            referrer=request.headers.get("referer"),
            occurred_at=None,
            utm=utm or None,
            code_id=target.code.code_id,
            program_id=target.code.program_id,
        )
    )
    return _redirect(landing_url(links.landing_url, code), _cookie(ctx, visitor, days))


@lru_cache(maxsize=64)
def _blocked_networks(networks: tuple[str, ...]) -> NetworkSet:
    return NetworkSet(networks)


def _own_visitor(ctx: AppContext, owner_id: int, visitor: str) -> bool:
    with transaction(ctx.engine) as session:
        return is_own_visitor(session, owner_id, visitor)


@router.get("/r/{code}/qr.svg", response_class=Response)
def qr_code_svg(code: str, ctx: Context) -> Response:
    """The link as a QR code, for screens and print."""
    return Response(qr_svg(_link(ctx, code)), media_type="image/svg+xml", headers=_CACHE)


@router.get("/r/{code}/qr.png", response_class=Response)
def qr_code_png(code: str, ctx: Context) -> Response:
    """The link as a QR code, for email clients that do not show SVG."""
    return Response(qr_png(_link(ctx, code)), media_type="image/png", headers=_CACHE)


_CACHE = {"Cache-Control": "public, max-age=86400"}


def _link(ctx: AppContext, code: str) -> str:
    return referral_link(ctx.settings.web.public_base_url, normalize_code(code)[:64], medium="qr")


def _redirect(url: str, cookie: str | None = None) -> Response:
    headers = {"location": url, "cache-control": "no-store"}  # every click must reach us
    if cookie:
        headers["set-cookie"] = cookie
    return Response(status_code=302, headers=headers)


def _cookie(ctx: AppContext, visitor: str, days: int) -> str:
    """The visitor cookie for the attribution window: a click counts for as long. The value
    matched _VISITOR_ID or was made by us, so it needs no quoting."""
    secure = "; Secure" if ctx.settings.web.public_base_url.startswith("https://") else ""
    return (
        f"{VISITOR_COOKIE}={visitor}; Max-Age={days * 86_400}; Path=/; HttpOnly; "
        f"SameSite=lax{secure}"
    )
