"""What every request handler shares, built once when the app starts."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config.settings import Settings
from db.engine import transaction
from db.programs import LoadedProgram, ProgramNotFound, Programs
from web.errors import ApiError
from web.trigger import FlowTrigger

PROGRAM_CACHE_SECONDS = 30.0


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    trigger: FlowTrigger
    pepper: bytes
    _programs: dict[str, tuple[float, LoadedProgram]] = field(default_factory=dict)

    def program(self, slug: str, session: Session | None = None) -> LoadedProgram | None:
        """A program's current rules, re-read every 30 s: a click must not wait on the
        program table, and an edit reaches the links within half a minute. Pass the
        request's session when inside one: SQLite has one writer, and a second transaction
        would wait for the first."""
        cached = self._programs.get(slug)
        if cached and time.monotonic() - cached[0] < PROGRAM_CACHE_SECONDS:
            return cached[1]
        if session is None:
            with transaction(self.engine) as own:
                return self.program(slug, own)
        try:
            loaded = Programs(session).get(slug)
        except ProgramNotFound:
            return None
        self._programs[slug] = (time.monotonic(), loaded)
        return loaded

    def forget_programs(self) -> None:
        self._programs.clear()


def context(request: Request) -> AppContext:
    return request.app.state.context


Context = Annotated[AppContext, Depends(context)]


def require_api_key(ctx: Context, authorization: Annotated[str | None, Header()] = None) -> None:
    """`Authorization: Bearer <key>` against every configured key, in constant time."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <API key>")
    offered = token.strip().encode()
    matched = False
    for key in ctx.settings.api_keys:
        matched |= hmac.compare_digest(offered, key.get_secret_value().encode())
    if not matched:
        raise ApiError(401, "unauthorized", "the API key is not valid")


def require_json(content_type: Annotated[str | None, Header()] = None) -> None:
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
