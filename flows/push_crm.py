"""Tell the CRM what the engine knows: referred leads to their owner, then every contact
whose referral state changed (status, referrer, code, successes, reward balance)."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from prefect import flow
from prefect.utilities.annotations import quote

from flows.common import publish_table, settings_and_url, walk_batches
from flows.deliver_outbox import relay_name
from tasks.alerts import alert_failure
from tasks.crm_writeback import (
    hand_over_leads_batch,
    open_writer,
    push_profiles_batch,
    queue_referred_leads,
    target_of,
)

PROFILE_MEASURES = ("contacts", "pushed", "refused", "unchanged")
LEAD_MEASURES = ("claimed", "handed_over", "reconcile", "dead", "deferred")


@flow(name="push-crm", log_prints=True, on_failure=[alert_failure])
def push_crm(batch_size: int | None = None) -> dict[str, Any]:
    """Writes to REFERRAL_CRM__PROVIDER: HubSpot contact properties and owners, Salesforce
    fields and Tasks, or files in <data dir>/crm-writeback for the file CRM."""
    settings, url = settings_and_url()
    size = min(batch_size or settings.crm.batch_size, 10_000)
    target = target_of(settings.crm)
    leads = dict.fromkeys(LEAD_MEASURES, 0)
    with closing(open_writer(settings.crm, settings.data_dir, size)) as writer:
        queued = queue_referred_leads(
            url, target, max_age_days=settings.crm.lead_max_age_days, batch_size=size
        )
        worker = relay_name()
        while True:
            batch = hand_over_leads_batch(
                url, quote(writer), target, worker=worker, batch_size=size
            )
            for name in leads:
                leads[name] += batch[name]
            if batch["claimed"] < size:
                break
        profiles, _ = walk_batches(
            lambda after: push_profiles_batch(
                url, quote(writer), target, after=after, batch_size=size
            ),
            PROFILE_MEASURES,
        )
    owner = "" if target.takes_leads else " (no REFERRAL_CRM__LEAD_OWNER_ID: leads not queued)"
    publish_table(
        "push-crm",
        [
            {"measure": "referred leads queued" + owner, "value": queued},
            *({"measure": f"leads {k.replace('_', ' ')}", "value": v} for k, v in leads.items()),
            *({"measure": f"contacts {k}", "value": v} for k, v in profiles.items()),
        ],
        f"What {target.name} was told in this run",
    )
    print(
        f"{target.name}: {leads['handed_over']} referred leads handed over, "
        f"{profiles['pushed']} contacts updated, {profiles['refused']} refused"
    )
    return {"target": target.name, "queued": queued, "leads": leads, "profiles": profiles}
