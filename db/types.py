"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """timestamptz on PostgreSQL; on SQLite naive UTC text that comes back tz-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the engine stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class utcnow(FunctionElement[datetime]):
    """The database clock in UTC: holds and leases never trust the worker's clock."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utcnow, "postgresql")
def _pg_utcnow(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "statement_timestamp()"


@compiles(utcnow, "sqlite")
def _sqlite_utcnow(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "strftime('%Y-%m-%d %H:%M:%f', 'now')"


class days_since(FunctionElement[float]):
    """Whole and fractional days from a timestamp column to the database clock."""

    inherit_cache = True


@compiles(days_since, "postgresql")
def _pg_days_since(element: days_since, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    since = compiler.process(column, **kw)
    return f"(EXTRACT(EPOCH FROM (statement_timestamp() - {since})) / 86400.0)"


@compiles(days_since, "sqlite")
def _sqlite_days_since(element: days_since, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"(julianday('now') - julianday({compiler.process(column, **kw)}))"


class seconds_from_now(FunctionElement[datetime]):
    """The database clock plus (or minus) a number of seconds, which may be a bound parameter
    of an executemany."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(seconds_from_now, "postgresql")
def _pg_seconds_from_now(element: seconds_from_now, compiler: SQLCompiler, **kw: Any) -> str:
    (seconds,) = element.clauses
    offset = compiler.process(seconds, **kw)
    return f"(statement_timestamp() + CAST({offset} AS DOUBLE PRECISION) * INTERVAL '1 second')"


@compiles(seconds_from_now, "sqlite")
def _sqlite_seconds_from_now(element: seconds_from_now, compiler: SQLCompiler, **kw: Any) -> str:
    (seconds,) = element.clauses
    offset = compiler.process(seconds, **kw)
    return f"strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.3f seconds', {offset}))"
