"""Telling the team in Slack (REFERRAL_SLACK__WEBHOOK_URL): when a flow fails, and when
referred leads sign up or referrals wait for review.

The failure alert is a Prefect `on_failure` hook, not a task: it runs when the flow has
already failed, and an alert that cannot be posted is logged by its type and never hides the
flow's own error.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from config.settings import load_settings
from integrations.messaging.slack import SlackWebhook, batch_failed_alert, conversions_alert
from integrations.senders import SendError
from tasks.secrets import with_secret_blocks

log = logging.getLogger("referral.alerts")


def alert_failure(flow: Any, flow_run: Any, state: Any) -> None:
    url = with_secret_blocks(load_settings().slack, path="REFERRAL_SLACK").webhook_url
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


@task(name="alert-new-referrals", cache_policy=NO_CACHE)
def alert_new_referrals(*, signed_up: int, held_for_review: int, queue: dict[str, Any]) -> bool:
    """One Slack message a conversions run that brought referred sign-ups or held some for
    review, with the review queue (`tasks.conversions.review_backlog`) as the flow read it.
    Best effort: a refused post is logged by its type and the run goes on; the numbers are
    in the run's artifacts either way."""
    url = with_secret_blocks(load_settings().slack, path="REFERRAL_SLACK").webhook_url
    if url is None or not (signed_up or held_for_review):
        return False
    oldest = queue["oldest_waiting_days"]
    alert = conversions_alert(
        signed_up=signed_up,
        held_for_review=held_for_review,
        open_reviews=queue["open"],
        oldest_waiting_hours=None if oldest is None else oldest * 24,
    )
    try:
        with SlackWebhook(url.get_secret_value()) as slack:
            slack.post_alert(alert)
    except (SendError, ValueError) as exc:
        log.warning("the new-referrals alert could not be posted (%s)", type(exc).__name__)
        return False
    return True
