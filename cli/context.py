"""What every command needs: settings and a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cli.errors import UserError
from config.settings import Settings, load_settings
from db.engine import make_engine, transaction
from db.migrate import current_revision, head_revision


def settings() -> Settings:
    return load_settings()


def engine(settings: Settings, *, require_current: bool = True) -> Engine:
    database = make_engine(settings.resolved_database_url, echo=settings.database.echo)
    if require_current and current_revision(database) != head_revision(database):
        raise UserError("the database schema is not current: run `referral db upgrade`")
    return database


@contextmanager
def session(require_current: bool = True) -> Iterator[tuple[Settings, Session]]:
    config = settings()
    with transaction(engine(config, require_current=require_current)) as s:
        yield config, s
