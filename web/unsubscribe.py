"""`/u/{token}`: one-click unsubscribe (RFC 8058) from the links every message carries.

POST (what mail providers send for `List-Unsubscribe=One-Click`, and what the page's button
sends) opts the customer out of that channel at once. GET only shows the page with the
button: link scanners open every URL in a message, and must not unsubscribe anyone.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from db.engine import transaction
from db.suppressions import opt_out
from referral.unsubscribe import read_token
from web.context import Context

router = APIRouter(tags=["unsubscribe"])

_CHANNELS = {"email": "emails", "sms": "text messages", "whatsapp": "WhatsApp messages"}


@router.get("/u/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, ctx: Context) -> HTMLResponse:
    found = read_token(token, ctx.settings.unsubscribe_key)
    if found is None:
        return _page("This unsubscribe link is not valid.", status=404)
    what = _CHANNELS.get(found[1], "messages")
    form = (
        f'<form method="post" action="/u/{escape(token)}">'
        f'<button type="submit">Stop {what} about referrals</button></form>'
    )
    return _page(f"Do you want to stop receiving {what} from us about referrals?", form)


@router.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, ctx: Context) -> HTMLResponse:
    found = read_token(token, ctx.settings.unsubscribe_key)
    if found is None:
        return _page("This unsubscribe link is not valid.", status=404)
    customer_id, channel = found

    def apply() -> bool:
        with transaction(ctx.engine) as session:
            return opt_out(session, customer_id, channel, "unsubscribe_link")

    if not await run_in_threadpool(apply):
        return _page("This unsubscribe link is not valid.", status=404)
    return _page(f"Done: you will get no more {_CHANNELS.get(channel, 'messages')} from us.")


def _page(text: str, body: str = "", *, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Unsubscribe</title></head>"
        f'<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">'
        f"<p>{escape(text)}</p>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)
