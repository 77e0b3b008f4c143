"""Open campaigns whose start has come and close those whose end has passed (database
clock). Rewards are boosted by purchase time inside the window, not by this flow, so a late
run never stretches a campaign past its boundary."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.alerts import alert_failure
from tasks.campaigns import close_due_campaigns, launch_due_campaigns


@flow(name="seasonal-campaigns", log_prints=True, on_failure=[alert_failure])
def seasonal_campaigns() -> dict[str, Any]:
    _settings, url = settings_and_url()
    launched = launch_due_campaigns(url)
    closed = close_due_campaigns(url)
    summary = {"launched": len(launched), "closed": len(closed)}
    publish_table(
        "seasonal-campaigns",
        [{"measure": k, "value": v} for k, v in summary.items()],
        "Campaigns opened and closed in this run",
    )
    return {**summary, "launched_ids": launched, "closed_ids": closed}
