"""The write floor: the rows the conversion pipeline wrote, written again by COPY and
set-based UPDATEs with no logic at all, step by step as the pipeline writes them.

No engine that must leave these rows behind can be quicker than this on the machine it runs
on, so the floor says two things the pipeline's own time cannot: how far the engine is from
the machine, and whether a target is within reach of this schema at all. Measured twice: as
the schema is, and with its foreign keys dropped (and restored afterwards, untimed), to show
what referential integrity costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench.cpu import machine_cpu_seconds

# A referral as its sign-up's batch inserts it; its purchase's batch qualifies it later.
_REFERRAL_AT_SIGNUP = {"status": "'pending'", "qualifying_conversion_id": "NULL"}
_COPIED_AS_WRITTEN = ("fraud_signals", "reward_grants", "ledger_entries", "outbox")
TABLES = ("referrals", "conversions", *_COPIED_AS_WRITTEN)  # every table the pipeline writes


@dataclass(frozen=True)
class Copied:
    """One set of rows as COPY text in a file, with its column list and row count."""

    columns: str
    path: Path
    rows: int


@dataclass(frozen=True)
class Floor:
    steps: list[tuple[str, int, float]]  # (step, rows, seconds)
    cpu_seconds: float  # the whole machine's, over the steps


def capture(engine: Engine, folder: Path) -> dict[str, Copied]:
    """What the pipeline wrote, read back untimed into files in `folder` (held in memory,
    they would set the bench's peak)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()

        def columns(table: str) -> list[str]:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s ORDER BY ordinal_position",
                (table,),
            )
            return [name for (name,) in cursor.fetchall()]

        def read(name: str, names: str, query: str) -> Copied:
            path = folder / f"{name}.copy"
            lines = 0
            with path.open("wb") as out, cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
                for block in copy:
                    out.write(block)
                    lines += bytes(block).count(b"\n")
            return Copied(names, path, lines)

        rows: dict[str, Copied] = {}
        names = columns("referrals")
        selected = ", ".join(_REFERRAL_AT_SIGNUP.get(n, n) for n in names)
        rows["referrals"] = read(
            "referrals", ", ".join(names), f"SELECT {selected} FROM referrals ORDER BY id"
        )
        rows["qualified"] = read(
            "qualified",
            "id, qualifying_conversion_id",
            "SELECT id, qualifying_conversion_id FROM referrals "
            "WHERE qualifying_conversion_id IS NOT NULL ORDER BY id",
        )
        rows["settled"] = read(
            "settled",
            "id, status",
            "SELECT id, status FROM referrals "
            "WHERE status NOT IN ('pending', 'qualified') ORDER BY id",
        )
        rows["conversions"] = read(
            "conversions",
            "id, processed_at, outcome, referral_id",
            "SELECT id, processed_at, outcome, referral_id FROM conversions "
            "WHERE processed_at IS NOT NULL ORDER BY id",
        )
        for table in _COPIED_AS_WRITTEN:
            rows[table] = read(
                table, ", ".join(columns(table)), f"SELECT * FROM {table} ORDER BY id"
            )
        return rows
    finally:
        raw.close()


def measure(engine: Engine, written: dict[str, Copied], *, foreign_keys: bool) -> Floor:
    """Writes `written` into a database holding the pipeline's input (conversions recorded,
    none processed), each step timed, in three transactions as the pipeline's batches
    commit them: PostgreSQL re-checks the foreign keys of a row updated by the transaction
    that inserted it, so one transaction would overstate them. Leaves the rows committed."""
    raw = engine.raw_connection()
    cursor = raw.cursor()
    steps: list[tuple[str, int, float]] = []

    def timed(step: str, name: str, target: str, *statements: str) -> None:
        copied = written[name]
        started = time.perf_counter()
        with (
            copied.path.open("rb") as source,
            cursor.copy(f"COPY {target} ({copied.columns}) FROM STDIN") as stream,
        ):
            while chunk := source.read(1 << 20):
                stream.write(chunk)
        for statement in statements:
            cursor.execute(statement)
        steps.append((step, copied.rows, time.perf_counter() - started))

    def committed() -> None:
        started = time.perf_counter()
        raw.commit()
        step, rows, seconds = steps[-1]
        steps[-1] = (step, rows, seconds + time.perf_counter() - started)

    dropped = [] if foreign_keys else _drop_foreign_keys(cursor)
    raw.commit()
    cpu_before = machine_cpu_seconds()
    try:
        # A sign-up batch: its referrals, pending.
        timed("referrals inserted (pending)", "referrals", "referrals")
        committed()
        # A purchase batch: the referrals qualified, the conversions marked processed.
        _stage(cursor, "floor_qualified", "id, qualifying_conversion_id FROM referrals")
        timed(
            "referrals qualified",
            "qualified",
            "floor_qualified",
            "UPDATE referrals r SET status = 'qualified', status_changed_at = now(), "
            "qualifying_conversion_id = f.qualifying_conversion_id "
            "FROM floor_qualified f WHERE r.id = f.id",
        )
        _stage(
            cursor, "floor_conversions", "id, processed_at, outcome, referral_id FROM conversions"
        )
        timed(
            "conversions marked processed",
            "conversions",
            "floor_conversions",
            "UPDATE conversions c SET processed_at = f.processed_at, outcome = f.outcome, "
            "referral_id = f.referral_id FROM floor_conversions f WHERE c.id = f.id",
        )
        committed()
        # A grant batch: grants, postings and notices, the referrals rewarded.
        for table in _COPIED_AS_WRITTEN:
            timed(f"{table} inserted", table, table)
        _stage(cursor, "floor_settled", "id, status FROM referrals")
        timed(
            "referrals rewarded",
            "settled",
            "floor_settled",
            "UPDATE referrals r SET status = f.status, status_changed_at = now() "
            "FROM floor_settled f WHERE r.id = f.id",
        )
        committed()
        cpu_seconds = machine_cpu_seconds() - cpu_before
    finally:
        raw.rollback()
        for table, name, definition in dropped:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        raw.commit()
        raw.close()
    return Floor(steps, cpu_seconds)


def _stage(cursor: Any, name: str, columns_from: str) -> None:
    """An empty temporary table shaped like the columns, for a set-based UPDATE ... FROM."""
    cursor.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT {columns_from} WITH NO DATA")


def _drop_foreign_keys(cursor: Any) -> list[tuple[str, str, str]]:
    """Drops every foreign key of the tables the pipeline writes; returns how to restore them."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
        (list(TABLES),),
    )
    dropped = cursor.fetchall()
    for table, name, _ in dropped:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return dropped
