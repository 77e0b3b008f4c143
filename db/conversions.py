"""Recording touches and conversions, and the batch reads and writes of the conversion
pipeline. Each function is one set-based statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session

from db.models import Conversion, Customer, Referral, ReferralCode, Touch, core_table
from db.statements import among, bulk_insert, bulk_update, take_turns
from db.types import UTCDateTime, utcnow


def ensure_customers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Customers first seen in an event; a CRM record that exists already is left alone."""
    bulk_insert(session, Customer, rows, ignore_conflicts=True)


def customer_ids(session: Session, source: str, external_ids: Iterable[str]) -> dict[str, int]:
    rows = session.execute(
        select(Customer.external_id, Customer.id).where(
            Customer.source == source, among(session, Customer.external_id, set(external_ids))
        )
    )
    return {external_id: id_ for external_id, id_ in rows}


def code_ids(session: Session, codes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """code -> (code id, program id) for live and revoked codes alike."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = session.execute(
        select(ReferralCode.code, ReferralCode.id, ReferralCode.program_id).where(
            among(session, ReferralCode.code, wanted)
        )
    )
    return {code: (code_id, program_id) for code, code_id, program_id in rows}


def insert_touches(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Touches with their own time and maybe a source event id: a replay changes nothing."""
    bulk_insert(session, Touch, rows, ignore_conflicts=True)


def append_touches(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Live clicks: no event id to collide on, stamped by the database clock as written
    (the column's default), so PostgreSQL takes them by plain COPY."""
    bulk_insert(session, Touch, rows, ignore_conflicts=False)


def insert_conversions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Idempotent on (source, external_id): a re-delivered event records nothing new."""
    bulk_insert(session, Conversion, rows, ignore_conflicts=True)


def update_customer_fields(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Per-customer updates from events, e.g. an NPS answer: rows carry `id` and fields."""
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_fields.setdefault(tuple(sorted(row)), []).append(row)
    for group in by_fields.values():
        bulk_update(session, Customer, group)


def count_support_interactions(session: Session, counts: Mapping[int, Mapping[str, int]]) -> None:
    """Add support tickets to each customer's positive and negative tallies. Not idempotent
    by itself: callers record an event's tally in the transaction that marks it recorded."""
    if not counts:
        return
    table = core_table(Customer)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            support_positive=table.c.support_positive + bindparam("b_positive"),
            support_negative=table.c.support_negative + bindparam("b_negative"),
        ),
        [
            {"b_id": cid, "b_positive": c.get("positive", 0), "b_negative": c.get("negative", 0)}
            for cid, c in counts.items()
        ],
        execution_options={"synchronize_session": False},
    )


# --- the conversion pipeline's batch reads -------------------------------------------------
# Core rows (session.connection()): thousands of plain tuples per read, no ORM bookkeeping.
# The batch writes with Core statements too, so there is nothing pending to flush first.


@dataclass(frozen=True, slots=True)
class PendingConversion:
    id: int
    kind: str
    customer_id: int
    order_id: str | None
    amount_minor: int
    currency: str | None
    referral_code: str | None
    visitor_id: str | None
    device_id: str | None
    occurred_at: datetime
    email_normalized: str | None
    first_order_at: datetime | None


def claim_unprocessed(session: Session, limit: int) -> list[PendingConversion]:
    """The oldest unprocessed conversions. Batches take turns, so two runs at once process
    them in order: a purchase is never judged before the batch holding its sign-up has
    committed the referral that the sign-up created."""
    take_turns(session, "process-conversions")
    oldest = (
        select(
            Conversion.id,
            Conversion.kind,
            Conversion.customer_id,
            Conversion.order_id,
            Conversion.amount_minor,
            Conversion.currency,
            Conversion.referral_code,
            Conversion.visitor_id,
            Conversion.device_id,
            Conversion.occurred_at,
            Customer.email_normalized,
            Customer.first_order_at,
        )
        .join(Customer, Customer.id == Conversion.customer_id)
        .where(Conversion.processed_at.is_(None))
        .order_by(Conversion.id)
        .limit(limit)
    )
    rows = sorted(session.connection().execute(oldest), key=attrgetter("occurred_at", "id"))
    return [PendingConversion(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class TouchRow:
    visitor_id: str | None
    device_id: str | None
    code_id: int
    program_id: int
    advocate_customer_id: int
    occurred_at: datetime
    referrer_host: str | None
    channel: str | None


def touches_for(
    session: Session, visitor_ids: set[str], device_ids: set[str], since: datetime
) -> list[TouchRow]:
    if not visitor_ids and not device_ids:
        return []
    match = []
    if visitor_ids:
        match.append(among(session, Touch.visitor_id, visitor_ids))
    if device_ids:
        match.append(among(session, Touch.device_id, device_ids))
    rows = session.connection().execute(
        select(
            Touch.visitor_id,
            Touch.device_id,
            Touch.code_id,
            ReferralCode.program_id,
            ReferralCode.customer_id,
            Touch.occurred_at,
            Touch.referrer_host,
            Touch.channel,
        )
        .join(ReferralCode, ReferralCode.id == Touch.code_id)
        .where(or_(*match))
        .where(Touch.occurred_at >= since, Touch.kind == "click")
    )
    return [TouchRow(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class CodeOwner:
    code_id: int
    program_id: int
    customer_id: int
    revoked: bool


def code_owners(session: Session, codes: set[str]) -> dict[str, CodeOwner]:
    if not codes:
        return {}
    rows = session.connection().execute(
        select(
            ReferralCode.code,
            ReferralCode.id,
            ReferralCode.program_id,
            ReferralCode.customer_id,
            ReferralCode.revoked_at.is_not(None),
        ).where(among(session, ReferralCode.code, codes))
    )
    return {code: CodeOwner(cid, pid, cust, bool(rev)) for code, cid, pid, cust, rev in rows}


@dataclass(slots=True)
class ReferralState:
    id: int
    program_id: int
    program_version_id: int
    referrer_id: int
    referee_id: int
    status: str
    referred_at: datetime
    qualifying_conversion_id: int | None


def referrals_of(session: Session, referee_ids: set[int]) -> list[ReferralState]:
    if not referee_ids:
        return []
    rows = session.connection().execute(
        select(
            Referral.id,
            Referral.program_id,
            Referral.program_version_id,
            Referral.referrer_id,
            Referral.referee_id,
            Referral.status,
            Referral.referred_at,
            Referral.qualifying_conversion_id,
        ).where(among(session, Referral.referee_id, referee_ids))
    )
    return [ReferralState(*row) for row in rows]


SUCCESSFUL = ("qualified", "approved", "rewarded")


def successful_referral_counts(
    session: Session, referrer_ids: set[int]
) -> dict[tuple[int, int], int]:
    """(program id, referrer id) -> referrals that already qualified."""
    if not referrer_ids:
        return {}
    rows = session.connection().execute(
        select(Referral.program_id, Referral.referrer_id, func.count())
        .where(among(session, Referral.referrer_id, referrer_ids))
        .where(Referral.status.in_(SUCCESSFUL))
        .group_by(Referral.program_id, Referral.referrer_id)
    )
    return {(program_id, referrer_id): n for program_id, referrer_id, n in rows}


def referee_emails_in_programs(
    session: Session, program_ids: set[int], emails: set[str]
) -> set[tuple[int, str]]:
    """(program, normalized email) pairs already used by some referee."""
    if not program_ids or not emails:
        return set()
    rows = session.connection().execute(
        select(Referral.program_id, Customer.email_normalized)
        .join(Customer, Customer.id == Referral.referee_id)
        .where(Referral.program_id.in_(sorted(program_ids)))
        .where(among(session, Customer.email_normalized, emails))
    )
    return {(program_id, email) for program_id, email in rows if email}


def first_purchases(session: Session, customer_ids: set[int]) -> dict[int, datetime]:
    """Each customer's earliest recorded purchase: the new-customers-only check."""
    if not customer_ids:
        return {}
    earliest = type_coerce(func.min(Conversion.occurred_at), UTCDateTime())
    rows = session.connection().execute(
        select(Conversion.customer_id, earliest)
        .where(among(session, Conversion.customer_id, customer_ids))
        .where(Conversion.kind == "purchase")
        .group_by(Conversion.customer_id)
    )
    return {customer: at for customer, at in rows if at is not None}


def purchases_by_order(session: Session, order_ids: set[str]) -> dict[str, tuple[int, int]]:
    """order id -> (conversion id, amount) of the original purchase."""
    if not order_ids:
        return {}
    rows = session.connection().execute(
        select(Conversion.order_id, Conversion.id, Conversion.amount_minor).where(
            among(session, Conversion.order_id, order_ids), Conversion.kind == "purchase"
        )
    )
    return {order: (cid, amount) for order, cid, amount in rows if order}


def refunded_totals(session: Session, order_ids: set[str]) -> dict[str, int]:
    if not order_ids:
        return {}
    rows = session.connection().execute(
        select(Conversion.order_id, func.sum(Conversion.amount_minor))
        .where(among(session, Conversion.order_id, order_ids), Conversion.kind == "refund")
        .group_by(Conversion.order_id)
    )
    return {order: int(total or 0) for order, total in rows if order}


# --- the conversion pipeline's batch writes ------------------------------------------------


def insert_referrals(
    session: Session, rows: Sequence[dict[str, Any]]
) -> dict[tuple[int, int], int]:
    """Creates referrals, UNIQUE(program, referee) deciding races; returns the ids of those
    created, by (program, referee): one another run created first is not among them."""
    created = bulk_insert(
        session,
        Referral,
        rows,
        ignore_conflicts=True,
        returning=("program_id", "referee_id", "id"),
    )
    return {(program, referee): referral for program, referee, referral in created}


def set_referral_status(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """changes: {id, status, status_reason, qualifying_conversion_id?}."""
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        by_fields.setdefault(tuple(change), []).append(change)
    for group in by_fields.values():
        bulk_update(session, Referral, group, also={"status_changed_at": utcnow()})


def mark_processed(session: Session, outcomes: Sequence[dict[str, Any]]) -> None:
    """outcomes: {id, outcome, referral_id}."""
    bulk_update(session, Conversion, outcomes, also={"processed_at": utcnow()})


def window_start(conversions: Sequence[PendingConversion], days: int) -> datetime:
    return min(c.occurred_at for c in conversions) - timedelta(days=days)


def unprocessed_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Conversion).where(Conversion.processed_at.is_(None))
        )
        or 0
    )
