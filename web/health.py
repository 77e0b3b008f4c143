"""Liveness (the process answers) and readiness (the database answers and is migrated)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from db.migrate import current_revision, head_revision
from web.context import Context

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready, with the reason"}})
def readyz(ctx: Context) -> JSONResponse:
    try:
        current = current_revision(ctx.engine)
    except Exception as exc:
        reason = f"database unreachable ({type(exc).__name__})"
        return JSONResponse({"status": "unavailable", "reason": reason}, 503)
    head = head_revision(ctx.engine)
    if current != head:
        reason = f"migrations not current: at {current}, code expects {head}"
        return JSONResponse({"status": "unavailable", "reason": reason}, 503)
    return JSONResponse({"status": "ready", "revision": current})
