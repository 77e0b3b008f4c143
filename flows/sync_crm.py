"""Bring the CRM mirror up to date: pull what is new since the source's watermark and apply
it a batch per task, each batch with the watermark move that covers it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.utilities.annotations import quote

from flows.common import publish_table, settings_and_url
from tasks.alerts import alert_failure
from tasks.crm import open_connector, read_watermark, sync_batch

DROP_FOLDER = "crm-drop"


@flow(name="sync-crm", log_prints=True, on_failure=[alert_failure])
def sync_crm(source: str | None = None, folder: str | None = None) -> dict[str, Any]:
    """`source` is files, hubspot or salesforce (default: REFERRAL_CRM__PROVIDER, whose
    `file` means the drop folder). `folder` is the drop folder of the `files` source
    (default: <data dir>/crm-drop). A re-run after a crash resumes at the watermark; a
    second run at once stops at its first batch (the watermark moved under it)."""
    settings, url = settings_and_url()
    source = source or {"file": "files"}.get(settings.crm.provider, settings.crm.provider)
    drop = Path(folder) if folder else settings.data_dir / DROP_FOLDER
    if folder is None:
        drop.mkdir(parents=True, exist_ok=True)  # a fresh install syncs nothing, not an error
    connector = open_connector(
        source, folder=drop, batch_size=settings.batch_size, crm=settings.crm
    )
    pepper = settings.hash_pepper.get_secret_value().encode()
    started = cursor = read_watermark(url, connector.name)
    totals = {"batches": 0, "customers": 0, "events": 0}
    # One batch at a time, in order: each moves the watermark from the previous cursor.
    # (Reading the next batch while this one is written was tried: slower here, the parse
    # and the upsert's row building compete for one interpreter.)
    for batch in connector.pull(cursor):
        applied = sync_batch(
            url,
            # quote(): Prefect would otherwise walk every record looking for futures, which
            # cost 0.7 s a batch of 5,000 here (3 ms quoted).
            quote(batch),
            source=connector.name,
            customer_source=connector.customer_source,
            since=cursor,
            pepper=pepper,
            region=settings.default_region,
        )
        cursor = applied["cursor"]
        totals["batches"] += 1
        totals["customers"] += applied["customers"]
        totals["events"] += applied["events"]
    summary = {"source": connector.name, **totals, "cursor_before": started, "cursor": cursor}
    publish_table(
        "sync-crm",
        [
            {"measure": "customers upserted", "value": totals["customers"]},
            {"measure": "events recorded", "value": totals["events"]},
            {"measure": "batches", "value": totals["batches"]},
            {"measure": "cursor before", "value": started or "(start)"},
            {"measure": "cursor", "value": cursor or "(start)"},
        ],
        f"CRM sync from {connector.name}",
    )
    print(f"{connector.name}: {totals['batches']} batches applied, cursor {cursor}")
    return summary
