"""Shared fixtures. Database tests run twice: on SQLite and on the PostgreSQL database that
`make test` creates (REFERRAL_TEST_POSTGRES_URL). Without it they fail, never skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL, Engine, make_url, text
from sqlalchemy.orm import Session

from db.engine import dispose_engines, make_engine, transaction
from db.migrate import upgrade
from db.models import Base

POSTGRES_ENV = "REFERRAL_TEST_POSTGRES_URL"
# pytest-xdist runs the suite in several processes; each gets a database of its own on the
# same server, so tests that empty or rebuild the schema never meet.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def pytest_configure(config: pytest.Config) -> None:
    base = os.environ.get(POSTGRES_ENV)
    if _WORKER and base:
        url = make_url(base)
        own = url.set(database=f"{url.database}_{_WORKER}")
        _admin(url, f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')
        _admin(url, f'CREATE DATABASE "{own.database}"')
        os.environ[POSTGRES_ENV] = own.render_as_string(hide_password=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    url = os.environ.get(POSTGRES_ENV)
    if _WORKER and url:
        dispose_engines()
        _admin(make_url(url), f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _admin(url: URL, statement: str) -> None:
    admin = url.set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(statement)  # type: ignore[arg-type]  # a name we built, not user input


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: run the suite with `make test`, which "
            "creates a throw-away PostgreSQL database",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "test.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgresql_engine() -> Iterator[Engine]:
    engine = make_engine(postgres_url())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database of each kind."""
    engine: Engine = request.getfixturevalue(f"_{request.param}_engine")
    _empty(engine)
    yield engine
    dispose_engines()


@pytest.fixture
def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with transaction(engine) as session:
        yield session


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path
