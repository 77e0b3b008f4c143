"""`/r/{code}`: count the click, remember the visitor, send them on. Never an error page."""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Cookie, Header, Request
from fastapi.responses import RedirectResponse, Response

from db.engine import transaction
from db.ingest import Click, record_clicks
from db.links import code_target, is_own_visitor
from referral.codes import normalize_code
from referral.links import landing_url, referral_link
from referral.qr import qr_png, qr_svg
from web.context import AppContext, Context

router = APIRouter(tags=["referral links"])

VISITOR_COOKIE = "rvid"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# What a visitor cookie or device id may look like: ours, or the shop's own opaque id.
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# Any code we could have issued, generated or vanity; anything else is unknown at a glance.
_CODE = re.compile(r"^[A-Z0-9_-]{1,64}$")


@router.get("/r/{code}", status_code=302, response_class=RedirectResponse)
def follow(
    code: str,
    request: Request,
    ctx: Context,
    ch: str | None = None,
    device_id: str | None = None,
    rvid: Annotated[str | None, Cookie()] = None,
    user_agent: Annotated[str | None, Header()] = None,
) -> RedirectResponse:
    """Record a touch and redirect to the program's landing page with the code attached.

    An unknown or revoked code goes to the fallback page; an advocate's own click (their
    visitor cookie) goes to the program's self-referral page and counts nothing.
    """
    # Odd input is cleaned, never refused: a click must land somewhere useful.
    visitor = rvid if rvid and _OPAQUE_ID.match(rvid) else secrets.token_urlsafe(16)
    channel = ch[:32] if ch and ch.isprintable() else None
    device = device_id if device_id and _OPAQUE_ID.match(device_id) else None
    code = normalize_code(code)
    if not _CODE.match(code):
        return _redirect(ctx.settings.web.fallback_url)
    with transaction(ctx.engine) as session:
        target = code_target(session, code)
        loaded = ctx.program(target.program_slug, session) if target else None
        if target is None or loaded is None or not target.live:
            fallback = loaded.config.links.fallback_url if loaded else None
            return _redirect(fallback or ctx.settings.web.fallback_url)
        links = loaded.config.links
        if rvid and is_own_visitor(session, target.owner_id, visitor):
            return _visitor(
                _redirect(links.self_referral_url or links.landing_url), ctx, visitor, 0
            )
        query = request.query_params
        utm = {k: v[:128] for k in UTM_KEYS if (v := query.get(k)) and v.isprintable()}
        record_clicks(
            session,
            [
                Click(
                    code=code,
                    channel=channel,
                    visitor_id=visitor,
                    device_id=device,
                    ip=request.client.host if request.client else None,
                    user_agent=user_agent,
                    occurred_at=None,
                    utm=utm or None,
                )
            ],
            pepper=ctx.pepper,
        )
    days = loaded.config.attribution.window_days
    return _visitor(_redirect(landing_url(links.landing_url, code)), ctx, visitor, days)


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


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=302)
    response.headers["Cache-Control"] = "no-store"  # every click must reach us to count
    return response


def _visitor(
    response: RedirectResponse, ctx: AppContext, visitor: str, days: int
) -> RedirectResponse:
    response.set_cookie(
        VISITOR_COOKIE,
        visitor,
        max_age=max(days, 30) * 86_400,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.web.public_base_url.startswith("https://"),
    )
    return response
