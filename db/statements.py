"""Statement builders that differ by dialect, so queries read the same on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.engine import is_postgres


def insert_ignore(session: Session, model: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: unique keys make a repeated write a no-op.

    Built on the Core table, not the ORM entity: the ORM sends such an insert once per row,
    while Core batches a list of rows into multi-row statements.
    """
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    target = getattr(model, "__table__", model)
    return dialect_insert(target).on_conflict_do_nothing()


def claim(session: Session, query: Select[Any]) -> Select[Any]:
    """Lock the selected rows, skipping those another run holds, so two runs split a batch.

    SQLite has one writer at a time (BEGIN IMMEDIATE), which serialises runs by itself.
    """
    return query.with_for_update(skip_locked=True) if is_postgres(session) else query
