"""`referral report`: each program's funnel, money and best advocates, as Rich tables or
JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from cli import context
from cli.errors import UserError, friendly
from cli.html_report import render_html
from cli.output import console, print_json
from db.programs import ProgramNotFound
from db.types import utcnow
from referral.analytics.ratios import percent_text
from referral.money import format_money

DEFAULT_DAYS = 30


@friendly
def report_command(
    program: Annotated[str | None, typer.Option(help="One program's slug (default: all).")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="From this UTC date or time, e.g. 2026-11-01 (default: 30 days ago)."),
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="Advocates on the leaderboard.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    html: Annotated[
        Path | None, typer.Option(help="Also write the report with charts to this HTML file.")
    ] = None,
) -> None:
    """Funnel with drop-off, revenue, reward cost, ROI, cost per acquired customer, top
    referrers, channels, campaigns, cohorts and fraud figures, per program."""
    # Imported here: the experiments' statistics load scipy, which would slow every other
    # `referral` command's start.
    from db.report import report

    with context.session() as (_settings, session):
        now = session.execute(select(utcnow())).scalar_one()
        start = _since(since) if since else now - timedelta(days=DEFAULT_DAYS)
        try:
            found = report(session, start, program=program, top=top)
        except ProgramNotFound:
            raise UserError(f"no program named {program!r}") from None
    if html is not None:
        try:
            html.write_text(render_html(found, now), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {html}: {exc.strerror}") from None
    if as_json:
        print_json(found)
        return
    if html is not None:
        console.print(f"wrote {html}")
        return
    for section in found["programs"]:
        _print_program(section)
    queue = found["review_queue"]
    console.print(f"review queue: {queue['open']:,} referrals waiting")


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {text!r} is not a date like 2026-11-01") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _print_program(section: dict[str, Any]) -> None:
    currency = section["currency"]
    money = section["economics"]
    console.rule(f"{section['program']} (v{section['version']}) since {section['since'][:10]}")
    steps = Table("step", "count", "of previous", "of first", title="Funnel")
    for step in section["funnel"]:
        steps.add_row(
            step["name"].replace("_", " "),
            f"{step['count']:,}",
            percent_text(step["rate"]),
            percent_text(step["rate_from_start"]),
        )
    console.print(steps)
    if section["biggest_drop_off"]:
        console.print(f"biggest drop-off: {section['biggest_drop_off'].replace('_', ' ')}")
    economics = Table("measure", "value", title="Money")
    economics.add_row(
        "revenue from referred customers", format_money(money["revenue_minor"], currency)
    )
    economics.add_row("reward cost", format_money(money["cost_minor"], currency))
    economics.add_row("ROI", percent_text(money["roi"]))
    economics.add_row("customers acquired", f"{money['acquired_customers']:,}")
    if money["cost_per_acquisition_minor"] is not None:
        economics.add_row(
            "cost per acquired customer",
            format_money(money["cost_per_acquisition_minor"], currency),
        )
    if money["savings_total_minor"] is not None:
        economics.add_row(
            "saved against paid acquisition", format_money(money["savings_total_minor"], currency)
        )
    for kind, amount in section["costs_minor"].items():
        if amount:
            economics.add_row(f"  {kind}", format_money(amount, currency))
    console.print(economics)
    board = Table("#", "advocate", "successful referrals", title="Top referrers")
    for entry in section["top_referrers"]:
        board.add_row(str(entry["position"]), entry["advocate"], str(entry["referrals"]))
    console.print(board)
    console.print(_segments("Channels", "channel", section["by_channel"], currency))
    if section["by_campaign"]:
        console.print(_segments("Campaigns", "campaign", section["by_campaign"], currency))
    cohorts = section["cohorts"]
    groups = Table("customers", "count", "retained in months 1..3", "3-month CLV", title="Cohorts")
    for label in ("referred", "other"):
        group = cohorts[label]
        groups.add_row(
            label,
            f"{group['customers']:,}",
            " / ".join(percent_text(r) for r in group["retention"]),
            format_money(group["clv_mean_minor"], currency)
            if group["clv_mean_minor"] is not None
            else "-",
        )
    console.print(groups)
    timing = section["time_to_conversion"]
    if timing["conversions"]:
        console.print(
            f"time from referral to purchase: median {timing['median_hours']} h, "
            f"90th percentile {timing['p90_hours']} h"
        )
    fraud = section["fraud"]
    console.print(f"fraud: {fraud['flagged']:,} held for review, {fraud['rejected']:,} rejected")


def _segments(title: str, label: str, rows: list[dict[str, Any]], currency: str) -> Table:
    table = Table(
        label,
        "invited",
        "link clicks",
        "sign-ups",
        "purchases",
        "sign-up to purchase",
        "revenue",
        "reward cost",
        "ROI",
        title=title,
    )
    for row in rows:
        counts = row["funnel"]
        table.add_row(
            row["name"].replace("_", " "),
            f"{counts['invitations_sent']:,}",
            f"{counts['link_clicks']:,}",
            f"{counts['signups']:,}",
            f"{counts['purchases']:,}",
            percent_text(row["signup_to_purchase"]),
            format_money(row["revenue_minor"], currency),
            format_money(row["cost_minor"], currency),
            percent_text(row["roi"]),
        )
    return table
