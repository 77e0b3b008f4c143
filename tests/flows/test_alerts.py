"""A failed flow tells the team in Slack: flow name, run id and the error's type, posted to
the configured incoming webhook (a real HTTP server here), never the error's text."""

from __future__ import annotations

import json

import pytest

from db.engine import transaction
from flows.process_conversions import process_conversions
from flows.sync_crm import sync_crm
from tests.db.helpers import advocate_with_code, referred_purchase
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


def test_referred_sign_ups_and_held_referrals_reach_the_team_in_one_message(
    engine, flow_env, monkeypatch
):
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        referred_purchase(session, code)  # a friend: signs up
        referred_purchase(session, code, referee="SELF", email="adalovelace+2@gmail.com")
        referred_purchase(session, code, referee="TMP", email="tmp@mailinator.com")
    slack = FakeSlack()
    for base_url in serve(slack):
        monkeypatch.setenv("REFERRAL_SLACK__WEBHOOK_URL", f"{base_url}/services/T0/B0/x")
        process_conversions()
        process_conversions()  # nothing new: nothing posted
    (alert,) = slack.posted
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in alert["blocks"][1]["fields"]
    }
    assert fields["*Referred sign-ups*"] == "1"  # the alias was rejected, the throwaway held
    assert fields["*Held for review*"] == "1"
    assert fields["*Open reviews*"] == "1"
    assert "mailinator" not in json.dumps(alert) and "gmail" not in json.dumps(alert)
