"""`referral review ...`: the referrals the fraud checks held for a person, each with its
evidence in plain words, and the decisions on them (who, when, why; appeals reopen)."""

from __future__ import annotations

import getpass
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from cli import context
from cli.errors import UserError, friendly
from cli.output import console, print_json
from db.reviews import PAST, ReviewError, decide, detail, waiting
from referral.fraud import Severity, Signal
from referral.fraud.explain import explain

review_app = typer.Typer(
    help="Referrals held for review: list, show, approve, reject, reopen.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Reason = Annotated[str, typer.Option(help="Why: recorded with your name and the time.")]
By = Annotated[str | None, typer.Option(help="Who decides (default: your login name).")]
ReferralId = Annotated[int, typer.Argument(help="The referral's id.")]


@review_app.command("list")
@friendly
def review_list(
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50, as_json: JsonFlag = False
) -> None:
    """Referrals waiting for a decision, longest waiting first."""
    with context.session() as (_settings, session):
        queue = waiting(session, limit)
    if as_json:
        print_json([asdict(w) for w in queue])
        return
    table = Table("referral", "program", "referrer", "referee", "score", "reasons", "waiting since")
    for w in queue:
        table.add_row(
            str(w.referral_id),
            w.program,
            w.referrer,
            w.referee,
            str(w.score),
            ", ".join(w.reasons),
            w.waiting_since.isoformat(timespec="minutes"),
        )
    console.print(table if queue else "nothing waiting for review")


@review_app.command("show")
@friendly
def review_show(referral_id: ReferralId, as_json: JsonFlag = False) -> None:
    """One referral: every signal with its evidence in plain words, and every decision."""
    with context.session() as (_settings, session):
        found = detail(session, referral_id)
    if found is None:
        raise UserError(f"no referral with id {referral_id}")
    words = [
        explain(Signal(s.rule, Severity(s.severity), s.score, s.reason_code, s.evidence))
        for s in found.signals
    ]
    if as_json:
        data = asdict(found)
        for signal, text in zip(data["signals"], words, strict=True):
            signal["explanation"] = text
        print_json(data)
        return
    console.print(
        f"referral {found.referral_id} in {found.program}: {found.referrer} referred "
        f"{found.referee} on {found.referred_at.isoformat(timespec='minutes')}; "
        f"status {found.status}"
    )
    signals = Table("rule", "severity", "score", "what it means")
    for s, text in zip(found.signals, words, strict=True):
        signals.add_row(s.rule, s.severity, str(s.score), text)
    console.print(signals if found.signals else "no fraud signals")
    if found.decisions:
        decisions = Table("decision", "by", "when", "why")
        for d in found.decisions:
            decisions.add_row(
                d.decision, d.decided_by, d.decided_at.isoformat(timespec="minutes"), d.reason
            )
        console.print(decisions)


def _decide(referral_id: int, decision: str, reason: str, by: str | None) -> None:
    if not reason.strip():
        raise UserError("--reason must say why")
    with context.session() as (_settings, session):
        try:
            status = decide(
                session, referral_id, decision, who=by or getpass.getuser(), reason=reason.strip()
            )
        except ReviewError as exc:
            raise UserError(str(exc)) from None
    console.print(f"referral {referral_id}: {PAST[decision]}, now {status}")


@review_app.command("approve")
@friendly
def review_approve(referral_id: ReferralId, reason: Reason, by: By = None) -> None:
    """Let a held referral through: it goes on to rewards like any other."""
    _decide(referral_id, "approve", reason, by)


@review_app.command("reject")
@friendly
def review_reject(referral_id: ReferralId, reason: Reason, by: By = None) -> None:
    """Reject a held referral: nothing is paid for it."""
    _decide(referral_id, "reject", reason, by)


@review_app.command("reopen")
@friendly
def review_reopen(referral_id: ReferralId, reason: Reason, by: By = None) -> None:
    """An appeal: put a rejected (or approved, unpaid) referral back in the queue."""
    _decide(referral_id, "reopen", reason, by)
