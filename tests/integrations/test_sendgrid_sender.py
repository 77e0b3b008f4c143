"""SendGridSender against an httpx.MockTransport that answers as SendGrid's v3 Mail Send
documentation says: 202 with X-Message-Id, `{"errors": [{"field", "message"}]}` bodies,
X-RateLimit-* headers on 429."""

import json

import httpx
import pytest

from integrations.mail.sendgrid import SendGridSender
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
)
from referral.unsubscribe import unsubscribe_headers

API_KEY = "SG.test-key.abcdefghijklmnopqrstuvwxyz"
UNSUBSCRIBE = "https://refer.example.com/u/7.email.Zm9vYmFyYmF6cXV4cXV1eA"
NOW = 1_760_000_000.0


def message(**fields):
    return OutboundMessage(
        **{
            "idempotency_key": "notify:grant:42",
            "channel": "email",
            "to": "ada@example.com",
            "subject": "You earned a reward",
            "text": "Hi Ada, you earned a reward.",
            "html": "<style>p { color: #333; }</style><p>Hi Ada, you earned a reward.</p>",
            "headers": unsubscribe_headers(UNSUBSCRIBE),
            **fields,
        }
    )


class SendGrid:
    """A handler answering with `status`, `body` and `headers`; keeps the requests it got."""

    def __init__(self, status=202, body=b"", headers=None, raises=None):
        self.status, self.body, self.headers, self.raises = status, body, headers or {}, raises
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        if self.raises is not None:
            raise self.raises(request)
        content = json.dumps(self.body).encode() if isinstance(self.body, dict) else self.body
        return httpx.Response(self.status, content=content, headers=self.headers)

    def sender(self, **options):
        client = httpx.Client(transport=httpx.MockTransport(self))
        return SendGridSender(
            API_KEY, "Referral Team <team@shop.example.com>", client=client, **options
        )


def accepted():
    return SendGrid(202, headers={"X-Message-Id": "W86EgYT6SQKk0lRflfLRsA"})


def errors(*pairs):
    return {"errors": [{"field": f, "message": m, "help": None} for f, m in pairs]}


def test_a_202_is_sent_and_the_x_message_id_is_the_provider_id():
    sendgrid = accepted()
    result = sendgrid.sender().send(message())
    assert result.provider_message_id == "W86EgYT6SQKk0lRflfLRsA"


def test_the_request_is_a_v3_mail_send_with_bearer_auth_and_the_documented_json_shape():
    sendgrid = accepted()
    sendgrid.sender().send(message())
    [request] = sendgrid.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.sendgrid.com/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert body["personalizations"] == [{"to": [{"email": "ada@example.com"}]}]
    assert body["from"] == {"email": "team@shop.example.com", "name": "Referral Team"}
    assert body["subject"] == "You earned a reward"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["content"][0]["value"] == "Hi Ada, you earned a reward."
    assert '<p style="color: #333;">' in body["content"][1]["value"]
    assert body["headers"] == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert body["custom_args"] == {"idempotency_key": "notify:grant:42"}


def test_an_html_only_message_still_sends_a_text_part_first():
    sendgrid = accepted()
    sendgrid.sender().send(message(text=""))
    content = json.loads(sendgrid.requests[0].content)["content"]
    assert content[0] == {"type": "text/plain", "value": "Hi Ada, you earned a reward.\n"}
    assert content[1]["type"] == "text/html"


def test_the_base_url_can_point_at_the_eu_region():
    sendgrid = accepted()
    sendgrid.sender(base_url="https://api.eu.sendgrid.com/").send(message())
    assert str(sendgrid.requests[0].url) == "https://api.eu.sendgrid.com/v3/mail/send"


def test_an_email_without_the_unsubscribe_headers_never_reaches_sendgrid():
    sendgrid = accepted()
    with pytest.raises(PermanentSendError, match="List-Unsubscribe"):
        sendgrid.sender().send(message(headers={}))
    assert sendgrid.requests == []


def test_a_400_is_permanent_with_sendgrids_messages_and_without_the_address():
    sendgrid = SendGrid(
        400,
        errors(
            ("personalizations.0.to.0.email", "Does not contain a valid address: ada@example"),
            ("from.email", "The from email does not contain a valid address."),
        ),
    )
    with pytest.raises(PermanentSendError) as refused:
        sendgrid.sender().send(message())
    reason = str(refused.value)
    assert not isinstance(refused.value, AuthSendError)
    assert reason.startswith("SendGrid 400: personalizations.0.to.0.email: Does not contain")
    assert "from.email: The from email does not contain a valid address." in reason
    assert "ada@example" not in reason


def test_a_400_with_a_body_that_is_not_json_is_permanent_with_the_status_only():
    sendgrid = SendGrid(400, b"<html><body>Bad Request</body></html>")
    with pytest.raises(PermanentSendError) as refused:
        sendgrid.sender().send(message())
    assert str(refused.value) == "SendGrid 400"


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors_that_do_not_show_the_key(status):
    body = errors((None, "The provided authorization grant is invalid, expired, or revoked"))
    with pytest.raises(AuthSendError) as refused:
        SendGrid(status, body).sender().send(message())
    assert "authorization grant is invalid" in str(refused.value)
    assert API_KEY not in str(refused.value)


def test_a_429_is_transient_and_waits_as_long_as_retry_after_says():
    sendgrid = SendGrid(429, errors((None, "too many requests")), headers={"Retry-After": "7"})
    with pytest.raises(TransientSendError) as limited:
        sendgrid.sender().send(message())
    assert limited.value.retry_after == 7


def test_a_429_without_retry_after_waits_until_the_rate_limit_reset_time():
    sendgrid = SendGrid(
        429,
        errors((None, "too many requests")),
        headers={
            "X-RateLimit-Limit": "150",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(NOW) + 30),
        },
    )
    with pytest.raises(TransientSendError) as limited:
        sendgrid.sender(clock=lambda: NOW).send(message())
    assert limited.value.retry_after == 30


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status):
    with pytest.raises(TransientSendError, match=f"SendGrid {status}") as failed:
        SendGrid(status, b"upstream trouble").sender().send(message())
    assert failed.value.retry_after is None


def test_a_202_without_x_message_id_is_ambiguous_not_sent_again():
    with pytest.raises(AmbiguousSendError, match="X-Message-Id"):
        SendGrid(202, b"not what SendGrid sends").sender().send(message())


def test_a_read_timeout_after_the_request_went_out_is_ambiguous():
    with pytest.raises(AmbiguousSendError, match="ReadTimeout"):
        SendGrid(raises=lambda r: httpx.ReadTimeout("timed out", request=r)).sender().send(
            message()
        )


def test_a_connection_dropped_before_any_answer_is_ambiguous():
    def drop(request):
        return httpx.RemoteProtocolError("Server disconnected", request=request)

    with pytest.raises(AmbiguousSendError):
        SendGrid(raises=drop).sender().send(message())


@pytest.mark.parametrize(
    "error",
    [
        lambda r: httpx.ConnectError("connection refused", request=r),
        lambda r: httpx.ConnectTimeout("timed out", request=r),
        lambda r: httpx.PoolTimeout("no connection free", request=r),
    ],
)
def test_a_request_that_never_left_is_transient(error):
    with pytest.raises(TransientSendError, match="cannot connect"):
        SendGrid(raises=error).sender().send(message())


def test_the_sender_sets_its_own_timeouts_on_every_request():
    seen = []

    def handler(request):
        seen.append(request.extensions["timeout"])
        return httpx.Response(202, headers={"X-Message-Id": "abc"})

    client = httpx.Client(transport=httpx.MockTransport(handler), timeout=None)
    SendGridSender(API_KEY, "team@shop.example.com", client=client).send(message())
    assert seen == [{"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 5.0}]


def test_the_sender_refuses_an_empty_key_and_a_from_without_an_address():
    with pytest.raises(ValueError):
        SendGridSender("", "team@shop.example.com")
    with pytest.raises(ValueError):
        SendGridSender(API_KEY, "Referral Team")
