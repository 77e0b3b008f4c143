"""Recording touches and conversions, and the batch reads and writes of the conversion
pipeline. Each function is one set-based statement (or one executemany)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session

from db.models import Conversion, Customer, Referral, ReferralCode, Touch, core_table
from db.statements import claim, insert_ignore
from db.types import UTCDateTime, utcnow


def ensure_customers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Customers first seen in an event; a CRM record that exists already is left alone."""
    if rows:
        session.execute(insert_ignore(session, Customer), list(rows))


def customer_ids(session: Session, source: str, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 5_000):
        chunk = wanted[start : start + 5_000]
        rows = session.execute(
            select(Customer.external_id, Customer.id).where(
                Customer.source == source, Customer.external_id.in_(chunk)
            )
        )
        found.update({external_id: id_ for external_id, id_ in rows})
    return found


def code_ids(session: Session, codes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """code -> (code id, program id) for live and revoked codes alike."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = session.execute(
        select(ReferralCode.code, ReferralCode.id, ReferralCode.program_id).where(
            ReferralCode.code.in_(wanted)
        )
    )
    return {code: (code_id, program_id) for code, code_id, program_id in rows}


def insert_touches(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert_ignore(session, Touch), list(rows))


def insert_conversions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Idempotent on (source, external_id): a re-delivered event records nothing new."""
    if rows:
        session.execute(insert_ignore(session, Conversion), list(rows))


def update_customer_fields(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Per-customer updates from events, e.g. an NPS answer: rows carry `b_id` and fields."""
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_fields.setdefault(tuple(sorted(k for k in row if k != "b_id")), []).append(row)
    for fields, group in by_fields.items():
        session.execute(
            update(core_table(Customer))
            .where(core_table(Customer).c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in fields}),
            group,
            execution_options={"synchronize_session": False},
        )


# --- the conversion pipeline's batch reads -------------------------------------------------


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
    """The oldest unprocessed conversions; on PostgreSQL locked rows are skipped so two runs
    split the work instead of doing it twice."""
    ids = (
        select(Conversion.id)
        .where(Conversion.processed_at.is_(None))
        .order_by(Conversion.id)
        .limit(limit)
    )
    claimed = list(session.scalars(claim(session, ids)))
    if not claimed:
        return []
    rows = session.execute(
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
        .where(Conversion.id.in_(claimed))
        .order_by(Conversion.occurred_at, Conversion.id)
    )
    return [PendingConversion(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class TouchRow:
    visitor_id: str | None
    device_id: str | None
    code_id: int
    program_id: int
    advocate_customer_id: int
    occurred_at: datetime


def touches_for(
    session: Session, visitor_ids: set[str], device_ids: set[str], since: datetime
) -> list[TouchRow]:
    if not visitor_ids and not device_ids:
        return []
    match = []
    if visitor_ids:
        match.append(Touch.visitor_id.in_(sorted(visitor_ids)))
    if device_ids:
        match.append(Touch.device_id.in_(sorted(device_ids)))
    rows = session.execute(
        select(
            Touch.visitor_id,
            Touch.device_id,
            Touch.code_id,
            ReferralCode.program_id,
            ReferralCode.customer_id,
            Touch.occurred_at,
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
    rows = session.execute(
        select(
            ReferralCode.code,
            ReferralCode.id,
            ReferralCode.program_id,
            ReferralCode.customer_id,
            ReferralCode.revoked_at.is_not(None),
        ).where(ReferralCode.code.in_(sorted(codes)))
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
    rows = session.execute(
        select(
            Referral.id,
            Referral.program_id,
            Referral.program_version_id,
            Referral.referrer_id,
            Referral.referee_id,
            Referral.status,
            Referral.referred_at,
            Referral.qualifying_conversion_id,
        ).where(Referral.referee_id.in_(sorted(referee_ids)))
    )
    return [ReferralState(*row) for row in rows]


SUCCESSFUL = ("qualified", "approved", "rewarded")


def successful_referral_counts(
    session: Session, referrer_ids: set[int]
) -> dict[tuple[int, int], int]:
    """(program id, referrer id) -> referrals that already qualified."""
    if not referrer_ids:
        return {}
    rows = session.execute(
        select(Referral.program_id, Referral.referrer_id, func.count())
        .where(Referral.referrer_id.in_(sorted(referrer_ids)), Referral.status.in_(SUCCESSFUL))
        .group_by(Referral.program_id, Referral.referrer_id)
    )
    return {(program_id, referrer_id): n for program_id, referrer_id, n in rows}


def emails_of(session: Session, customer_ids: set[int]) -> dict[int, str | None]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.email_normalized).where(Customer.id.in_(sorted(customer_ids)))
    )
    return {customer_id: email for customer_id, email in rows}


def referee_emails_in_programs(
    session: Session, program_ids: set[int], emails: set[str]
) -> set[tuple[int, str]]:
    """(program, normalized email) pairs already used by some referee."""
    if not program_ids or not emails:
        return set()
    rows = session.execute(
        select(Referral.program_id, Customer.email_normalized)
        .join(Customer, Customer.id == Referral.referee_id)
        .where(Referral.program_id.in_(sorted(program_ids)))
        .where(Customer.email_normalized.in_(sorted(emails)))
    )
    return {(program_id, email) for program_id, email in rows if email}


def first_purchases(session: Session, customer_ids: set[int]) -> dict[int, datetime]:
    """Each customer's earliest recorded purchase: the new-customers-only check."""
    if not customer_ids:
        return {}
    earliest = type_coerce(func.min(Conversion.occurred_at), UTCDateTime())
    rows = session.execute(
        select(Conversion.customer_id, earliest)
        .where(Conversion.customer_id.in_(sorted(customer_ids)), Conversion.kind == "purchase")
        .group_by(Conversion.customer_id)
    )
    return {customer: at for customer, at in rows if at is not None}


def purchases_by_order(session: Session, order_ids: set[str]) -> dict[str, tuple[int, int]]:
    """order id -> (conversion id, amount) of the original purchase."""
    if not order_ids:
        return {}
    rows = session.execute(
        select(Conversion.order_id, Conversion.id, Conversion.amount_minor).where(
            Conversion.order_id.in_(sorted(order_ids)), Conversion.kind == "purchase"
        )
    )
    return {order: (cid, amount) for order, cid, amount in rows if order}


def refunded_totals(session: Session, order_ids: set[str]) -> dict[str, int]:
    if not order_ids:
        return {}
    rows = session.execute(
        select(Conversion.order_id, func.sum(Conversion.amount_minor))
        .where(Conversion.order_id.in_(sorted(order_ids)), Conversion.kind == "refund")
        .group_by(Conversion.order_id)
    )
    return {order: int(total or 0) for order, total in rows if order}


# --- the conversion pipeline's batch writes ------------------------------------------------


def insert_referrals(
    session: Session, rows: Sequence[dict[str, Any]]
) -> dict[tuple[int, int], int]:
    """Creates referrals, UNIQUE(program, referee) deciding races; returns the ids by key."""
    if not rows:
        return {}
    session.execute(insert_ignore(session, Referral), list(rows))
    keys = {(row["program_id"], row["referee_id"]) for row in rows}
    found = session.execute(
        select(Referral.program_id, Referral.referee_id, Referral.id).where(
            Referral.referee_id.in_(sorted({referee for _, referee in keys}))
        )
    )
    return {(p, r): i for p, r, i in found if (p, r) in keys}


def set_referral_status(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """changes: {b_id, status, status_reason, qualifying_conversion_id?}."""
    if not changes:
        return
    with_qualifying = [c for c in changes if "qualifying_conversion_id" in c]
    plain = [c for c in changes if "qualifying_conversion_id" not in c]
    base = update(core_table(Referral)).where(core_table(Referral).c.id == bindparam("b_id"))
    if plain:
        session.execute(
            base.values(
                status=bindparam("status"),
                status_reason=bindparam("status_reason"),
                status_changed_at=utcnow(),
            ),
            plain,
            execution_options={"synchronize_session": False},
        )
    if with_qualifying:
        session.execute(
            base.values(
                status=bindparam("status"),
                status_reason=bindparam("status_reason"),
                qualifying_conversion_id=bindparam("qualifying_conversion_id"),
                status_changed_at=utcnow(),
            ),
            with_qualifying,
            execution_options={"synchronize_session": False},
        )


def mark_processed(session: Session, outcomes: Sequence[dict[str, Any]]) -> None:
    """outcomes: {b_id, outcome, referral_id}."""
    if outcomes:
        session.execute(
            update(core_table(Conversion))
            .where(core_table(Conversion).c.id == bindparam("b_id"))
            .values(
                outcome=bindparam("outcome"),
                referral_id=bindparam("referral_id"),
                processed_at=utcnow(),
            ),
            list(outcomes),
            execution_options={"synchronize_session": False},
        )


def window_start(conversions: Sequence[PendingConversion], days: int) -> datetime:
    return min(c.occurred_at for c in conversions) - timedelta(days=days)


def unprocessed_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Conversion).where(Conversion.processed_at.is_(None))
        )
        or 0
    )
