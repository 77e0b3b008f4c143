"""Slack incoming webhooks for team alerts, against a fake webhook that answers as Slack's
documentation says (200 "ok"; errors as plain-text tokens), and the alerts' contents."""

import json
import logging

import httpx
import pytest

from integrations.messaging import (
    SlackWebhook,
    batch_failed_alert,
    conversions_alert,
    referred_signup_alert,
    review_waiting_alert,
)
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    PermanentSendError,
    SendError,
    TransientSendError,
)

URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
SECRET_PART = "XXXXXXXXXXXXXXXXXXXXXXXX"


class FakeSlack:
    def __init__(self, answer=None):
        self.requests = []
        self.answer = answer or (lambda request: httpx.Response(200, text="ok"))

    def __call__(self, request):
        self.requests.append(request)
        return self.answer(request)

    @property
    def payload(self):
        return json.loads(self.requests[-1].content)


def answering(status, text="", **headers):
    return FakeSlack(lambda request: httpx.Response(status, text=text, headers=headers))


def raising(exc_type):
    def answer(request):
        raise exc_type("simulated", request=request)

    return FakeSlack(answer)


def hook(fake):
    return SlackWebhook(URL, client=httpx.Client(transport=httpx.MockTransport(fake)))


# --- posting ---------------------------------------------------------------------------------


def test_a_message_is_posted_as_json_to_the_webhook_and_ok_means_done():
    fake = FakeSlack()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    assert hook(fake).post("hi", blocks) is None
    request = fake.requests[0]
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Content-Type"] == "application/json"
    assert fake.payload == {"text": "hi", "blocks": blocks}


def test_a_message_without_blocks_sends_text_only():
    fake = FakeSlack()
    hook(fake).post("A batch failed")
    assert fake.payload == {"text": "A batch failed"}


def test_an_empty_message_is_refused_without_calling_slack():
    fake = FakeSlack()
    with pytest.raises(PermanentSendError):
        hook(fake).post("   ")
    assert fake.requests == []


def test_an_alert_posts_its_text_and_blocks():
    fake = FakeSlack()
    alert = batch_failed_alert(flow="deliver-outbox", run_id="run-1", error_type="TimeoutError")
    hook(fake).post_alert(alert)
    assert fake.payload == {"text": alert.text, "blocks": alert.blocks}


def test_a_malformed_payload_is_permanent_but_not_a_configuration_error():
    with pytest.raises(PermanentSendError) as caught:
        hook(answering(400, "invalid_payload")).post("hi")
    assert not isinstance(caught.value, AuthSendError)
    assert caught.value.code == "invalid_payload"


@pytest.mark.parametrize(
    ("status", "token"),
    [
        (403, "action_prohibited"),
        (403, "invalid_token"),
        (404, "no_service"),
        (404, "channel_not_found"),
        (410, "channel_is_archived"),
        (404, "a_token_slack_adds_later"),
    ],
)
def test_a_revoked_webhook_or_closed_channel_is_a_configuration_error(status, token):
    with pytest.raises(AuthSendError) as caught:
        hook(answering(status, token)).post("hi")
    assert isinstance(caught.value, PermanentSendError)
    assert caught.value.code == token
    assert token in str(caught.value)


def test_rate_limiting_is_transient_with_slacks_retry_after():
    with pytest.raises(TransientSendError) as caught:
        hook(answering(429, "rate_limited", **{"Retry-After": "30"})).post("hi")
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, "rollup_error"), (503, "<html><h1>Service Unavailable</h1></html>"), (502, "")],
)
def test_server_trouble_is_transient(status, body):
    with pytest.raises(TransientSendError):
        hook(answering(status, body)).post("hi")


def test_an_error_body_that_is_not_a_slack_token_is_not_quoted():
    with pytest.raises(PermanentSendError) as caught:
        hook(answering(400, "<html><script>alert('x')</script></html>")).post("hi")
    assert "script" not in str(caught.value)
    assert caught.value.code is None


def test_no_answer_after_posting_is_ambiguous_and_a_refused_connection_transient():
    with pytest.raises(AmbiguousSendError):
        hook(raising(httpx.ReadTimeout)).post("hi")
    with pytest.raises(TransientSendError):
        hook(raising(httpx.ConnectError)).post("hi")


def test_the_webhook_url_is_a_secret_never_shown_in_errors_logs_or_repr(caplog):
    caplog.set_level(logging.DEBUG, logger="integrations")
    errors = []
    for fake in (
        answering(404, "no_service"),
        answering(429, "rate_limited"),
        raising(httpx.ConnectError),
        raising(httpx.ReadTimeout),
    ):
        with pytest.raises(SendError) as caught:
            hook(fake).post("hi")
        errors.append(str(caught.value))
    assert caplog.records
    for text in (*errors, caplog.text, repr(hook(FakeSlack()))):
        assert SECRET_PART not in text


def test_a_webhook_url_must_be_an_absolute_http_url():
    with pytest.raises(ValueError):
        SlackWebhook("hooks.slack.com/services/T0/B0/X")


# --- alerts ----------------------------------------------------------------------------------


def all_text(alert):
    return alert.text + json.dumps(alert.blocks)


def test_a_referred_signup_alert_names_the_program_and_ids_only():
    alert = referred_signup_alert(
        program="Spring friends",
        referral_id=812,
        referrer_id="C-1001",
        referee_id="C-2077",
        link="https://crm.example.com/referrals/812",
    )
    assert alert.text == "Referred lead signed up in Spring friends (referral 812)"
    text = all_text(alert)
    for expected in ("Spring friends", "812", "C-1001", "C-2077", "crm.example.com/referrals/812"):
        assert expected in text
    assert alert.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Referred lead signed up"},
    }


def test_a_review_alert_lists_the_fraud_rules_reason_codes():
    alert = review_waiting_alert(
        program="Spring friends",
        review_id=55,
        referral_id=812,
        reason_codes=["shared_device", "disposable_domain"],
        score=0.72,
        waiting=3,
    )
    assert alert.text == "Review 55 is waiting in Spring friends: shared_device, disposable_domain"
    text = all_text(alert)
    assert "0.72" in text
    assert "Open reviews" in text


def test_a_batch_failure_alert_names_the_error_type_never_its_message():
    alert = batch_failed_alert(
        flow="deliver-outbox", run_id="3f2a", error_type="OperationalError", batch=4, failed=5000
    )
    assert alert.text == "Batch failed in deliver-outbox: OperationalError (run 3f2a)"
    leaky = batch_failed_alert(
        flow="deliver-outbox", run_id="3f2a", error_type="could not send to ada@example.com"
    )
    assert "ada@example.com" not in all_text(leaky)
    assert "Batch failed in deliver-outbox: error" in leaky.text


@pytest.mark.parametrize("contact", ["ada@example.com", "+49 151 1234 5678", "004915112345678"])
def test_alerts_refuse_ids_that_look_like_contact_details(contact):
    with pytest.raises(ValueError):
        referred_signup_alert(program="P", referral_id=1, referrer_id=contact, referee_id="C-2")


def test_alert_texts_are_escaped_so_a_program_name_cannot_mention_the_channel():
    alert = referred_signup_alert(
        program="<!channel> & <https://evil.example|win>",
        referral_id=1,
        referrer_id=2,
        referee_id=3,
    )
    text = all_text(alert)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|win&gt;" in alert.text


def test_alert_links_must_be_plain_http_urls():
    with pytest.raises(ValueError):
        batch_failed_alert(flow="f", run_id="r", error_type="E", link="javascript:alert(1)")
    with pytest.raises(ValueError):
        batch_failed_alert(flow="f", run_id="r", error_type="E", link="https://x.example|click")


def test_the_new_referrals_alert_counts_and_ages_the_review_queue():
    alert = conversions_alert(
        signed_up=3, held_for_review=1, open_reviews=4, oldest_waiting_hours=26.04
    )
    assert alert.text == "3 referred leads signed up; 1 held for review (4 open in all)"
    fields = [f["text"] for f in alert.blocks[1]["fields"]]
    assert fields == [
        "*Referred sign-ups*\n3",
        "*Held for review*\n1",
        "*Open reviews*\n4",
        "*Oldest waiting*\n26.0 h",
    ]
