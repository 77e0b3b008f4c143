"""Turn qualified referrals into grants (issuing at once those that need neither a person nor a
hold), release closed holds, and issue the rewards approved since."""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.alerts import alert_failure
from tasks.rewards import (
    complete_rewarded,
    grant_rewards_batch,
    issue_rewards_batch,
    release_holds,
)


@flow(name="distribute-rewards", log_prints=True, on_failure=[alert_failure])
def distribute_rewards(batch_size: int | None = None) -> dict[str, Any]:
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    granted = referrals = issued = 0
    by_type: Counter[str] = Counter()
    while (batch := grant_rewards_batch(url, size))["referrals"]:
        referrals += batch["referrals"]
        granted += batch["grants"]
        issued += batch["issued"]  # those needing neither a person nor a hold
        by_type.update(batch["by_type"])
    released = release_holds(url)
    while (issue := issue_rewards_batch(url, size))["issued"]:
        issued += issue["issued"]
        by_type.update(issue["by_type"])
    complete_rewarded(url)
    summary = {
        "referrals_rewarded": referrals,
        "grants_created": granted,
        "holds_released": released,
        "grants_issued": issued,
        "issued_minor_by_type": dict(by_type),
    }
    publish_table(
        "distribute-rewards",
        [{"measure": k, "value": v} for k, v in summary.items() if k != "issued_minor_by_type"]
        + [{"measure": f"issued ({k}, minor units)", "value": v} for k, v in by_type.items()],
        "Rewards granted and issued in this run",
    )
    return summary
