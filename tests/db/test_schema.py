"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from db.migrate import is_current, upgrade
from db.models import Base


def test_migrations_are_current_and_match_the_models(engine):
    assert is_current(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrading_twice_changes_nothing(engine):
    upgrade(engine)
    assert is_current(engine)


def test_database_clock_default_is_utc(engine):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from db.types import utcnow

    with engine.connect() as connection:
        now = connection.execute(select(utcnow())).scalar_one()
        assert connection.execute(text("select 1")).scalar_one() == 1
    assert now.tzinfo is not None
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
