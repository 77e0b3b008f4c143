"""The CRM mirror's bulk upsert: COPY into a staging table on PostgreSQL, executemany on
SQLite; either way one statement per batch, never one per customer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.engine import is_postgres
from db.models import Customer
from db.statements import staged
from db.types import utcnow

CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
KEY = ("source", "external_id")
LOADED_COLUMNS: tuple[str, ...] = tuple(
    column.name
    for column in CUSTOMERS.columns
    if column.name not in ("id", "created_at", "updated_at")
)
_UPDATED = tuple(name for name in LOADED_COLUMNS if name not in KEY)
# A CRM that sends fewer fields than we keep still gets the columns' defaults, not NULLs.
_DEFAULTS = {
    column.name: getattr(column.default, "arg", None)
    for column in CUSTOMERS.columns
    if column.name in LOADED_COLUMNS
}

CustomerRow = Mapping[str, Any]


def upsert_customers(session: Session, rows: Sequence[CustomerRow]) -> int:
    """Insert new customers and refresh changed ones; unchanged rows are not rewritten."""
    if not rows:
        return 0
    # A key twice in one batch would make ON CONFLICT touch a row twice: the last one wins.
    latest = list({(row["source"], row["external_id"]): _complete(row) for row in rows}.values())
    if is_postgres(session):
        with staged(session, CUSTOMERS, list(LOADED_COLUMNS), latest) as stage:
            statement = pg_insert(CUSTOMERS).from_select(list(LOADED_COLUMNS), select(*stage.c))
            session.execute(_refresh_changed(statement))
        return len(rows)
    session.execute(_refresh_changed(sqlite_insert(CUSTOMERS)), latest)
    return len(rows)


def _refresh_changed(statement: Any) -> Any:
    return statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={**{name: statement.excluded[name] for name in _UPDATED}, "updated_at": utcnow()},
        where=_changed(statement.excluded),
    )


def _changed(excluded: Any) -> Any:
    return or_(*[CUSTOMERS.c[name].is_distinct_from(excluded[name]) for name in _UPDATED])


def _complete(row: CustomerRow) -> CustomerRow:
    if row.keys() == _DEFAULTS.keys():  # every column, as tasks.crm.customer_row gives them
        return row
    # Merged in C; fields we do not keep ride along unread by either database's insert.
    return {**_DEFAULTS, **row}


def count_customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CUSTOMERS)) or 0
