"""send_invitations and reminders, a batch of advocates per task.

A batch reads its candidates in one query and the suppression list once, chooses each
channel with referral.delivery, and writes the outbox rows and invitation rows in one
transaction. The payloads are the `invitation` and `reminder` contexts documented in
referral/notifications.py, less first_name and unsubscribe_url, which the relay adds when it
sends. Payloads hold no names or addresses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import invitations as q
from db.engine import engine_for, transaction
from db.experiments import record_exposures
from db.outbox import suppressed
from db.programs import LoadedProgram, Programs
from db.types import utcnow
from referral.delivery import choose_channel, refusal, suppression_pair
from referral.experiments.assignment import assign
from referral.invitations import REMINDER, SCHEDULED, check_trigger, invitation_key, reminder_key
from referral.notifications import channel_link, invitation_payload
from tasks.base import database_task


def _empty(reason: str | None = None) -> dict[str, Any]:
    return {"candidates": 0, "invited": 0, "unreachable": 0, "cursor": None, "skipped": reason}


def _skip_reason(program: LoadedProgram, now: Any, trigger: str) -> str | None:
    if not program.config.is_active(now):
        return "program not active"
    if trigger not in (SCHEDULED, REMINDER) and trigger not in program.config.invitations.triggers:
        return f"trigger {trigger} not enabled for the program"
    return None


def invitation_batch(
    session: Session,
    program_slug: str,
    trigger: str,
    *,
    after_customer: int,
    batch_size: int,
    public_base_url: str,
) -> dict[str, Any]:
    check_trigger(trigger)
    program = Programs(session).get(program_slug)
    config = program.config
    now = session.scalar(select(utcnow()))
    assert now is not None
    if reason := _skip_reason(program, now, trigger):
        return _empty(reason)
    candidates = q.invitation_candidates(
        session,
        program.id,
        trigger=trigger,
        cooldown_days=config.invitations.cooldown_days,
        after_customer=after_customer,
        limit=batch_size,
    )
    if not candidates:
        return _empty()
    channels = config.invitations.channels
    blocked = suppressed(
        session,
        {
            pair
            for c in candidates
            for channel in channels
            if (pair := suppression_pair(c.recipient, channel)) is not None
        },
    )
    invitations = []
    exposures = []
    trial = config.experiment.spec() if config.experiment else None
    for candidate in candidates:
        if trial is not None:
            assignment = assign(trial, candidate.customer_id)
            exposures.append(
                {
                    "experiment": trial.key,
                    "customer_id": candidate.customer_id,
                    "program_id": program.id,
                    "arm": assignment.arm,
                    "holdout": assignment.holdout,
                }
            )
            if assignment.holdout:
                continue  # never invited: the baseline the program is measured against
        channel = choose_channel(candidate.recipient, channels, blocked)
        if channel is None:
            continue
        invitations.append(
            q.NewInvitation(
                key=invitation_key(program.id, candidate.customer_id, trigger, now.date()),
                program_id=program.id,
                customer_id=candidate.customer_id,
                channel=channel,
                trigger=trigger,
                template="invitation",
                payload=invitation_payload(
                    program_slug=program.slug,
                    program_name=config.name,
                    code=candidate.code,
                    link=channel_link(public_base_url, candidate.code, channel),
                    share_message=config.messages.share_message,
                    trigger=trigger,
                ),
            )
        )
    invited = q.insert_invitations(session, invitations)
    record_exposures(session, exposures)
    return {
        "candidates": len(candidates),
        "invited": invited,
        "unreachable": len(candidates) - len(invitations),
        "cursor": candidates[-1].customer_id,
        "skipped": None,
    }


def reminder_batch(
    session: Session,
    program_slug: str,
    *,
    after_customer: int,
    batch_size: int,
    public_base_url: str,
) -> dict[str, Any]:
    program = Programs(session).get(program_slug)
    config = program.config
    settings = config.invitations.reminders
    now = session.scalar(select(utcnow()))
    assert now is not None
    if settings.max == 0:
        return _empty("reminders are off (max 0)")
    if reason := _skip_reason(program, now, REMINDER):
        return _empty(reason)
    candidates = q.reminder_candidates(
        session,
        program.id,
        after_days=settings.after_days,
        every_days=settings.every_days,
        max_reminders=settings.max,
        after_customer=after_customer,
        limit=batch_size,
    )
    if not candidates:
        return _empty()
    blocked = suppressed(
        session,
        {
            pair
            for c in candidates
            if (pair := suppression_pair(c.recipient, c.channel)) is not None
        },
    )
    reminders = []
    for candidate in candidates:
        # A reminder follows its invitation's channel or is not sent: someone who opted out
        # there should not hear about it on another channel instead.
        if refusal(candidate.recipient, candidate.channel, blocked) is not None:
            continue
        number = candidate.reminders_sent + 1
        reminders.append(
            q.NewInvitation(
                key=reminder_key(
                    program.id, candidate.customer_id, candidate.invitation_id, number
                ),
                program_id=program.id,
                customer_id=candidate.customer_id,
                channel=candidate.channel,
                trigger=REMINDER,
                template="reminder",
                payload=invitation_payload(
                    program_slug=program.slug,
                    program_name=config.name,
                    code=candidate.code,
                    link=channel_link(public_base_url, candidate.code, candidate.channel),
                    share_message=config.messages.share_message,
                    trigger=REMINDER,
                    reminder_number=number,
                ),
            )
        )
    invited = q.insert_invitations(session, reminders)
    return {
        "candidates": len(candidates),
        "invited": invited,
        "unreachable": len(candidates) - len(reminders),
        "cursor": candidates[-1].customer_id,
        "skipped": None,
    }


@database_task("send-invitations-batch")
def send_invitations_batch(
    database_url: str,
    program_slug: str,
    trigger: str,
    after_customer: int,
    batch_size: int,
    public_base_url: str,
) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return invitation_batch(
            session,
            program_slug,
            trigger,
            after_customer=after_customer,
            batch_size=batch_size,
            public_base_url=public_base_url,
        )


@database_task("send-reminders-batch")
def send_reminders_batch(
    database_url: str, program_slug: str, after_customer: int, batch_size: int, public_base_url: str
) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return reminder_batch(
            session,
            program_slug,
            after_customer=after_customer,
            batch_size=batch_size,
            public_base_url=public_base_url,
        )
