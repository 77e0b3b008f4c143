"""`referral campaigns ...`: seasonal promotions with a window, an audience and a boost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import context
from cli.errors import UserError, friendly
from cli.output import console, print_json
from config.campaign_files import load_campaign_files
from db.campaigns import apply_campaign, list_campaigns
from referral.campaigns import CampaignFileError

campaigns_app = typer.Typer(help="Seasonal campaigns.", no_args_is_help=True)


@campaigns_app.command("apply")
@friendly
def campaigns_apply(
    files: Annotated[list[Path], typer.Argument(help="Campaign files (YAML).")],
) -> None:
    """Create or update campaigns; every file is checked before any is applied."""
    try:
        configs = load_campaign_files(files)
    except CampaignFileError as exc:
        raise UserError(str(exc)) from None
    with context.session() as (_settings, session):
        try:
            results = [(c.slug, apply_campaign(session, c)[1]) for c in configs]
        except ValueError as exc:
            raise UserError(str(exc)) from None
    for slug, outcome in results:
        console.print(f"{slug}: {outcome}")


@campaigns_app.command("list")
@friendly
def campaigns_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Campaigns by start time, with their status."""
    with context.session() as (_settings, session):
        rows = [
            {
                "slug": c.slug,
                "name": c.name,
                "status": c.status,
                "starts_at": c.starts_at.isoformat(),
                "ends_at": c.ends_at.isoformat(),
                "multiplier": c.multiplier_bp / 10_000,
                "bonus_minor": c.bonus_minor,
            }
            for c in list_campaigns(session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("slug", "name", "status", "starts (UTC)", "ends (UTC)", "multiplier")
    for r in rows:
        table.add_row(
            *(str(r[k]) for k in ("slug", "name", "status", "starts_at", "ends_at")),
            f"x{r['multiplier']:g}",
        )
    console.print(table)
