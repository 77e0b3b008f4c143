"""What every flow does at its start and end: settings, the database, a summary artifact."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from config.settings import Settings, load_settings
from db.engine import engine_for, transaction
from db.programs import Programs
from tasks.secrets import with_secret_blocks


def settings_and_url() -> tuple[Settings, str]:
    settle_heap()
    settings = with_secret_blocks(load_settings())
    return settings, settings.resolved_database_url


_SETTLED = False
_YOUNG_GENERATION_THRESHOLD = 50_000


def settle_heap() -> None:
    """Once per process, at the first flow's start: what is loaded by then (Prefect,
    SQLAlchemy, the models) lives as long as the process, so the garbage collector stops
    walking it. Batches allocate tens of thousands of small objects, and every full
    collection used to walk the whole heap: a third of the fraud checks' time.

    The young generation is collected after 50,000 net allocations instead of 700. A batch's
    objects die with the batch by reference counting; at 700 the collector ran thousands of
    times per 100k conversions only to promote them into older generations, to be walked
    again there (process_conversions: 2,677 young and 22 full collections per 100k
    conversions before, 20 and none after; a tenth of the fraud checks' time). The batch
    steps of process_conversions and distribute_rewards then pause the collector for their
    batch altogether (tasks.base.collection_paused)."""
    global _SETTLED
    if not _SETTLED:
        gc.collect()
        gc.freeze()
        gc.set_threshold(_YOUNG_GENERATION_THRESHOLD)
        _SETTLED = True


def publish_table(key: str, rows: list[dict[str, Any]], description: str) -> None:
    create_table_artifact(key=key, table=rows, description=description)


def publish_markdown(key: str, markdown: str, description: str) -> None:
    create_markdown_artifact(key=key, markdown=markdown, description=description)


def program_slugs(database_url: str) -> list[str]:
    with transaction(engine_for(database_url)) as session:
        return [p.slug for p in Programs(session).list()]


def walk_batches(
    run_batch: Callable[[int], dict[str, Any]], measures: Iterable[str]
) -> tuple[dict[str, int], dict[str, Any]]:
    """Run a keyset-paginated task until it reports no next cursor (None) and add up its
    measures; the last batch comes back too, for what it says about the whole run."""
    totals = dict.fromkeys(measures, 0)
    cursor = 0
    while True:
        batch = run_batch(cursor)
        for name in totals:
            totals[name] += batch[name]
        if batch["cursor"] is None:
            return totals, batch
        cursor = batch["cursor"]
