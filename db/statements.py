"""Statement builders that differ by dialect, so queries read the same on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    return dialect_insert(_table(model)).on_conflict_do_nothing()


def claim(session: Session, query: Select[Any]) -> Select[Any]:
    """Lock the selected rows, skipping those another run holds, so two runs split a batch.

    SQLite has one writer at a time (BEGIN IMMEDIATE), which serialises runs by itself.
    """
    return query.with_for_update(skip_locked=True) if is_postgres(session) else query


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`, sent as one array parameter on PostgreSQL.

    A plain IN list binds one parameter per value: for a batch of thousands, building and
    parsing that statement costs more than running it.
    """
    wanted = list(values)
    if is_postgres(session):
        return column == any_(_array(column.type, wanted))
    return column.in_(wanted)


def bulk_insert(
    session: Session, model: Any, rows: Sequence[Mapping[str, Any]], *, ignore_conflicts: bool
) -> None:
    """Insert many rows in one statement.

    On PostgreSQL the rows travel as one array per column and `unnest` turns them back into
    rows on the server: one statement to parse, plan and run instead of one per row. SQLite
    runs in-process, where an executemany is already cheap. With `ignore_conflicts`, rows
    that hit a unique key are skipped: the idempotent write of the pipeline.
    """
    if not rows:
        return
    table = _table(model)
    if not is_postgres(session):
        statement = insert_ignore(session, table) if ignore_conflicts else insert(table)
        session.execute(statement, list(rows))
        return
    names = list(rows[0])
    values = _unnested(table, names, rows)
    statement = pg_insert(table).from_select(names, select(*values.c))
    if ignore_conflicts:
        statement = statement.on_conflict_do_nothing()
    session.execute(statement)


def bulk_update(
    session: Session,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str = "id",
    also: Mapping[str, Any] | None = None,
    where: ColumnElement[bool] | None = None,
) -> int:
    """Update many rows, each to its own values, in one statement; returns rows changed.

    Every row maps `key` and the same column names; `also` sets further columns to one
    expression for all rows (the database clock, say) and `where` guards each row, e.g.
    on its current status. PostgreSQL joins the unnested arrays (UPDATE ... FROM); SQLite
    runs an executemany of the keyed UPDATE.
    """
    if not rows:
        return 0
    table = _table(model)
    names = [name for name in rows[0] if name != key]
    extra = dict(also or {})
    if not is_postgres(session):
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"b_{key}"))
            .values({**{name: bindparam(f"b_{name}") for name in names}, **extra})
        )
        if where is not None:
            statement = statement.where(where)
        params = [{f"b_{name}": value for name, value in row.items()} for row in rows]
        result = session.execute(
            statement, params, execution_options={"synchronize_session": False}
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    values = _unnested(table, [key, *names], rows)
    statement = (
        update(table)
        .where(and_(table.c[key] == values.c[key], *([] if where is None else [where])))
        .values({**{name: values.c[name] for name in names}, **extra})
    )
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _unnested(table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]) -> Any:
    """The rows as `unnest(array, ...) AS u(name, ...)`, each array typed like its column."""
    arrays = [_array(table.c[name].type, [row[name] for row in rows]) for name in names]
    unnested = func.unnest(*arrays).table_valued(*names).render_derived(name="u")
    return select(
        *(
            cast(unnested.c[name], JSONB) if _is_json(table.c[name].type) else unnested.c[name]
            for name in names
        )
    ).subquery("u_rows")


def _array(item_type: Any, values: list[Any]) -> Any:
    if _is_json(item_type):
        # Sent as text[] and cast per element: psycopg has no array form for dicts.
        texts = [None if value is None else json.dumps(value) for value in values]
        return cast(bindparam(None, texts, type_=ARRAY(Text)), ARRAY(Text))
    return cast(bindparam(None, values, type_=ARRAY(item_type)), ARRAY(item_type))


def _is_json(type_: Any) -> bool:
    return isinstance(type_, JSON)


def _table(model: Any) -> Table:
    return getattr(model, "__table__", model)
