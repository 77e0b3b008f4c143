"""What every request handler shares, built once when the app starts: settings, the engine,
the group-commit writers, and short-lived caches of programs and codes.

Dependencies here are `async def` on purpose: FastAPI runs a plain `def` dependency on a
worker thread, and a thread hop per request costs more than the check itself.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config.settings import Settings
from db import inbox
from db.engine import transaction
from db.ingest import Click, record_clicks
from db.links import CodeTarget, code_target
from db.programs import LoadedProgram, ProgramNotFound, Programs
from web.batcher import Batcher
from web.errors import ApiError
from web.trigger import FlowTrigger

# A program edit or a revoked code reaches the links within this long.
CACHE_SECONDS = 30.0
MAX_CACHED_CODES = 100_000

NewKeys = dict[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class LinkTarget:
    code: CodeTarget
    program: LoadedProgram


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    trigger: FlowTrigger
    pepper: bytes
    _programs: dict[str, tuple[float, LoadedProgram]] = field(default_factory=dict)
    _links: dict[str, tuple[float, LinkTarget | None]] = field(default_factory=dict)
    inbox_writer: Batcher[Sequence[inbox.Received], NewKeys] = field(init=False)
    click_writer: Batcher[Click, None] = field(init=False)

    def __post_init__(self) -> None:
        self.inbox_writer = Batcher("inbox", self._write_inbox)
        self.click_writer = Batcher("clicks", self._write_clicks)

    async def start(self) -> None:
        self.inbox_writer.start()
        self.click_writer.start()

    async def stop(self) -> None:
        await self.inbox_writer.stop()
        await self.click_writer.stop()
        self.trigger.close()
        self.engine.dispose()

    async def accept(self, items: Sequence[inbox.Received]) -> NewKeys:
        """Commit the items to the inbox (with other requests' items); the new ones' ids."""
        new = await self.inbox_writer.submit(items)
        if new:
            self.trigger.notify(max(new.values()))
        return new

    def _write_inbox(self, units: Sequence[Sequence[inbox.Received]]) -> list[NewKeys]:
        with transaction(self.engine) as session:
            new = inbox.accept(session, [item for unit in units for item in unit])
        # The same event in two requests of one batch: the first request gets it.
        outcomes = []
        for unit in units:
            keys = [(item.source, item.event_id) for item in unit]
            outcomes.append({key: new.pop(key) for key in keys if key in new})
        return outcomes

    def _write_clicks(self, clicks: Sequence[Click]) -> list[None]:
        with transaction(self.engine) as session:
            record_clicks(session, list(clicks), pepper=self.pepper)
        return [None] * len(clicks)

    def cached_link(self, code: str) -> tuple[bool, LinkTarget | None]:
        """(hit, target): a hit may be a cached None, a code known not to exist."""
        cached = self._links.get(code)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return True, cached[1]
        return False, None

    def load_link(self, code: str) -> LinkTarget | None:
        with transaction(self.engine) as session:
            found = code_target(session, code)
            program = self.program(found.program_slug, session) if found else None
        target = LinkTarget(found, program) if found and program else None
        if len(self._links) >= MAX_CACHED_CODES:
            self._links.clear()
        self._links[code] = (time.monotonic(), target)
        return target

    def program(self, slug: str, session: Session | None = None) -> LoadedProgram | None:
        """A program's current rules, re-read every 30 s. Pass the request's session when
        inside one: SQLite has one writer, and a second transaction would wait for it."""
        cached = self._programs.get(slug)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
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

    def forget_cached(self) -> None:
        self._programs.clear()
        self._links.clear()


async def context(request: Request) -> AppContext:
    return request.app.state.context


Context = Annotated[AppContext, Depends(context)]


async def require_api_key(
    ctx: Context, authorization: Annotated[str | None, Header()] = None
) -> None:
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


async def require_json(content_type: Annotated[str | None, Header()] = None) -> None:
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
