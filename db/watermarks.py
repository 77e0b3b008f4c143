"""How far each CRM source has been read. The cursor is the connector's own text; it moves
in the transaction that saves the rows it covers, so it never runs ahead of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.engine import is_postgres
from db.models import SyncWatermark
from db.types import utcnow


class WatermarkMoved(RuntimeError):
    """Another sync of the same source moved the cursor first; this one must not apply its
    batch over it (it would re-apply older data), so it stops and leaves the work to it."""

    def __init__(self, source: str) -> None:
        super().__init__(f"the {source} watermark moved under this sync; another sync is running")


def get_watermark(session: Session, source: str) -> str | None:
    return session.scalar(select(SyncWatermark.cursor).where(SyncWatermark.source == source))


def set_watermark(session: Session, source: str, cursor: str) -> None:
    """Upsert, whatever the current cursor (e.g. an operator resetting a source)."""
    statement = _insert(session).values(source=source, cursor=cursor)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["source"], set_={"cursor": cursor, "updated_at": utcnow()}
        )
    )


def advance_watermark(session: Session, source: str, *, since: str | None, to: str) -> None:
    """Move the cursor from `since` (None: never synced) to `to`, or raise WatermarkMoved.

    A compare-and-set: on PostgreSQL a second sync's UPDATE waits for the first one's row
    lock and then finds the cursor changed, so two runs at once cannot both apply a batch.
    """
    if since is None:
        statement = (
            _insert(session)
            .values(source=source, cursor=to)
            .on_conflict_do_nothing()
            .returning(SyncWatermark.source)
        )
    else:
        statement = (
            update(SyncWatermark)
            .where(SyncWatermark.source == source, SyncWatermark.cursor == since)
            .values(cursor=to, updated_at=utcnow())
            .returning(SyncWatermark.source)
        )
    if session.execute(statement).first() is None:
        raise WatermarkMoved(source)


def _insert(session: Session) -> Any:
    return (pg_insert if is_postgres(session) else sqlite_insert)(SyncWatermark)
