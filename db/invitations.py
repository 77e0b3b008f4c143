"""Who gets an invitation or a reminder, as one query per batch, and writing them with their
outbox rows in the caller's transaction.

Every time comparison is against the database clock. The candidate queries return addresses
and consents; the channel is chosen by referral.delivery, and the suppression list is read
once per batch for the addresses found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from db.models import (
    Advocate,
    Conversion,
    Customer,
    Invitation,
    Referral,
    ReferralCode,
    Touch,
)
from db.outbox import CONTACT_COLUMNS, enqueue, recipient_of
from db.statements import among, bulk_insert
from db.types import seconds_from_now
from referral.delivery import Recipient
from referral.invitations import EVENT_WINDOW_DAYS, REMINDER, SCHEDULED, check_trigger
from referral.scoring import PROMOTER_MIN_NPS

_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Candidate:
    customer_id: int
    code: str
    recipient: Recipient


@dataclass(frozen=True, slots=True)
class ReminderCandidate:
    customer_id: int
    invitation_id: int
    channel: str
    code: str
    reminders_sent: int
    recipient: Recipient


@dataclass(frozen=True, slots=True)
class NewInvitation:
    key: str
    program_id: int
    customer_id: int
    channel: str
    trigger: str
    template: str
    payload: dict[str, Any]


def _live_code() -> ColumnElement[bool]:
    # The program is implied by the advocate, but naming it lets the partial unique index on
    # (program_id, advocate_id) WHERE revoked_at IS NULL serve the join instead of a scan.
    return and_(
        ReferralCode.program_id == Advocate.program_id,
        ReferralCode.advocate_id == Advocate.id,
        ReferralCode.revoked_at.is_(None),
    )


def invitation_candidates(
    session: Session,
    program_id: int,
    *,
    trigger: str,
    cooldown_days: int,
    after_customer: int,
    limit: int,
    window_days: int = EVENT_WINDOW_DAYS,
) -> list[Candidate]:
    """Advocates of the program with a live code, no message of ours in the last
    `cooldown_days` (any program: the quiet time is the customer's), and, for an event
    trigger, an event of that kind in the last `window_days` that no invitation of this
    program has followed yet. Ordered by customer id after `after_customer`."""
    check_trigger(trigger)
    customer = Advocate.customer_id
    quiet = ~exists().where(
        Invitation.customer_id == customer,
        Invitation.created_at > seconds_from_now(-cooldown_days * _DAY),
    )
    query = (
        select(Advocate.customer_id, ReferralCode.code, *CONTACT_COLUMNS)
        .join(ReferralCode, _live_code())
        .join(Customer, Customer.id == Advocate.customer_id)
        .where(Advocate.program_id == program_id, Advocate.customer_id > after_customer, quiet)
        .order_by(Advocate.customer_id)
        .limit(limit)
    )
    if trigger != SCHEDULED:
        query = query.where(_recent_event(program_id, trigger, window_days))
    return [Candidate(row[0], row[1], recipient_of(row[2:])) for row in session.execute(query)]


def _recent_event(program_id: int, trigger: str, window_days: int) -> ColumnElement[bool]:
    """The event behind a trigger, recent and newer than the program's last invitation."""
    window_start = seconds_from_now(-window_days * _DAY)

    def not_invited_since(moment: Any) -> ColumnElement[bool]:
        # Two levels down from the advocate: say what is correlated, or SQLAlchemy would
        # give this subquery an advocates table of its own.
        return ~exists().where(
            Invitation.program_id == program_id,
            Invitation.customer_id == Advocate.customer_id,
            Invitation.created_at >= moment,
        ).correlate_except(Invitation)

    if trigger in ("purchase", "renewal"):
        return exists().where(
            Conversion.customer_id == Advocate.customer_id,
            Conversion.kind == trigger,
            Conversion.occurred_at >= window_start,
            not_invited_since(Conversion.occurred_at),
        )
    if trigger == "nps_promoter":
        return and_(
            Customer.nps_score >= PROMOTER_MIN_NPS,
            Customer.nps_at >= window_start,
            not_invited_since(Customer.nps_at),
        )
    # positive_support: the CRM gives a count of positive tickets, not their times, so
    # "since the last invitation" cannot be told; a customer with any gets this trigger's
    # invitation once per program. With ticket times it becomes a dated event like the rest.
    return and_(
        Customer.support_positive > 0,
        ~exists().where(
            Invitation.program_id == program_id,
            Invitation.customer_id == Advocate.customer_id,
            Invitation.trigger == "positive_support",
        ),
    )


def reminder_candidates(
    session: Session,
    program_id: int,
    *,
    after_days: int,
    every_days: int,
    max_reminders: int,
    after_customer: int,
    limit: int,
) -> list[ReminderCandidate]:
    """Advocates whose latest invitation to the program is at least `after_days` old and
    who since then have had no touch on their code (a click, a share), no referral, fewer
    than `max_reminders` reminders, and no message of ours for `every_days`."""
    latest = aliased(Invitation)
    earlier = aliased(Invitation)
    newest_invitation = (
        select(func.max(latest.id))
        .where(
            latest.program_id == program_id,
            latest.trigger != REMINDER,
            latest.customer_id > after_customer,
        )
        .group_by(latest.customer_id)
    )
    sent = (
        select(func.count(earlier.id))
        .where(
            earlier.program_id == program_id,
            earlier.customer_id == Invitation.customer_id,
            earlier.trigger == REMINDER,
            earlier.created_at >= Invitation.created_at,
        )
        .scalar_subquery()
    )
    their_code = aliased(ReferralCode)
    touched = exists().where(
        Touch.code_id == their_code.id,
        their_code.program_id == program_id,
        their_code.customer_id == Invitation.customer_id,
        Touch.occurred_at >= Invitation.created_at,
    )
    referred = exists().where(
        Referral.program_id == program_id,
        Referral.referrer_id == Invitation.customer_id,
        Referral.created_at >= Invitation.created_at,
    )
    recently_messaged = exists().where(
        earlier.customer_id == Invitation.customer_id,
        earlier.created_at > seconds_from_now(-every_days * _DAY),
    )
    query = (
        select(
            Invitation.customer_id,
            Invitation.id,
            Invitation.channel,
            ReferralCode.code,
            sent.label("sent"),
            *CONTACT_COLUMNS,
        )
        .join(
            Advocate,
            and_(Advocate.program_id == program_id, Advocate.customer_id == Invitation.customer_id),
        )
        .join(ReferralCode, _live_code())
        .join(Customer, Customer.id == Invitation.customer_id)
        .where(
            Invitation.id.in_(newest_invitation),
            Invitation.customer_id > after_customer,
            Invitation.created_at <= seconds_from_now(-after_days * _DAY),
            sent < max_reminders,
            ~touched,
            ~referred,
            ~recently_messaged,
        )
        .order_by(Invitation.customer_id)
        .limit(limit)
    )
    return [
        ReminderCandidate(row[0], row[1], row[2], row[3], row[4], recipient_of(row[5:]))
        for row in session.execute(query)
    ]


def insert_invitations(session: Session, invitations: Sequence[NewInvitation]) -> int:
    """Queue each invitation's message and record it, in the caller's transaction; keys that
    exist already are skipped. Returns how many invitations are new."""
    if not invitations:
        return 0
    keys = [i.key for i in invitations]
    existing = set(
        session.scalars(
            select(Invitation.idempotency_key).where(
                among(session, Invitation.idempotency_key, keys)
            )
        )
    )
    outbox_ids = enqueue(
        session,
        [
            {
                "idempotency_key": outbox_key(i.key),
                "kind": "notification",
                "channel": i.channel,
                "customer_id": i.customer_id,
                "template": i.template,
                "payload": i.payload,
            }
            for i in invitations
        ],
    )
    bulk_insert(
        session,
        Invitation,
        [
            {
                "idempotency_key": i.key,
                "program_id": i.program_id,
                "customer_id": i.customer_id,
                "channel": i.channel,
                "trigger": i.trigger,
                "outbox_id": outbox_ids[outbox_key(i.key)],
            }
            for i in invitations
        ],
        ignore_conflicts=True,
    )
    return len(set(keys) - existing)


def outbox_key(invitation_key: str) -> str:
    return f"notify:{invitation_key}"
