"""Pay milestone bonuses and upgrade tiers for every program, a batch of advocates per task."""

from __future__ import annotations

from functools import partial
from typing import Any

from prefect import flow

from flows.common import program_slugs, publish_table, settings_and_url, walk_batches
from tasks.alerts import alert_failure
from tasks.milestones import milestone_rewards_batch


@flow(name="milestone-rewards", log_prints=True, on_failure=[alert_failure])
def milestone_rewards(program: str | None = None, batch_size: int | None = None) -> dict[str, Any]:
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    totals = {"advocates": 0, "grants": 0, "tier_upgrades": 0}
    for slug in [program] if program else program_slugs(url):
        found, _last = walk_batches(
            partial(milestone_rewards_batch, url, slug, batch_size=size), totals
        )
        totals = {name: totals[name] + found[name] for name in totals}
    publish_table(
        "milestone-rewards",
        [{"measure": k, "value": v} for k, v in totals.items()],
        "Milestone bonuses granted and tiers upgraded",
    )
    return totals
