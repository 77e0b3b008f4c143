"""Every flow by its Prefect name, loaded on demand (importing a flow imports its tasks)."""

from __future__ import annotations

import importlib
from typing import Any

FLOWS: dict[str, str] = {
    "sync-crm": "flows.sync_crm:sync_crm",
    "send-invitations": "flows.send_invitations:send_invitations",
    "reminders": "flows.reminders:reminders",
    "deliver-outbox": "flows.deliver_outbox:deliver_outbox",
    "identify-advocates": "flows.identify_advocates:identify_advocates",
    "process-conversions": "flows.process_conversions:process_conversions",
    "distribute-rewards": "flows.distribute_rewards:distribute_rewards",
    "milestone-rewards": "flows.milestone_rewards:milestone_rewards",
    "seasonal-campaigns": "flows.seasonal_campaigns:seasonal_campaigns",
    "process-inbox": "flows.process_inbox:process_inbox",
    "push-crm": "flows.push_crm:push_crm",
    "report": "flows.report:report",
    "nightly": "flows.nightly:nightly",
    "demo": "flows.demo:demo",
}


class UnknownFlow(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no flow named {name!r}; flows: {', '.join(sorted(FLOWS))}")


def load(name: str) -> Any:
    if name not in FLOWS:
        raise UnknownFlow(name)
    module, attribute = FLOWS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def entrypoint(name: str) -> str:
    """The `path.py:function` form prefect.yaml uses."""
    module, attribute = FLOWS[name].split(":")
    return f"{module.replace('.', '/')}.py:{attribute}"
