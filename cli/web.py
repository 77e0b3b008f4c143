"""`referral web` (the HTTP service) and `referral inbox ...` (what it received)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from cli import context
from cli.errors import check_status, friendly
from cli.output import console, print_json
from db.inbox import STATUSES, list_inbox

inbox_app = typer.Typer(help="Events and webhooks as received.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@friendly
def web(
    host: Annotated[
        str | None, typer.Option(help="Interface (default REFERRAL_WEB__HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default REFERRAL_WEB__PORT).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Worker processes.")] = None,
) -> None:
    """Serve referral links, the event API and the webhooks (uvicorn; /docs for the API)."""
    import uvicorn

    settings = context.settings()
    # Fail here, in one line, rather than in every worker: the schema must be current.
    context.engine(settings).dispose()
    uvicorn.run(
        "web.app:app_from_environment",
        factory=True,
        host=host or settings.web.host,
        port=port or settings.web.port,
        workers=workers or settings.web.workers,
        proxy_headers=True,
        access_log=False,  # access lines carry client addresses: personal data
        log_level="info",
    )


@inbox_app.command("list")
@friendly
def inbox_list(
    status: Annotated[str | None, typer.Option(help=f"One of: {', '.join(STATUSES)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Newest first: what arrived, from where, and whether its flow ran."""
    check_status(status, STATUSES)
    with context.session() as (_settings, session):
        rows = list_inbox(session, status=status, limit=limit)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table("id", "source", "event id", "type", "status", "flow run", "received")
    for r in rows:
        table.add_row(
            str(r.id),
            r.source,
            r.event_id,
            r.event_type,
            r.status + (f" ({r.error})" if r.error else ""),
            r.flow_run_id or "-",
            r.received_at.isoformat(timespec="seconds"),
        )
    console.print(table)
