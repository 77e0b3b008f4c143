"""The FastAPI app: `create_app(settings)`; uvicorn runs it through `referral web`."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from config.settings import Settings, load_settings
from db.engine import make_engine
from web import api, errors, health, links, portal, unsubscribe, webhooks
from web.context import AppContext
from web.limits import BodyLimit
from web.trigger import DeploymentTrigger, FlowTrigger, NoTrigger

log = logging.getLogger("referral.web")


def create_app(settings: Settings, *, trigger: FlowTrigger | None = None) -> FastAPI:
    """`trigger` starts the inbox flow after events arrive: by default a Prefect deployment
    run when a Prefect API is configured, else nothing (the scheduled sweep does the work)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.resolved_database_url,
            pool_size=settings.database.pool_size,
            pre_ping=False,
            prepare=True,
        )
        context = AppContext(
            settings=settings,
            engine=engine,
            trigger=trigger or _default_trigger(),
            pepper=settings.hash_pepper.get_secret_value().encode(),
        )
        await context.start()
        app.state.context = context
        # What is loaded now lives as long as the process: keep it out of the collector's
        # full passes, which otherwise scan every imported module's objects and stall
        # requests for tens of milliseconds.
        gc.freeze()
        try:
            yield
        finally:
            await context.stop()

    app = FastAPI(
        title="Referral engine",
        summary="Referral links, event ingest and signed CRM webhooks.",
        version="1",
        lifespan=lifespan,
    )
    errors.install(app)
    for router in (
        links.router,
        api.router,
        webhooks.router,
        unsubscribe.router,
        portal.router,
        health.router,
    ):
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.web.max_body_bytes)
    return app


def _default_trigger() -> FlowTrigger:
    # The environment, not Prefect's settings: importing Prefect costs a web worker a
    # hundred megabytes it only needs when there is a server to talk to.
    if os.environ.get("PREFECT_API_URL"):
        return DeploymentTrigger()
    log.info("no PREFECT_API_URL: the inbox is processed by the scheduled sweep only")
    return NoTrigger()


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker process (`--factory`)."""
    return create_app(load_settings())
