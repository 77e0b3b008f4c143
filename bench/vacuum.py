"""Untimed upkeep between a bench's set-up and what it measures."""

from __future__ import annotations

import sys

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError


def as_autovacuum_would(engine: Engine, *tables: str) -> None:
    """VACUUM ANALYZE freshly loaded tables and CHECKPOINT, untimed. A live server's
    autovacuum and checkpoints do this after a large load; this machine's PostgreSQL runs
    with autovacuum off, and without it the first scan after the load pays for marking
    every row visible, and the planner has no statistics (it then read a whole index for a
    day's sign-ups on a few thousand devices, three times the time the device index takes)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.execute(text(f"VACUUM (ANALYZE) {table}"))
        # The set-up's writes are flushed now, not by a checkpoint the load's WAL requested,
        # which would spread their writing over the timed work that follows.
        try:
            connection.execute(text("CHECKPOINT"))
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise
            print(
                "note: no CHECKPOINT (needs superuser or pg_checkpoint): the timed work may "
                "include flushing the set-up's writes",
                file=sys.stderr,
            )
