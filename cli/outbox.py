"""`referral outbox ...`: what is queued, sent, given up or waiting for a person."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from cli import context
from cli.errors import check_status, friendly
from cli.output import console, print_json
from db.outbox import list_outbox, retry_dead

outbox_app = typer.Typer(help="Messages queued for delivery.", no_args_is_help=True)

STATUSES = ("pending", "claimed", "sent", "failed", "dead", "needs_reconciliation")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@outbox_app.command("list")
@friendly
def outbox_list(
    status: Annotated[str | None, typer.Option(help=f"One of: {', '.join(STATUSES)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Newest first; addresses and contents are not shown."""
    check_status(status, STATUSES)
    with context.session() as (_settings, session):
        rows = list_outbox(session, status, limit)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table("id", "kind", "channel", "customer", "template", "status", "tries", "error")
    for r in rows:
        table.add_row(
            str(r.id),
            r.kind,
            r.channel,
            str(r.customer_id or "-"),
            r.template or "-",
            r.status,
            str(r.attempts),
            (r.last_error or "")[:80],
        )
    console.print(table)


@outbox_app.command("retry")
@friendly
def outbox_retry(ids: Annotated[list[int], typer.Argument(help="Outbox message ids.")]) -> None:
    """Queue dead messages again (after fixing their cause), and messages set aside for
    reconciliation once you have checked the provider did not deliver them."""
    with context.session() as (_settings, session):
        done = retry_dead(session, ids)
    console.print(f"queued again: {done} of {len(set(ids))}")
