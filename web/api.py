"""`/v1`: events from the shop or backend, and enrolling advocates, by API key."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from db import conversions, inbox
from db.advocates import CodeTaken, issue_code
from db.engine import transaction
from referral.codes import InvalidCode
from referral.contacts import normalize_email, normalize_phone
from referral.events import Event, EventCustomer
from referral.links import share_kit
from web.context import AppContext, Context, require_api_key, require_json
from web.errors import ApiError

API_SOURCE = "api"
MAX_BATCH = 1_000

router = APIRouter(
    prefix="/v1", dependencies=[Depends(require_api_key)], tags=["events and advocates"]
)


class Accepted(BaseModel):
    status: Literal["accepted", "duplicate"]
    id: str


class BatchAccepted(BaseModel):
    accepted: int
    duplicates: int
    results: list[Accepted]


@router.post(
    "/events",
    dependencies=[Depends(require_json)],
    status_code=202,
    response_model=Accepted,
    responses={200: {"model": Accepted, "description": "a duplicate: already received"}},
)
async def post_event(event: Event, ctx: Context) -> Any:
    """Record one event. Idempotent on `id`: a repeat answers 200 and changes nothing."""
    result = await _accept(ctx, [event])
    return JSONResponse(result.results[0].model_dump(), 202 if result.accepted else 200)


@router.post(
    "/events:batch",
    dependencies=[Depends(require_json)],
    status_code=202,
    response_model=BatchAccepted,
)
async def post_events(
    events: Annotated[list[Event], Body(min_length=1, max_length=MAX_BATCH)], ctx: Context
) -> BatchAccepted:
    """Up to 1,000 events, all valid or none stored (a 422 names each failing field)."""
    return await _accept(ctx, events)


async def _accept(ctx: AppContext, events: list[Event]) -> BatchAccepted:
    items = [
        inbox.Received(API_SOURCE, e.id, e.type, e.model_dump(mode="json", exclude_none=True))
        for e in events
    ]
    new = await ctx.accept(items)
    results = [
        Accepted(status="accepted" if (API_SOURCE, e.id) in new else "duplicate", id=e.id)
        for e in events
    ]
    return BatchAccepted(
        accepted=sum(r.status == "accepted" for r in results),
        duplicates=sum(r.status == "duplicate" for r in results),
        results=results,
    )


class EnrolRequest(BaseModel):
    program: Annotated[str, Field(min_length=1, max_length=63)]
    customer: EventCustomer
    vanity_code: str | None = None


class Enrolled(BaseModel):
    program: str
    code: str
    link: str
    qr_svg_url: str
    qr_png_url: str
    share: dict[str, str]


@router.post(
    "/advocates",
    dependencies=[Depends(require_json)],
    response_model=Enrolled,
    responses={404: {"description": "no such program"}, 409: {"description": "code taken"}},
)
def post_advocate(request: EnrolRequest, ctx: Context) -> Enrolled:
    """Enrol a customer as an advocate (once; a repeat returns the same code)."""
    loaded = ctx.program(request.program)
    if loaded is None:
        raise ApiError(404, "not_found", f"no program {request.program!r}")
    person = request.customer
    with transaction(ctx.engine) as session:
        conversions.ensure_customers(
            session,
            [
                {
                    "source": ctx.settings.customer_source,
                    "external_id": person.external_id,
                    "email": person.email,
                    "email_normalized": normalize_email(person.email) if person.email else None,
                    "phone_e164": normalize_phone(person.phone, ctx.settings.default_region),
                    "name": person.name,
                }
            ],
        )
        ids = conversions.customer_ids(session, ctx.settings.customer_source, [person.external_id])
        try:
            code = issue_code(
                session,
                loaded.id,
                ids[person.external_id],
                length=loaded.config.code_length,
                vanity=request.vanity_code,
                via="api",
            ).code
        except CodeTaken as exc:
            raise ApiError(409, "code_taken", str(exc)) from None
        except InvalidCode as exc:
            raise ApiError(422, "invalid", str(exc), fields=[{"field": "vanity_code"}]) from None
    messages = loaded.config.messages
    kit = share_kit(
        ctx.settings.web.public_base_url,
        code,
        message=messages.share_message,
        subject=messages.share_subject,
    )
    return Enrolled(
        program=loaded.slug,
        code=code,
        link=kit.link,
        qr_svg_url=kit.qr_url_svg,
        qr_png_url=kit.qr_url_png,
        share=kit.share,
    )
