"""`referral`: programs, codes, seeding, the demo and the database, from a terminal."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from cli import context
from cli import flows as flows_cli
from cli.campaigns import campaigns_app
from cli.errors import UserError, friendly
from cli.experiments import experiments_app
from cli.export import export_command
from cli.outbox import outbox_app
from cli.output import console, print_json
from cli.report import report_command
from cli.review import review_app
from cli.rewards import ledger_app, rewards_app
from cli.web import inbox_app
from cli.web import web as web_command
from config.program_files import load_program_files
from db.advocates import issue_code
from db.customers import count_customers
from db.engine import session_factory
from db.migrate import current_revision, head_revision, upgrade
from db.models import Customer
from db.programs import Programs
from db.types import utcnow
from referral.links import share_kit
from referral.money import format_money
from referral.qr import qr_png, qr_svg

app = typer.Typer(
    help="Self-hosted referral engine.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
programs_app = typer.Typer(help="Referral programs and their versions.", no_args_is_help=True)
codes_app = typer.Typer(help="Personal referral codes, links and share URLs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(programs_app, name="programs")
app.add_typer(codes_app, name="codes")
app.add_typer(rewards_app, name="rewards")
app.add_typer(ledger_app, name="ledger")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(inbox_app, name="inbox")
app.add_typer(outbox_app, name="outbox")
app.add_typer(review_app, name="review")
app.add_typer(experiments_app, name="experiments")
app.command("report")(report_command)
app.command("export")(export_command)
app.command("web")(web_command)
app.command("run")(flows_cli.run)
app.command("up")(flows_cli.up)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision."""
    settings = context.settings()
    engine = context.engine(settings, require_current=False)
    upgrade(engine)
    console.print(f"database at revision [bold]{current_revision(engine)}[/]")


@db_app.command("current")
@friendly
def db_current() -> None:
    """Show the schema revision and whether it is the newest."""
    engine = context.engine(context.settings(), require_current=False)
    current, head = current_revision(engine), head_revision(engine)
    state = "current" if current == head else f"behind (newest is {head})"
    console.print(f"revision {current or 'none'}: {state}")


@programs_app.command("apply")
@friendly
def programs_apply(
    files: Annotated[list[Path], typer.Argument(help="Program files (YAML).")],
) -> None:
    """Create programs or add a version; every file is checked before any is applied."""
    configs = load_program_files(files)
    with context.session() as (_settings, session):
        results = [Programs(session).apply(config) for config in configs]
    for result in results:
        console.print(f"{result.program.slug}: {result.outcome} (version {result.program.version})")


@programs_app.command("list")
@friendly
def programs_list(as_json: JsonFlag = False) -> None:
    """List programs with their current version."""
    with context.session() as (_settings, session):
        programs = Programs(session).list()
    if as_json:
        print_json([asdict(p) for p in programs])
        return
    table = Table("slug", "name", "type", "version", "active from", "until")
    for p in programs:
        table.add_row(
            p.slug,
            p.name,
            p.type,
            str(p.version),
            p.starts_at.isoformat() if p.starts_at else "-",
            p.ends_at.isoformat() if p.ends_at else "-",
        )
    console.print(table)


@codes_app.command("issue")
@friendly
def codes_issue(
    program: Annotated[str, typer.Option(help="Program slug.")],
    customer: Annotated[str, typer.Option(help="The customer's CRM external id.")],
    vanity: Annotated[str | None, typer.Option(help="A chosen code, e.g. SARAH10.")] = None,
    source: Annotated[str, typer.Option(help="The customer's CRM source.")] = "crm",
    qr_svg_file: Annotated[
        Path | None, typer.Option("--qr-svg", help="Also write the QR code as SVG here.")
    ] = None,
    qr_png_file: Annotated[
        Path | None, typer.Option("--qr-png", help="Also write the QR code as PNG here.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Enrol a customer (if needed) and print their code, link, QR and share URLs."""
    with context.session() as (settings, session):
        loaded = Programs(session).get(program)
        customer_id = session.scalar(
            select(Customer.id).where(Customer.source == source, Customer.external_id == customer)
        )
        if customer_id is None:
            raise UserError(f"no customer {customer!r} from source {source!r}")
        code = issue_code(
            session, loaded.id, customer_id, length=loaded.config.code_length, vanity=vanity
        ).code
        kit = share_kit(
            settings.web.public_base_url,
            code,
            message=loaded.config.messages.share_message,
            subject=loaded.config.messages.share_subject,
            campaign=loaded.slug,
        )
    for path, render in ((qr_svg_file, qr_svg), (qr_png_file, qr_png)):
        if path is not None:
            try:
                path.write_bytes(render(kit.link))
            except OSError as exc:
                raise UserError(f"{path}: cannot write: {exc.strerror}") from None
    if as_json:
        print_json(asdict(kit))
        return
    console.print(f"[bold]code[/]   {kit.code}\n[bold]link[/]   {kit.link}")
    console.print(f"[bold]qr[/]     {kit.qr_url_svg}  {kit.qr_url_png}")
    for channel, url in kit.share.items():
        console.print(f"[bold]{channel:<8}[/] {url}", soft_wrap=True)


@app.command("seed")
@friendly
def seed(
    customers: Annotated[int, typer.Option(min=1, max=10_000_000, help="How many.")] = 10_000,
    seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 7,
) -> None:
    """Load a deterministic synthetic CRM (customers with NPS, orders, support, consent)."""
    from integrations.crm.synthetic import generate_customers
    from tasks.crm import load_customers

    with context.session() as (settings, session):
        # The database's clock, to the day: the same seed on the same day gives the same rows.
        today = session.scalar(select(utcnow()))
        assert today is not None
        now = today.replace(hour=0, minute=0, second=0, microsecond=0)
        factory = session_factory(session.get_bind()).begin  # type: ignore[arg-type]
    pepper = settings.hash_pepper.get_secret_value().encode()
    columns = (
        TextColumn("seeding customers"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("seed", total=customers)
        for done in load_customers(
            factory,
            generate_customers(customers, seed=seed_value, now=now),
            batch_size=settings.batch_size,
            pepper=pepper,
        ):
            progress.advance(bar, done)
    with context.session() as (_settings, session):
        console.print(f"{count_customers(session):,} customers in the database")


@app.command("demo")
@friendly
def demo(
    customers: Annotated[int, typer.Option(min=100, max=1_000_000)] = 10_000,
    seed_value: Annotated[int, typer.Option("--seed")] = 7,
    as_json: JsonFlag = False,
) -> None:
    """Run the whole pipeline on a synthetic shop (embedded: SQLite + ephemeral Prefect)."""
    from flows.demo import demo as demo_flow

    context.settings()  # a bad setting fails here, in one line, before Prefect starts
    with flows_cli.flows_here():
        summary = demo_flow(customers=customers, seed=seed_value)
    if as_json:
        print_json(summary)
        return
    print_demo_summary(summary)


def print_demo_summary(summary: dict[str, Any]) -> None:
    table = Table(
        title=f"Referral demo: program {summary['program']} v{summary['version']}", show_header=True
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("detail")
    activity = summary["activity"]
    table.add_row("customers", f"{summary['customers']:,}", f"{summary['loaded']:,} loaded")
    table.add_row(
        "advocates",
        f"{summary['advocates']:,}",
        f"{summary['enrolment']['enrolled']:,} newly enrolled, {summary['codes']:,} codes",
    )
    table.add_row("link clicks", f"{summary['clicks']:,}", f"{activity['clicks']:,} simulated")
    for kind, n in sorted(summary["conversions"].items()):
        table.add_row(f"conversions: {kind}", f"{n:,}", "")
    for status, n in sorted(summary["referrals"].items()):
        table.add_row(f"referrals: {status}", f"{n:,}", "")
    cost: dict[str, int] = {}
    for grant in summary["grants"]:
        amount = format_money(grant["amount_minor"], grant["currency"])
        table.add_row(
            f"rewards: {grant['reward_type']} {grant['status']}", f"{grant['count']:,}", amount
        )
        if grant["status"] == "issued" and grant["currency"] != "PTS":
            cost[grant["currency"]] = cost.get(grant["currency"], 0) + grant["amount_minor"]
    invited = sum(r.get("invited", 0) for r in summary.get("invitations", {}).values())
    table.add_row("invitations queued", f"{invited:,}", "by consented channel")
    delivery = summary.get("delivery", {})
    table.add_row(
        "messages delivered",
        f"{delivery.get('sent', 0):,}",
        f"data/outbox/*.jsonl; {delivery.get('dead', 0):,} refused (consent, suppression)",
    )
    crm = summary.get("crm", {})
    table.add_row(
        "CRM told",
        f"{crm.get('profiles', {}).get('pushed', 0):,}",
        f"contacts' referral state, {crm.get('leads', {}).get('handed_over', 0):,} referred "
        "leads; data/crm-writeback/",
    )
    milestones = summary.get("milestones", {})
    table.add_row(
        "milestone bonuses",
        f"{milestones.get('grants', 0):,}",
        f"{milestones.get('tier_upgrades', 0):,} tier upgrades",
    )
    table.add_row(
        "cost of issued rewards", "", ", ".join(format_money(v, k) for k, v in cost.items()) or "0"
    )
    table.add_row("notifications waiting", f"{summary['outbox_pending']:,}", "outbox")
    console.print(table)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
