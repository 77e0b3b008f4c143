"""The report as a Prefect task, for the report flow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from db.engine import engine_for, transaction
from db.report import report


@task(name="build-report", cache_policy=NO_CACHE)
def build_report(database_url: str, since: datetime, top: int = 10) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return report(session, since, top=top)
