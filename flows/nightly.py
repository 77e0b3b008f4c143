"""The nightly chain, in the order the work depends on: new advocates, campaigns opened and
closed, conversions, rewards, then milestones (which count the rewarded referrals)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import program_slugs, publish_table, settings_and_url
from flows.distribute_rewards import distribute_rewards
from flows.identify_advocates import identify_advocates
from flows.milestone_rewards import milestone_rewards
from flows.process_conversions import process_conversions
from flows.seasonal_campaigns import seasonal_campaigns


@flow(name="nightly", log_prints=True)
def nightly(identify: bool = True) -> dict[str, Any]:
    """`identify` can be turned off for shops that enrol advocates by hand or by API."""
    _settings, url = settings_and_url()
    summary: dict[str, Any] = {}
    if identify:
        summary["identify_advocates"] = {
            p: identify_advocates(program=p) for p in program_slugs(url)
        }
    summary["seasonal_campaigns"] = seasonal_campaigns()
    summary["process_conversions"] = process_conversions()
    summary["distribute_rewards"] = distribute_rewards()
    summary["milestone_rewards"] = milestone_rewards()
    if summary["milestone_rewards"]["grants"]:
        # Milestones count the referrals just rewarded; their bonuses are issued right away.
        summary["distribute_milestones"] = distribute_rewards()
    publish_table(
        "nightly",
        [{"step": step, "result": str(result)[:500]} for step, result in summary.items()],
        "The nightly chain, step by step",
    )
    return summary
