"""The referral graph of a program and the attributes that tie its customers together, for
the ring sweep (tasks.rings): two reads, whatever the program's size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, text, union, union_all
from sqlalchemy.orm import Session

from db.engine import is_postgres
from db.models import Conversion, Customer, FraudSignal, Referral
from db.statements import among, bulk_update
from db.types import utcnow

# Referrals that are over (voided by a refund, rejected) still draw the ring's edges.
OPEN = ("pending", "qualified", "flagged")


def refresh_statistics(session: Session) -> None:
    """ANALYZE the referrals the batches just wrote, before the sweep reads them. Autovacuum
    would get to them a minute or more later; until then the planner takes the program for
    a few hundred referrals and probes conversions once per customer (0.6-0.9 s on the
    bench's 50k referrals where a hash join takes 0.05 s). ANALYZE samples a fixed number of
    rows, so this stays cheap however large the program grows; and only the columns the
    sweep's plans depend on, so it costs 35-45 ms instead of 110-175 (autovacuum gets
    the rest)."""
    if is_postgres(session):
        session.execute(text("ANALYZE referrals (program_id, referrer_id, referee_id)"))


def program_referrals(session: Session, program_id: int) -> list[tuple[int, int, int, str]]:
    """(referral id, referrer, referee, status) of every referral in the program."""
    # Core rows (session.connection()): a program's every referral, no ORM bookkeeping.
    rows = session.connection().execute(
        select(Referral.id, Referral.referrer_id, Referral.referee_id, Referral.status).where(
            Referral.program_id == program_id
        )
    )
    return [(id_, a, b, status) for id_, a, b, status in rows]


def shared_attributes(
    session: Session, program_id: int, max_holders: int
) -> list[tuple[int, str, str]]:
    """(customer, kind, value) for devices, cards and addresses that two to `max_holders` of
    the program's customers share: the only ones that can merge anybody.

    One statement in two steps. First the values that two customers anywhere hold, grouped
    straight off each attribute's column: a few thousand out of the hundreds of thousands
    nobody shares. Then their holders among the program's customers, kept where two to
    `max_holders` of them hold one. (Collecting every (customer, value) pair of the
    program's customers first and grouping those took 0.78-0.90 s against 0.38-0.44 s
    over 152k pairs, 3k of them shared: it hashed every pair, and every customer.)"""
    # A CTE read three times: the program's customers are collected once, not per kind.
    involved = union(
        select(Referral.referrer_id.label("id")).where(Referral.program_id == program_id),
        select(Referral.referee_id).where(Referral.program_id == program_id),
    ).cte("involved")
    orders = (
        ("device", Conversion.device_id),
        ("payment", Conversion.payment_fingerprint),
    )
    # Values two customers anywhere hold. Orders repeat a customer's device and card, so
    # there two holders are two distinct owners; a customer row is one holder, and counting
    # rows lets the address index alone answer.
    held_twice = union_all(
        *(
            select(literal(kind).label("kind"), column.label("value"))
            .where(column.is_not(None))
            .group_by(column)
            .having(func.min(Conversion.customer_id) != func.max(Conversion.customer_id))
            for kind, column in orders
        ),
        select(literal("address").label("kind"), Customer.address_hash)
        .where(Customer.address_hash.is_not(None))
        .group_by(Customer.address_hash)
        .having(func.count() > 1),
    ).cte("held_twice")

    def holders(kind: str, owner: Any, column: Any) -> Select[Any]:
        # Joined, not IN (...): the planner then hashes the CTE's rows instead of guessing
        # 200 of them and probing an index once per customer.
        return (
            select(owner.label("customer"), literal(kind).label("kind"), column.label("value"))
            .join(held_twice, and_(held_twice.c.kind == kind, held_twice.c.value == column))
            .join(involved, involved.c.id == owner)
        )

    # Their holders among the program's customers, each once: orders repeat a device or card.
    held = union_all(
        *(holders(kind, Conversion.customer_id, column).distinct() for kind, column in orders),
        holders("address", Customer.id, Customer.address_hash),
    ).cte("held")
    shared = (
        select(held.c.kind, held.c.value)
        .group_by(held.c.kind, held.c.value)
        .having(func.count().between(2, max_holders))
        .subquery()
    )
    rows = session.connection().execute(
        select(held.c.customer, held.c.kind, held.c.value).join(
            shared, and_(shared.c.kind == held.c.kind, shared.c.value == held.c.value)
        )
    )
    return [(customer, kind, value) for customer, kind, value in rows]


def signalled(session: Session, referral_ids: list[int]) -> set[tuple[int, str]]:
    """(referral, rule) pairs already on record: a sweep acts on a ring once, so a person's
    decision on it is not undone by the next sweep."""
    if not referral_ids:
        return set()
    rows = session.execute(
        select(FraudSignal.referral_id, FraudSignal.rule).where(
            among(session, FraudSignal.referral_id, referral_ids)
        )
    )
    return {(referral_id, rule) for referral_id, rule in rows}


def hold_or_reject(session: Session, changes: list[dict[str, Any]]) -> None:
    """New statuses for referrals that are still open; one that moved on meanwhile (granted
    by a concurrent distribute-rewards) keeps its state."""
    if changes:
        bulk_update(
            session,
            Referral,
            changes,
            also={"status_changed_at": utcnow()},
            # Not IN (...): an expanding list cannot go with executemany on SQLite.
            where=or_(*(Referral.status == status for status in OPEN)),
        )
