"""Persistence: SQLAlchemy 2.0 tables, engine and session factories, set-based queries,
Alembic migrations. Works on SQLite (the embedded default) and PostgreSQL."""
