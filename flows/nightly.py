"""The nightly chain, in the order the work depends on: fresh CRM data, new advocates,
campaigns opened and closed, invitations, conversions, rewards, milestones (which count the
rewarded referrals), reminders, delivery so everything queued tonight goes out, and last
the CRM write-back of what all that changed."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import program_slugs, publish_table, settings_and_url
from flows.deliver_outbox import deliver_outbox
from flows.distribute_rewards import distribute_rewards
from flows.identify_advocates import identify_advocates
from flows.milestone_rewards import milestone_rewards
from flows.process_conversions import process_conversions
from flows.push_crm import push_crm
from flows.reminders import reminders
from flows.seasonal_campaigns import seasonal_campaigns
from flows.send_invitations import send_invitations
from flows.sync_crm import sync_crm
from tasks.alerts import alert_failure


@flow(name="nightly", log_prints=True, on_failure=[alert_failure])
def nightly(sync: bool = True, identify: bool = True, push: bool = True) -> dict[str, Any]:
    """`sync` and `identify` can be turned off for shops that send events only by API or
    enrol advocates by hand; `push` (the CRM write-back) for shops that want none."""
    _settings, url = settings_and_url()
    summary: dict[str, Any] = {}
    if sync:
        summary["sync_crm"] = sync_crm()
    programs = program_slugs(url)
    if identify:
        summary["identify_advocates"] = {p: identify_advocates(program=p) for p in programs}
    summary["seasonal_campaigns"] = seasonal_campaigns()
    summary["send_invitations"] = {p: send_invitations(program=p) for p in programs}
    summary["process_conversions"] = process_conversions()
    summary["distribute_rewards"] = distribute_rewards()
    summary["milestone_rewards"] = milestone_rewards()
    if summary["milestone_rewards"]["grants"]:
        # Milestones count the referrals just rewarded; their bonuses are issued right away.
        summary["distribute_milestones"] = distribute_rewards()
    summary["reminders"] = {p: reminders(program=p) for p in programs}
    summary["deliver_outbox"] = deliver_outbox()
    if push:
        summary["push_crm"] = push_crm()
    publish_table(
        "nightly",
        [{"step": step, "result": str(result)[:500]} for step, result in summary.items()],
        "The nightly chain, step by step",
    )
    return summary
