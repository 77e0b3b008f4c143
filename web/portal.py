"""The advocate's own dashboard: `/portal/{token}` for people (a phone-sized page) and
`/v1/advocates/{token}/dashboard` for scripts, reached by the signed, expiring magic link
their invitation and reward emails carry. An expired or edited link gets a friendly page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from db.analytics import successes
from db.engine import transaction
from db.portal import AdvocateView, advocate_view
from db.programs import Programs
from db.types import utcnow
from referral.analytics.leaderboards import AdvocateTally, standing
from referral.links import share_kit
from referral.money import format_money
from referral.portal import PortalAccess, read_portal_token
from referral.programs import ProgramConfig
from web.context import AppContext, Context

router = APIRouter(tags=["portal"])

_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@router.get("/portal/{token}", response_class=HTMLResponse, include_in_schema=False)
async def portal_page(token: str, ctx: Context) -> HTMLResponse:
    found = await run_in_threadpool(_dashboard, ctx, token)
    if isinstance(found, str):
        return HTMLResponse(_PAGES.get_template("portal_gone.html").render(reason=found))
    return HTMLResponse(_PAGES.get_template("portal.html").render(d=found))


@router.get(
    "/v1/advocates/{token}/dashboard",
    responses={404: {"description": "not a valid link"}, 410: {"description": "expired"}},
)
async def dashboard_json(token: str, ctx: Context) -> JSONResponse:
    """The dashboard's data: statistics, rewards and balances, share links, milestones and
    leaderboard position. Money in minor units with its currency."""
    found = await run_in_threadpool(_dashboard, ctx, token)
    if found == "expired":
        return JSONResponse({"detail": "this dashboard link has expired"}, status_code=410)
    if isinstance(found, str):
        return JSONResponse({"detail": "not a valid dashboard link"}, status_code=404)
    return JSONResponse(found)


def _dashboard(ctx: AppContext, token: str) -> dict[str, Any] | str:
    """The dashboard, or why there is none: "invalid" or "expired"."""
    with transaction(ctx.engine) as session:
        now = session.execute(select(utcnow())).scalar_one()
        access = read_portal_token(token, ctx.settings.portal_key, now)
        if access is None:
            return "invalid"
        if access.expired:
            return "expired"
        view = advocate_view(session, access.customer_id)
        if view is None:
            return "invalid"
        config = Programs(session).by_id(view.program_id).config
        board = successes(session, view.program_id, _EPOCH)
    return _assemble(view, config, board, access, ctx.settings.web.public_base_url)


def _assemble(
    view: AdvocateView,
    config: ProgramConfig,
    board: Sequence[AdvocateTally],
    access: PortalAccess,
    base_url: str,
) -> dict[str, Any]:
    kit = (
        share_kit(
            base_url,
            view.code,
            message=config.messages.share_message,
            subject=config.messages.share_subject,
        )
        if view.code
        else None
    )
    place = standing(board, view.customer_id)
    return {
        "program": view.program_slug,
        "program_name": config.name,
        "first_name": view.first_name,
        "link_expires_at": access.expires_at.isoformat(),
        "code": view.code,
        "link": kit.link if kit else None,
        "qr_svg": kit.qr_url_svg if kit else None,
        # The page is served by this same service: a relative path works behind any proxy.
        "qr_path": f"/r/{quote(view.code, safe='')}/qr.svg" if view.code else None,
        "share": kit.share if kit else {},
        "stats": {"clicks": view.clicks, "signups": view.signups, "successful": view.successful},
        "rewards": [
            {
                **asdict(r),
                "amount": format_money(r.amount_minor, r.currency),
                "created_at": r.created_at.isoformat(),
                "clears_at": r.clears_at.isoformat() if r.clears_at else None,
            }
            for r in view.rewards
        ],
        "balances": [
            {
                "kind": b.account.rsplit(":", 1)[-1],
                "amount_minor": b.amount_minor,
                "currency": b.currency,
                "amount": format_money(b.amount_minor, b.currency),
            }
            for b in view.balances
            if b.amount_minor
        ],
        "milestones": [
            {
                "name": m.name,
                "referrals": m.referrals,
                "reached": view.successful >= m.referrals,
                "remaining": max(m.referrals - view.successful, 0),
            }
            for m in sorted(config.milestones, key=lambda m: m.referrals)
        ],
        "leaderboard": (
            {
                "position": place.position,
                "advocates": place.advocates,
                "referrals_to_next": place.referrals_to_next,
            }
            if place
            else None
        ),
    }
