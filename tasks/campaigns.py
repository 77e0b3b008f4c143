"""Campaign state changes, each one transaction."""

from __future__ import annotations

from db import campaigns as q
from db.engine import engine_for, transaction
from tasks.base import database_task


@database_task("launch-due-campaigns")
def launch_due_campaigns(database_url: str) -> list[int]:
    with transaction(engine_for(database_url)) as session:
        return q.launch_due(session)


@database_task("close-due-campaigns")
def close_due_campaigns(database_url: str) -> list[int]:
    with transaction(engine_for(database_url)) as session:
        return q.close_due(session)
