"""Telling the team in Slack when a flow fails (REFERRAL_SLACK__WEBHOOK_URL).

A Prefect `on_failure` hook, not a task: it runs when the flow has already failed, and an
alert that cannot be posted is logged by its type and never hides the flow's own error.
"""

from __future__ import annotations

import logging
from typing import Any

from config.settings import load_settings
from integrations.messaging.slack import SlackWebhook, batch_failed_alert
from integrations.senders import SendError

log = logging.getLogger("referral.alerts")


def alert_failure(flow: Any, flow_run: Any, state: Any) -> None:
    url = load_settings().slack.webhook_url
    if url is None:
        return
    failure = state.result(raise_on_failure=False) if state.is_failed() else None
    error = type(failure).__name__ if isinstance(failure, BaseException) else state.name
    alert = batch_failed_alert(flow=flow.name, run_id=str(flow_run.id), error_type=error)
    try:
        with SlackWebhook(url.get_secret_value()) as slack:
            slack.post_alert(alert)
    except (SendError, ValueError) as exc:
        log.warning(
            "the Slack alert for %s could not be posted (%s)", flow.name, type(exc).__name__
        )
