"""Attribute, validate and fraud-check every unprocessed conversion, a batch per task."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.alerts import alert_failure, alert_new_referrals
from tasks.conversions import process_conversions_batch, review_backlog, unprocessed
from tasks.rings import find_rings

SUMMED = ("conversions", "referrals_created", "qualified", "flagged", "rejected", "voided")


@flow(name="process-conversions", log_prints=True, on_failure=[alert_failure])
def process_conversions(batch_size: int | None = None) -> dict[str, Any]:
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    totals: dict[str, Any] = dict.fromkeys(SUMMED, 0)
    outcomes: dict[str, int] = {}
    signals: dict[str, int] = {}
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
        for rule, n in batch["signals"].items():
            signals[rule] = signals.get(rule, 0) + n
    signed_up = totals["referrals_created"] - totals["flagged"] - totals["rejected"]
    # Rings are a property of the whole referral graph: judged once the batches are in.
    rings = find_rings(url)
    totals["flagged"] += rings["held"]
    totals["rejected"] += rings["rejected"]
    totals["ring_referrals"] = rings["ring_referrals"]
    totals["outcomes"] = outcomes
    totals["signals"] = signals
    queue = review_backlog(url)
    publish_fraud_summary(totals, queue)
    alert_new_referrals(signed_up=signed_up, held_for_review=totals["flagged"], queue=queue)
    publish_table(
        "process-conversions",
        [{"measure": k, "value": v} for k, v in totals.items() if k in SUMMED]
        + [{"measure": f"outcome: {k}", "value": v} for k, v in sorted(outcomes.items())],
        "Conversions processed in this run",
    )
    return totals


def publish_fraud_summary(totals: dict[str, Any], queue: dict[str, Any]) -> None:
    """The run's fraud figures beside the whole review queue: what each rule caught, how
    many referrals wait for a person and for how long."""
    oldest = queue["oldest_waiting_days"]
    by_rule = sorted(totals["signals"].items(), key=lambda item: (-item[1], item[0]))
    publish_table(
        "fraud-summary",
        [
            {"measure": "held for review in this run", "value": totals["flagged"]},
            {"measure": "rejected in this run", "value": totals["rejected"]},
            {"measure": "referrals in rings (new)", "value": totals["ring_referrals"]},
            *({"measure": f"signals: {rule}", "value": n} for rule, n in by_rule),
            {"measure": "review queue (all runs)", "value": queue["open"]},
            {
                "measure": "oldest waiting (hours)",
                "value": "-" if oldest is None else round(oldest * 24, 1),
            },
        ],
        "Fraud checks in this run, and the review queue",
    )
