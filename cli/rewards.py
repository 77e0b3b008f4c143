"""`referral rewards ...` and `referral ledger ...`: what is owed, decisions, balances."""

from __future__ import annotations

import getpass
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from cli import context
from cli.errors import UserError, check_status, friendly
from cli.output import console, print_json
from db.models import Customer
from db.rewards import GrantDecisionError, balances, decide_grants, list_grants
from referral.money import format_money

rewards_app = typer.Typer(help="Reward grants: list, approve, reject.", no_args_is_help=True)
ledger_app = typer.Typer(help="The rewards ledger.", no_args_is_help=True)

STATUSES = ("pending", "approved", "issued", "rejected", "clawed_back", "needs_reconciliation")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Reason = Annotated[str, typer.Option(help="Why: recorded with your name and the time.")]
By = Annotated[str | None, typer.Option(help="Who decides (default: your login name).")]


@rewards_app.command("list")
@friendly
def rewards_list(
    status: Annotated[str | None, typer.Option(help=f"One of: {', '.join(STATUSES)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Newest reward grants first."""
    check_status(status, STATUSES)
    with context.session() as (_settings, session):
        grants = list_grants(session, status=status, limit=limit)
    if as_json:
        print_json([asdict(g) for g in grants])
        return
    table = Table("id", "program", "customer", "role", "reward", "amount", "status", "hold until")
    for g in grants:
        waiting = " (needs approval)" if g.status == "pending" and g.needs_approval else ""
        table.add_row(
            str(g.id),
            g.program,
            g.customer,
            g.role,
            g.reward_type,
            format_money(g.amount_minor, g.currency),
            g.status + waiting,
            g.hold_until.isoformat(timespec="minutes") if g.hold_until else "-",
        )
    console.print(table)


def _decide(ids: list[int], *, approve: bool, reason: str, by: str | None) -> None:
    if not reason.strip():
        raise UserError("--reason must say why")
    with context.session() as (_settings, session):
        try:
            done = decide_grants(
                session, ids, approve=approve, who=by or getpass.getuser(), reason=reason.strip()
            )
        except GrantDecisionError as exc:
            raise UserError(str(exc)) from None
    verb = "approved" if approve else "rejected"
    console.print(f"{verb} {len(done)} grant(s): {', '.join(map(str, done))}")


@rewards_app.command("approve")
@friendly
def rewards_approve(
    ids: Annotated[list[int], typer.Argument(help="Grant ids.")], reason: Reason, by: By = None
) -> None:
    """Approve waiting grants; each is issued once its refund hold ends."""
    _decide(ids, approve=True, reason=reason, by=by)


@rewards_app.command("reject")
@friendly
def rewards_reject(
    ids: Annotated[list[int], typer.Argument(help="Grant ids.")], reason: Reason, by: By = None
) -> None:
    """Reject waiting grants: nothing is paid for them."""
    _decide(ids, approve=False, reason=reason, by=by)


@ledger_app.command("balance")
@friendly
def ledger_balance(
    customer: Annotated[str, typer.Argument(help="The customer's CRM external id.")],
    source: Annotated[str, typer.Option(help="The customer's CRM source.")] = "crm",
    as_json: JsonFlag = False,
) -> None:
    """A customer's balances per account (credit, points, discount, payable)."""
    with context.session() as (_settings, session):
        customer_id = session.scalar(
            select(Customer.id).where(Customer.source == source, Customer.external_id == customer)
        )
        if customer_id is None:
            raise UserError(f"no customer {customer!r} from source {source!r}")
        found = balances(session, customer_id)
    if as_json:
        print_json([asdict(b) for b in found])
        return
    table = Table("account", "balance")
    for b in found:
        table.add_row(b.account.split(":", 2)[-1], format_money(b.amount_minor, b.currency))
    console.print(table if found else "no ledger entries")
