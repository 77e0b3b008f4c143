"""Engine and session factories. Nothing here runs at import time: callers pass the URL."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from db.types import utcnow


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 5,
    pre_ping: bool = True,
    prepare: bool = False,
) -> Engine:
    """`pre_ping` tests each pooled connection before use (a round trip); the web service
    turns it off and lets a failed batch, retried unit by unit, replace dead connections.

    `prepare` lets psycopg prepare a statement on PostgreSQL once it has run five times. The
    web service's small statements gain from skipping the planner. Batch work does not:
    a prepared statement may get one generic plan for all its parameters, and a batch's
    array of 5,000 emails, planned blind, became a filter tested row by row against every
    referral of the program (1.8 s instead of 0.05 s). Forcing custom plans instead would
    also re-plan every foreign-key check inside an insert, which doubles its cost.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers locking; we issue BEGIN IMMEDIATE ourselves so
        # two writers queue on busy_timeout instead of failing on lock upgrade.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        pool_pre_ping=pre_ping,
        connect_args={
            "prepare_threshold": 5 if prepare else None,
            # Sessions in UTC, whatever the server's default: date arithmetic on timestamptz
            # then cuts days at UTC midnight, and psycopg hands back datetimes in
            # datetime.UTC itself, which its loader and UTCDateTime pass through untouched
            # (a named zone such as Etc/UTC costs a conversion per value: 100k timestamps
            # read in 120-160 ms instead of 70-90).
            "options": "-c TimeZone=UTC",
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook own transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_FACTORIES: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """One per engine: building a sessionmaker sets up its events, which cost more than a
    web request's whole insert."""
    factory = _FACTORIES.get(engine)
    if factory is None:
        factory = _FACTORIES[engine] = sessionmaker(engine, expire_on_commit=False)
    return factory


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    with session_factory(engine).begin() as session:
        yield session


def is_postgres(engine_or_session: Engine | Session) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "postgresql"


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process, made on first use, never at import."""
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def database_now(database_url: str) -> datetime:
    """The database clock: holds, expiries and report windows are measured by it."""
    with engine_for(database_url).connect() as connection:
        return connection.execute(select(utcnow())).scalar_one()
