"""Record what the web service received, then act on it at once: conversions are attributed
and rewarded, and invitations the events trigger are queued and sent.

Started by the web service after events arrive (a coalesced `run_deployment`) and on a
schedule as the sweep for anything whose run never started, e.g. while Prefect was down.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows.common import program_slugs, publish_table, settings_and_url
from flows.deliver_outbox import deliver_outbox
from flows.distribute_rewards import distribute_rewards
from flows.process_conversions import process_conversions
from flows.send_invitations import send_invitations
from tasks.alerts import alert_failure
from tasks.inbox import process_inbox_batch, received

SUMMED = ("rows", "events", "processed", "ignored", "failed", "conversions", "delivery_events")


@flow(name="process-inbox", log_prints=True, on_failure=[alert_failure])
def process_inbox(batch_size: int | None = None, follow_up: bool = True) -> dict[str, Any]:
    """`follow_up` runs the conversion, reward, invitation and delivery flows for what was
    recorded; off, the events wait for the nightly chain."""
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    totals: dict[str, Any] = dict.fromkeys(SUMMED, 0)
    triggers: set[str] = set()
    backlog = received(url)
    # Bounded: rows arriving during the run are the next run's, so a flood cannot keep
    # this run going for ever.
    for _ in range(-(-backlog // size) + 1):
        batch = process_inbox_batch(
            url,
            size,
            flow_run_id=str(flow_run.id) if flow_run.id else None,
            pepper=settings.hash_pepper.get_secret_value().encode(),
            customer_source=settings.customer_source,
            region=settings.default_region,
            crm=settings.crm,
        )
        if not batch["rows"]:
            break
        for name in SUMMED:
            totals[name] += batch[name]
        triggers.update(batch["triggers"])
    follow: dict[str, Any] = {}
    if follow_up and totals["conversions"]:
        follow["process_conversions"] = process_conversions()
        follow["distribute_rewards"] = distribute_rewards()
    if follow_up and triggers:
        follow["send_invitations"] = {
            f"{program}:{trigger}": send_invitations(program=program, trigger=trigger)
            for program in program_slugs(url)
            for trigger in sorted(triggers)
        }
    if follow:
        follow["deliver_outbox"] = deliver_outbox()
    publish_table(
        "process-inbox",
        [{"measure": name, "value": totals[name]} for name in SUMMED]
        + [{"measure": "triggers", "value": ", ".join(sorted(triggers)) or "-"}]
        + [{"measure": f"ran {name}", "value": "yes"} for name in follow],
        "Events and webhooks recorded from the inbox",
    )
    return {**totals, "triggers": sorted(triggers), "followed_up": sorted(follow)}
