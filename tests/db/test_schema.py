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


def test_upgrading_a_database_with_rewards_keeps_every_row(engine):
    """SQLite rebuilds altered tables; rows and the foreign keys pointing at them survive."""
    from db.migrate import current_revision, head_revision

    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO customers (source, external_id) VALUES ('crm', 'C1'), ('crm', 'C2')")
        )
        connection.execute(
            text(
                "INSERT INTO programs (slug, name, type, current_version) "
                "VALUES ('p1', 'P', 'customer', 1)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO reward_grants (idempotency_key, program_id, beneficiary_id, role, "
                "reward_type, amount_minor, currency, status) "
                "VALUES ('k1', 1, 1, 'referrer', 'credit', 1000, 'USD', 'issued')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, grant_id, customer_id, account, kind, "
                "amount_minor, currency) VALUES ('t1', 1, 1, 'customer:1:credit', 'issue', 1000, "
                "'USD')"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as connection:
        grant = connection.execute(
            text("SELECT amount_minor, campaign_id FROM reward_grants")
        ).one()
        assert tuple(grant) == (1000, None)
        assert connection.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == 1
