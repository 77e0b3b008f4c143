"""Statement builders that differ by dialect, so queries read the same on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from psycopg import adapters, postgres
from psycopg.adapt import Dumper
from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Table,
    TableClause,
    any_,
    bindparam,
    cast,
    column,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import UserDefinedType

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


def take_turns(session: Session, job: str) -> None:
    """Batches of `job` run one at a time, in the order they ask: each waits here until the
    transaction of the one before has ended.

    For work whose order matters (a purchase is judged by the referrals that the batches
    before it created; a tier counts the referrals rewarded before), where SKIP LOCKED would
    let a second run decide on facts the first has not committed yet. PostgreSQL: a
    transaction-level advisory lock, released by commit, rollback or a lost connection;
    SQLite: BEGIN IMMEDIATE has already made every writer take its turn.
    """
    if is_postgres(session):
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(job))))


def among(session: Session, field: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`, sent as one array parameter on PostgreSQL.

    A plain IN list binds one parameter per value: for a batch of thousands, building and
    parsing that statement costs more than running it. Integers and strings go as one
    array literal the server parses once when it binds the parameter (`_Ids`, `_Texts`):
    psycopg dumps a plain list value by value in Python, about 1.5 s per million integers
    and 2.7 s per million strings. They are bound as bigint[] and text[] with no cast
    around them: `integer = ANY(bigint[])` and `varchar = ANY(text[])` still use the
    column's index, and a cast could be evaluated again for every row where the test ends
    up a filter.
    """
    wanted = list(values)
    if not is_postgres(session):
        return field.in_(wanted)
    if isinstance(field.type, Integer):
        return field == any_(bindparam(None, wanted, type_=_LiteralArray(_Ids)))
    if isinstance(field.type, String):
        return field == any_(bindparam(None, wanted, type_=_LiteralArray(_Texts)))
    array = ARRAY(field.type)
    return field == any_(cast(bindparam(None, wanted, type_=array), array))


class _Ids(list[int]):
    """Integers for one bigint[] parameter."""


class _Texts(list[str]):
    """Strings for one text[] parameter."""


class _IdsDumper(Dumper):
    oid = postgres.types["int8"].array_oid

    def dump(self, obj: Any) -> bytes:
        return f"{{{','.join(map(str, obj))}}}".encode()


class _TextsDumper(Dumper):
    oid = postgres.types["text"].array_oid

    def dump(self, obj: Any) -> bytes:
        # Every element double-quoted, backslashes and quotes escaped: the array literal
        # syntax, whatever the text holds (commas, braces, quotes, the word NULL).
        return ("{" + ",".join(map(_quoted, obj)) + "}").encode()


def _quoted(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


adapters.register_dumper(_Ids, _IdsDumper)
adapters.register_dumper(_Texts, _TextsDumper)


class _LiteralArray(UserDefinedType[list[Any]]):
    """The bound type of such an array: hands psycopg the list as `_Ids` or `_Texts` (ARRAY's
    own bind processor would copy it back into a plain list)."""

    cache_ok = True

    def __init__(self, kind: type[_Ids] | type[_Texts]) -> None:
        self.kind = kind

    def get_col_spec(self, **_: Any) -> str:
        return "BIGINT[]" if self.kind is _Ids else "TEXT[]"

    def bind_processor(self, dialect: Any) -> Callable[[Any], list[Any]]:
        return self.kind


# Below this many rows a staging table (four statements) costs more than it saves; a
# multi-row INSERT or a pipelined executemany is the quicker way.
STAGING_THRESHOLD = 200


def bulk_insert(
    session: Session,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    ignore_conflicts: bool,
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert many rows in one statement; with `returning`, those columns of every row
    inserted (a row skipped on a conflict returns nothing), in no set order.

    On PostgreSQL the rows are COPied into a temporary staging table and moved over with one
    INSERT ... SELECT: COPY is the cheapest way in, and the INSERT keeps ON CONFLICT, which
    COPY lacks. SQLite runs in-process, where an executemany is already cheap. With
    `ignore_conflicts`, rows that hit a unique key are skipped: the idempotent write of the
    pipeline. A handful of rows goes as one multi-row INSERT on either database; rows
    that cannot conflict go by plain COPY on PostgreSQL.
    """
    if not rows:
        return []
    target = _table(model)
    wanted = [target.c[name] for name in returning]
    postgres = is_postgres(session)
    if postgres and not ignore_conflicts and not wanted:
        defaults = _scalar_defaults(target, rows[0])
        if defaults is not None:
            # Nothing to skip, return or compute: COPY straight into the table.
            _copy(session, target, list(rows[0]), rows, constants=defaults)
            return []
    if not postgres or len(rows) < STAGING_THRESHOLD:
        statement = insert_ignore(session, target) if ignore_conflicts else insert(target)
        if wanted or postgres:
            # With RETURNING, SQLAlchemy sends the rows as multi-row INSERTs; without it,
            # psycopg would pipeline one INSERT per row.
            statement = statement.returning(*(wanted or target.primary_key.columns))
        result = session.execute(statement, list(rows))
        return list(result) if wanted else []
    names = list(rows[0])
    with staged(session, target, names, rows) as stage:
        statement = pg_insert(target).from_select(names, select(*stage.c))
        if ignore_conflicts:
            statement = statement.on_conflict_do_nothing()
        if wanted:
            statement = statement.returning(*wanted)
        result = session.execute(statement)
        inserted = list(result) if wanted else []
    return inserted


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
    on its current status. PostgreSQL stages the rows by COPY and runs UPDATE ... FROM;
    SQLite runs an executemany of the keyed UPDATE.
    """
    if not rows:
        return 0
    target = _table(model)
    names = [name for name in rows[0] if name != key]
    extra = dict(also or {})
    guard = [] if where is None else [where]
    if not is_postgres(session) or len(rows) < STAGING_THRESHOLD:
        statement = (
            update(target)
            .where(target.c[key] == bindparam(f"b_{key}"), *guard)
            .values({**{name: bindparam(f"b_{name}") for name in names}, **extra})
        )
        params = [{f"b_{name}": value for name, value in row.items()} for row in rows]
        result = session.execute(
            statement, params, execution_options={"synchronize_session": False}
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    with staged(session, target, [key, *names], rows) as stage:
        statement = (
            update(target)
            .where(target.c[key] == stage.c[key], *guard)
            .values({**{name: stage.c[name] for name in names}, **extra})
        )
        result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _scalar_defaults(target: Table, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """COPY fills omitted columns from server defaults only: the values of the Python-side
    defaults (SQLAlchemy's `default=`) the row leaves out, for COPY to send with each row;
    None when one of them is computed, which needs an INSERT."""
    missing = [
        c
        for c in target.columns
        if c.name not in row and c.default is not None and not c.primary_key
    ]
    if any(not c.default.is_scalar for c in missing):  # type: ignore[union-attr]
        return None
    return {c.name: c.default.arg for c in missing}  # type: ignore[union-attr]


def _copy(
    session: Session,
    target: Table,
    names: list[str],
    rows: Any,
    *,
    into: str | None = None,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """COPY the rows, converted as `target`'s columns, into `target` or the table `into`;
    `constants`: columns with the same value in every row."""
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    constants = constants or {}
    columns = ", ".join(quote(n) for n in [*names, *constants])
    destination = into or quote(target.name)
    # The row's values are picked in C; only the few columns whose type converts (times,
    # JSON) go through Python per value.
    values_of = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    converted = [
        (i, convert)
        for i, n in enumerate(names)
        if (convert := _to_copy(target.c[n].type, connection.dialect)) is not None
    ]
    fixed = [
        convert(value) if (convert := _to_copy(target.c[n].type, connection.dialect)) else value
        for n, value in constants.items()
    ]
    statement = f"COPY {destination} ({columns}) FROM STDIN"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                values = list(values_of(row))
                for i, convert in converted:
                    values[i] = convert(values[i])
                values.extend(fixed)
                copy.write_row(values)
    except connection.dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own statements raise it: a duplicate key is an IntegrityError.
        raise DBAPIError.instance(
            statement, None, exc, connection.dialect.loaded_dbapi.Error
        ) from exc
    finally:
        cursor.close()


@contextmanager
def staged(
    session: Session, target: Table, names: list[str], rows: Sequence[Mapping[str, Any]]
) -> Iterator[TableClause]:
    """The rows in a temporary table shaped like `target`'s columns, for one statement.

    Values pass through each column type's own bind processing, so a naive datetime is
    refused here just as in a plain INSERT.
    """
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    name = f"_staged_{target.name}"
    columns = ", ".join(quote(n) for n in names)
    # Identifiers only, all from the table metadata: no value is ever spliced in.
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {columns} FROM {quote(target.name)} WITH NO DATA"
    )
    stage = table(name, *(column(n, target.c[n].type) for n in names))
    _copy(session, target, names, rows, into=name)
    yield stage
    # Not in a `finally`: after an error the transaction is aborted and rolls back, which
    # removes the table anyway; a DROP there would only hide the error.
    connection.exec_driver_sql(f"DROP TABLE {name}")


class _CreateTempTableAs(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, name: str, query: Select[Any]) -> None:
        self.name, self.query = name, query


@compiles(_CreateTempTableAs)
def _create_temp_table_as(element: _CreateTempTableAs, compiler: Any, **kw: Any) -> str:
    # Compiled inside this statement, so the query's values stay bound parameters.
    name = compiler.preparer.quote(element.name)
    query = compiler.process(element.query, **kw)
    return f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {query}"


@contextmanager
def materialized(session: Session, name: str, query: Select[Any]) -> Iterator[TableClause]:
    """`query`'s rows in a temporary table, for the statements inside the block.

    PostgreSQL runs the SELECT of a CREATE TABLE AS in parallel where it can, and that of an
    INSERT ... SELECT never: for a scan over a million customers, the difference is a core.
    """
    session.execute(_CreateTempTableAs(name, query))
    yield table(name, *(column(c.name, c.type) for c in query.selected_columns))
    session.connection().exec_driver_sql(f"DROP TABLE {name}")


def _to_copy(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How a value of `type_` is converted for COPY; None when it goes as it is."""
    if isinstance(type_, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return type_.bind_processor(dialect)


def _table(model: Any) -> Table:
    return getattr(model, "__table__", model)


def read_together(
    session: Session,
    statements: Sequence[Select[Any]],
    meanwhile: Callable[[], object] | None = None,
) -> list[list[Any]]:
    """The rows of each SELECT, in order, with every statement sent before any row is read.

    On PostgreSQL they go through psycopg's pipeline mode in the session's transaction: the
    server runs the later statements while Python is still taking in the rows of the earlier
    ones, and while `meanwhile` (work that does not touch the database) runs between the
    sending and the reading. SQLAlchemy has no such mode, so its own compiler and the column
    types' bind and result processors do here what `Connection.execute` would. Elsewhere
    the statements run one after another, then `meanwhile`.
    """
    connection = session.connection()
    if not is_postgres(session):
        found = [list(connection.execute(statement)) for statement in statements]
        if meanwhile is not None:
            meanwhile()
        return found
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    sent = []
    with driver.pipeline():  # type: ignore[union-attr]
        for statement in statements:
            # IN (...) lists rendered as one parameter per value, as execute() would.
            compiled = statement.compile(
                dialect=dialect, compile_kwargs={"render_postcompile": True}
            )
            values = compiled.params
            for parameter, name in compiled.bind_names.items():
                process = parameter.type.dialect_impl(dialect).bind_processor(dialect)
                if process is None:
                    continue
                if parameter.expanding:  # its values are now name_1, name_2, ...
                    raise ValueError(f"read_together cannot convert the values of IN {name}")
                values[name] = process(values[name])
            cursor = driver.cursor()  # type: ignore[union-attr]
            cursor.execute(str(compiled), values)
            sent.append((cursor, statement))
        if meanwhile is not None:
            meanwhile()
        return [_typed_rows(cursor, statement, dialect) for cursor, statement in sent]


def _typed_rows(cursor: Any, statement: Select[Any], dialect: Any) -> list[Any]:
    rows = cursor.fetchall()
    columns = zip(statement.selected_columns, cursor.description, strict=True)
    converted = [
        (i, process)
        for i, (selected, described) in enumerate(columns)
        if (process := _result_processor(selected.type, dialect, described.type_code))
    ]
    cursor.close()
    if not converted:
        return rows
    typed = []
    for row in rows:
        values = list(row)
        for i, process in converted:
            values[i] = process(values[i])
        typed.append(tuple(values))
    return typed


def _result_processor(type_: Any, dialect: Any, type_code: Any) -> Callable[[Any], Any] | None:
    return type_.dialect_impl(dialect).result_processor(dialect, type_code)
