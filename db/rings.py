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
    rows, so this stays cheap however large the program grows."""
    if is_postgres(session):
        session.execute(text("ANALYZE referrals"))


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

    One statement: the program's customers are collected once, each kind's distinct
    (customer, value) pairs are read once into a CTE by hash joins with them, the values
    with two to `max_holders` holders are grouped out of it by hashing, and the pairs
    holding them are joined back. (A window count of holders sorted every pair of the
    program instead: 1.05-1.2 s against 0.77-0.95 s over 152k pairs; collecting the
    customers once per kind and matching them with IN (...) 0.67-0.73 s against 0.50-0.54 s.)"""
    # A CTE read three times: the program's customers are collected once, not per kind.
    involved = union(
        select(Referral.referrer_id.label("id")).where(Referral.program_id == program_id),
        select(Referral.referee_id).where(Referral.program_id == program_id),
    ).cte("involved")

    def pairs(kind: str, owner: Any, column: Any) -> Select[Any]:
        # Joined, not IN (...): the planner then hashes the CTE's rows instead of guessing
        # 200 of them and probing an index once per customer.
        return (
            select(owner.label("customer"), literal(kind).label("kind"), column.label("value"))
            .join(involved, involved.c.id == owner)
            .where(column.is_not(None))
        )

    held = union_all(
        # A customer's orders repeat their device and card; the customer row is one.
        pairs("device", Conversion.customer_id, Conversion.device_id).distinct(),
        pairs("payment", Conversion.customer_id, Conversion.payment_fingerprint).distinct(),
        pairs("address", Customer.id, Customer.address_hash),
    ).cte("held")
    shared = (
        select(held.c.kind, held.c.value)
        .group_by(held.c.kind, held.c.value)
        .having(func.count().between(2, max_holders))
        .subquery()
    )
    if is_postgres(session):
        # A program's pairs are hashed in memory, not in batches on disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
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
