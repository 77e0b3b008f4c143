"""Attribute, validate and fraud-check every unprocessed conversion, a batch per task."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.alerts import alert_failure, alert_new_referrals
from tasks.conversions import process_conversions_batch, unprocessed

SUMMED = ("conversions", "referrals_created", "qualified", "flagged", "rejected", "voided")


@flow(name="process-conversions", log_prints=True, on_failure=[alert_failure])
def process_conversions(batch_size: int | None = None) -> dict[str, Any]:
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    totals: dict[str, Any] = dict.fromkeys(SUMMED, 0)
    outcomes: dict[str, int] = {}
    # Bounded: conversions arriving during the run wait for the next one, and a batch that
    # somehow made no progress cannot spin forever.
    backlog = unprocessed(url)
    for _ in range(-(-backlog // size) + 1):
        batch = process_conversions_batch(url, size)
        if batch["conversions"] == 0:
            break
        for name in SUMMED:
            totals[name] += batch[name]
        for outcome, n in batch["outcomes"].items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    totals["outcomes"] = outcomes
    alert_new_referrals(
        url,
        signed_up=totals["referrals_created"] - totals["flagged"] - totals["rejected"],
        held_for_review=totals["flagged"],
    )
    publish_table(
        "process-conversions",
        [{"measure": k, "value": v} for k, v in totals.items() if k != "outcomes"]
        + [{"measure": f"outcome: {k}", "value": v} for k, v in sorted(outcomes.items())],
        "Conversions processed in this run",
    )
    return totals
