"""The CRM mirror's bulk upsert: COPY into a staging table on PostgreSQL, executemany on
SQLite; either way one statement per batch, never one per customer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import psycopg
from sqlalchemy import Table, column, func, or_, select, table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.engine import is_postgres
from db.models import Customer
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
_COLUMN_DEFAULTS = tuple(_DEFAULTS.items())

CustomerRow = Mapping[str, Any]


def upsert_customers(session: Session, rows: Sequence[CustomerRow]) -> int:
    """Insert new customers and refresh changed ones; unchanged rows are not rewritten."""
    if not rows:
        return 0
    if is_postgres(session):
        return _upsert_via_copy(session, rows)
    statement = sqlite_insert(CUSTOMERS)
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={**{name: statement.excluded[name] for name in _UPDATED}, "updated_at": utcnow()},
        where=_changed(statement.excluded),
    )
    session.execute(statement, [_complete(row) for row in rows])
    return len(rows)


def _upsert_via_copy(session: Session, rows: Sequence[CustomerRow]) -> int:
    connection = session.connection()
    raw = cast(psycopg.Connection[Any], connection.connection.dbapi_connection)
    # Column names come from the model, never from input, so formatting them in is safe.
    columns = ", ".join(LOADED_COLUMNS)
    with raw.cursor() as cursor:
        stage_ddl = f"CREATE TEMP TABLE IF NOT EXISTS customers_stage ON COMMIT DELETE ROWS AS SELECT {columns} FROM customers WITH NO DATA"  # noqa: E501, S608
        cursor.execute(stage_ddl)
        cursor.execute("ALTER TABLE customers_stage ADD COLUMN IF NOT EXISTS stage_seq bigserial")
        with cursor.copy(f"COPY customers_stage ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [_copy_value(row.get(name, default)) for name, default in _COLUMN_DEFAULTS]
                )
    stage = table("customers_stage", *[column(name) for name in (*LOADED_COLUMNS, "stage_seq")])
    latest = select(*[stage.c[name] for name in LOADED_COLUMNS])
    if len({(row["source"], row["external_id"]) for row in rows}) < len(rows):
        # A key twice in one batch would make ON CONFLICT touch a row twice: the last wins.
        latest = latest.distinct(*[stage.c[name] for name in KEY]).order_by(
            *[stage.c[name] for name in KEY], stage.c.stage_seq.desc()
        )
    statement = pg_insert(CUSTOMERS).from_select(list(LOADED_COLUMNS), latest)
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={**{name: statement.excluded[name] for name in _UPDATED}, "updated_at": func.now()},
        where=_changed(statement.excluded),
    )
    session.execute(statement)
    return len(rows)


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict) else value


def _changed(excluded: Any) -> Any:
    return or_(*[CUSTOMERS.c[name].is_distinct_from(excluded[name]) for name in _UPDATED])


def _complete(row: CustomerRow) -> dict[str, Any]:
    return {name: row.get(name, _DEFAULTS[name]) for name in LOADED_COLUMNS}


def count_customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CUSTOMERS)) or 0
