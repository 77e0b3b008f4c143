"""A failed flow tells the team in Slack: flow name, run id and the error's type, posted to
the configured incoming webhook (a real HTTP server here), never the error's text."""

from __future__ import annotations

import json

import pytest

from flows.sync_crm import sync_crm
from tests.web.conftest import serve


class FakeSlack:
    """An incoming webhook: answers "ok" and keeps what was posted."""

    def __init__(self) -> None:
        self.posted: list[dict] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.posted.append(json.loads(body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_a_failed_flow_posts_an_alert_without_the_errors_text(engine, flow_env, monkeypatch):
    slack = FakeSlack()
    for base_url in serve(slack):
        monkeypatch.setenv("REFERRAL_SLACK__WEBHOOK_URL", f"{base_url}/services/T0/B0/x")
        monkeypatch.setenv("REFERRAL_CRM__PROVIDER", "hubspot")  # and no token: it fails
        with pytest.raises(Exception, match="REFERRAL_CRM__HUBSPOT_ACCESS_TOKEN"):
            sync_crm()
    (alert,) = slack.posted
    assert "sync-crm" in alert["text"] and "SettingsError" in json.dumps(alert)
    assert "HUBSPOT_ACCESS_TOKEN" not in json.dumps(alert)


def test_without_a_webhook_the_flows_own_error_surfaces_unchanged(engine, flow_env, monkeypatch):
    monkeypatch.setenv("REFERRAL_CRM__PROVIDER", "hubspot")
    with pytest.raises(Exception, match="REFERRAL_CRM__HUBSPOT_ACCESS_TOKEN"):
        sync_crm()
