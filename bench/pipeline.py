"""The conversion pipeline's throughput on PostgreSQL: attribution, validation, the fraud checks,
grants, ledger and outbox for N conversions (half sign-ups, half purchases).

    python -m bench.pipeline --conversions 100000
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, Interval, literal, select, text, update
from sqlalchemy.orm import Session

from bench import floor
from bench.cpu import cores, machine_cpu_seconds
from bench.vacuum import as_autovacuum_would
from db.advocates import enroll_top, issue_missing_codes
from db.customers import upsert_customers
from db.engine import make_engine, transaction
from db.ingest import Click, record_clicks, record_events
from db.migrate import upgrade
from db.models import ReferralCode, RewardGrant
from db.programs import Programs
from db.rewards import release_holds
from flows.common import settle_heap
from referral.events import Event
from referral.scoring import ScoreWeights
from tasks.conversions import process_batch
from tasks.rewards import grant_batch, issue_batch
from tasks.rings import sweep_programs

console = Console(width=150)
# Its "seconds" are CPU-seconds of the whole machine, its rate conversions per CPU-second:
# 20,000 conversions/s needs 10,000 per CPU-second on two cores.
CPU_STAGE = "CPU-seconds of the machine (rate: per CPU-second)"
PEPPER = b"bench-pepper"
HELD_FOR = timedelta(days=400)  # past any hold a program may set (at most 365 days)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversions", type=int, default=100_000)
    parser.add_argument("--advocates", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    args = parser.parse_args()
    engine = make_engine(os.environ["REFERRAL_TEST_POSTGRES_URL"])
    upgrade(engine)
    stages = measure(engine, args.conversions, args.advocates, args.batch_size)
    floors = measure_floor(engine, args.conversions, args.advocates, breakdown=True)
    stages.append(measure_held(engine, args.conversions, args.advocates, args.batch_size))
    table = Table(title=f"conversion pipeline on PostgreSQL, batch {args.batch_size:,}")
    for column in ("stage", "rows", "seconds", "rows/s"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage, rows, seconds in stages + floors:
        table.add_row(stage, f"{rows:,}", f"{seconds:.2f}", f"{rows / seconds:,.0f}")
    console.print(table)
    console.print(
        f"target >= 20,000 conversions/s end to end, which on {cores()} cores means "
        f"{20_000 / cores():,.0f} conversions per CPU-second; "
        f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


def measure(
    engine: Engine, conversions: int, advocates: int, batch_size: int
) -> list[tuple[str, int, float]]:
    """Records `conversions` (untimed), then times each stage of the pipeline over them."""
    _record(engine, conversions, advocates)
    settle_heap()  # as every flow does at its start
    written_before = _rows_written(engine)
    stages: list[tuple[str, int, float]] = []
    cpu_before = machine_cpu_seconds()
    started = time.perf_counter()
    processed = 0
    fraud_seconds = 0.0
    while True:
        with transaction(engine) as session:
            summary = process_batch(session, batch_size)  # the program's full fraud rules
        if not summary.conversions:
            break
        processed += summary.conversions
        fraud_seconds += summary.fraud_seconds
    attributed = time.perf_counter() - started
    mark = time.perf_counter()
    with transaction(engine) as session:
        sweep_programs(session)  # the program, as find_rings sweeps it
    swept = time.perf_counter() - mark
    stages.append(("attribute + validate + fraud + ring sweep", processed, attributed + swept))
    stages.append(("  of which fraud: facts and rules per batch", processed, fraud_seconds))
    stages.append(("  of which fraud: ring sweep of the program", processed, swept))
    stages.append(("  fraud checks in all", processed, fraud_seconds + swept))
    mark = time.perf_counter()
    issued = 0
    while True:
        with transaction(engine) as session:
            batch = grant_batch(session, batch_size)
        if not batch["referrals"]:
            break
        issued += batch["issued"]  # no hold, automatic approval: issued as granted
    issued += _release_and_issue(engine, batch_size)
    stages.append(("grants + ledger + outbox", issued, time.perf_counter() - mark))
    elapsed = time.perf_counter() - started
    cpu_used = machine_cpu_seconds() - cpu_before
    stages.append(("end to end (conversions)", processed, elapsed))
    stages.append((CPU_STAGE, processed, cpu_used))
    stages.append(
        ("rows written (inserted + updated)", _rows_written(engine) - written_before, elapsed)
    )
    return stages


def measure_floor(
    engine: Engine, conversions: int, advocates: int, *, breakdown: bool = False
) -> list[tuple[str, int, float]]:
    """The rows `measure` left, written again with no logic (bench.floor) into the same
    recorded conversions: as the schema is, and without its foreign keys."""
    stages: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        written = floor.capture(engine, Path(folder))
        for foreign_keys in (True, False):
            _record(engine, conversions, advocates)
            measured = floor.measure(engine, written, foreign_keys=foreign_keys)
            label = "with foreign keys" if foreign_keys else "without foreign keys"
            seconds = sum(s for _, _, s in measured.steps)
            stages.append((f"write floor {label}: same rows, no logic", conversions, seconds))
            stages.append((f"  {CPU_STAGE}", conversions, measured.cpu_seconds))
            if breakdown:
                stages += [(f"  {step}", rows, s) for step, rows, s in measured.steps if rows]
    return stages


def measure_held(
    engine: Engine, conversions: int, advocates: int, batch_size: int, hold_days: int = 14
) -> tuple[str, int, float]:
    """The same conversions in a program with a refund hold, as real programs have: grants
    are created pending, and paid by release and the issue batches once the hold has
    passed (here by moving the holds back, untimed, rather than waiting)."""
    _record(engine, conversions, advocates, hold_days=hold_days)
    while True:
        with transaction(engine) as session:
            if not process_batch(session, batch_size).conversions:
                break
    settle_heap()
    started = time.perf_counter()
    while True:
        with transaction(engine) as session:
            if not grant_batch(session, batch_size)["referrals"]:
                break
    granted = time.perf_counter() - started
    with transaction(engine) as session:
        held_for = literal(HELD_FOR, Interval())
        session.execute(update(RewardGrant).values(hold_until=RewardGrant.hold_until - held_for))
    started = time.perf_counter()
    issued = _release_and_issue(engine, batch_size)
    seconds = granted + time.perf_counter() - started
    return (f"grants after a {hold_days}-day hold: grant, release, issue", issued, seconds)


def _release_and_issue(engine: Engine, batch_size: int) -> int:
    """Holds that have passed released, then the issue batches; the grants issued."""
    with transaction(engine) as session:
        release_holds(session)
    issued = 0
    while n := _issued_in_one_batch(engine, batch_size):
        issued += n
    return issued


def _issued_in_one_batch(engine: Engine, batch_size: int) -> int:
    with transaction(engine) as session:
        return int(issue_batch(session, batch_size)["issued"])


def _rows_written(engine: Engine) -> int:
    """Rows inserted and updated in every table so far, by PostgreSQL's own counters. A
    backend reports its counts when it exits, so the pool is emptied first."""
    engine.dispose()
    time.sleep(1.0)
    with engine.connect() as connection:
        return int(
            connection.scalar(text("SELECT sum(n_tup_ins + n_tup_upd) FROM pg_stat_user_tables"))
            or 0
        )


def _record(engine: Engine, conversions: int, advocates: int, hold_days: int = 0) -> None:
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE customers, programs RESTART IDENTITY CASCADE"))
    referees = conversions // 2
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    with transaction(engine) as session:
        upsert_customers(
            session,
            [
                {
                    "source": "crm",
                    "external_id": f"A{i}",
                    "email": f"a{i}@example.com",
                    "email_normalized": f"a{i}@example.com",
                    "orders_count": 3,
                }
                for i in range(advocates)
            ],
        )
        program = Programs(session).create(
            slug="bench",
            name="Bench",
            hold_days=hold_days,
            minimum_purchase="20.00",
            referrer_reward={"type": "credit", "amount": "10.00"},
            referee_reward={"type": "discount", "amount": 15, "unit": "percent"},
        )
        enroll_top(session, program.id, ScoreWeights(), top=advocates)
        issue_missing_codes(session, program.id, length=8)
        codes = list(session.scalars(select(ReferralCode.code)))
    # Recorded in the order a shop reports them: every sign-up (two days ago) before any
    # purchase (yesterday), so a purchase meets its referral in a later batch, as in a
    # live deployment, and not in the batch that creates it.
    for start in range(0, referees, 10_000):
        chunk = range(start, min(start + 10_000, referees))
        with transaction(engine) as session:
            record_clicks(
                session,
                [
                    Click(
                        codes[i % len(codes)],
                        "email",
                        f"v{i}",
                        None,
                        "198.51.100.1",
                        "UA",
                        now - timedelta(days=3),
                    )
                    for i in chunk
                ],
                pepper=PEPPER,
            )
            _record_events(session, [_signup(i, now) for i in chunk])
    for start in range(0, referees, 10_000):
        chunk = range(start, min(start + 10_000, referees))
        with transaction(engine) as session:
            _record_events(session, [_purchase(i, now) for i in chunk])
    with engine.begin() as connection:
        # As a CRM mirror would say: every customer agreed to email, so each grant's notice
        # goes to the outbox, as the stage's name promises.
        connection.execute(text("UPDATE customers SET consent_email = true"))
    as_autovacuum_would(engine, "customers", "touches", "conversions")
    console.print(
        f"set-up: {conversions:,} conversions recorded in "
        f"{time.perf_counter() - started:.1f} s (not timed below)"
    )


def _record_events(session: Session, events: list[dict[str, Any]]) -> None:
    record_events(
        session,
        [Event.model_validate(e) for e in events],
        source="shop",
        customer_source="crm",
        pepper=PEPPER,
    )


def _signup(i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": f"su{i}",
        "type": "signup",
        "occurred_at": now - timedelta(days=2),
        "visitor_id": f"v{i}",
        "customer": {"external_id": f"R{i}", "email": f"r{i}@example.org"},
    }


def _purchase(i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": f"po{i}",
        "type": "purchase",
        "occurred_at": now - timedelta(days=1),
        "order_id": f"O{i}",
        "amount": 2500 + (i % 50) * 100,
        "currency": "USD",
        "customer": {"external_id": f"R{i}"},
    }


if __name__ == "__main__":
    main()
