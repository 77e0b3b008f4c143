"""PostmarkSender against an httpx.MockTransport that answers as Postmark's documentation
says: JSON with ErrorCode (0 = accepted) and Message, 401 for a bad token, 422 with the
error code for everything it refuses."""

import json

import httpx
import pytest

from integrations.mail.postmark import PostmarkSender, metadata_key
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
)
from referral.unsubscribe import unsubscribe_headers

TOKEN = "8e4cb1a0-4f6d-4b4e-9c1e-6a3c0d8a2f11"
UNSUBSCRIBE = "https://refer.example.com/u/7.email.Zm9vYmFyYmF6cXV4cXV1eA"
MESSAGE_ID = "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
OK = {
    "To": "ada@example.com",
    "SubmittedAt": "2026-11-22T10:15:36.0551232-05:00",
    "MessageID": MESSAGE_ID,
    "ErrorCode": 0,
    "Message": "OK",
}


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


class Postmark:
    def __init__(self, status=200, body=None, headers=None, raises=None):
        self.status, self.headers, self.raises = status, headers or {}, raises
        self.body = OK if body is None else body
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        if self.raises is not None:
            raise self.raises(request)
        content = json.dumps(self.body).encode() if isinstance(self.body, dict) else self.body
        headers = {"Content-Type": "application/json", **self.headers}
        return httpx.Response(self.status, content=content, headers=headers)

    def sender(self, **options):
        client = httpx.Client(transport=httpx.MockTransport(self))
        return PostmarkSender(
            TOKEN, "Referral Team <team@shop.example.com>", client=client, **options
        )


def refusal(code, text):
    return {"ErrorCode": code, "Message": text}


def test_an_accepted_message_returns_postmarks_message_id():
    assert Postmark().sender().send(message()).provider_message_id == MESSAGE_ID


def test_the_request_posts_to_email_with_the_server_token_and_the_documented_fields():
    postmark = Postmark()
    postmark.sender().send(message())
    [request] = postmark.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.postmarkapp.com/email"
    assert request.headers["X-Postmark-Server-Token"] == TOKEN
    assert request.headers["Accept"] == "application/json"
    body = json.loads(request.content)
    assert body["From"] == "Referral Team <team@shop.example.com>"
    assert body["To"] == "ada@example.com"
    assert body["Subject"] == "You earned a reward"
    assert body["TextBody"] == "Hi Ada, you earned a reward."
    assert '<p style="color: #333;">' in body["HtmlBody"]
    assert body["MessageStream"] == "outbound"
    assert body["Metadata"] == {"idempotency_key": "notify:grant:42"}
    assert body["Headers"] == [
        {"Name": "List-Unsubscribe", "Value": f"<{UNSUBSCRIBE}>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]
    assert "TrackOpens" not in body and "TrackLinks" not in body


def test_the_message_stream_and_tracking_are_configurable():
    postmark = Postmark()
    postmark.sender(message_stream="broadcast", track_opens=True, track_links="HtmlOnly").send(
        message()
    )
    body = json.loads(postmark.requests[0].content)
    assert body["MessageStream"] == "broadcast"
    assert body["TrackOpens"] is True
    assert body["TrackLinks"] == "HtmlOnly"


def test_an_idempotency_key_too_long_for_postmark_metadata_goes_as_its_digest():
    key = "notify:" + "x" * 120
    postmark = Postmark()
    postmark.sender().send(message(idempotency_key=key))
    sent = json.loads(postmark.requests[0].content)["Metadata"]["idempotency_key"]
    assert sent == metadata_key(key)
    assert sent.startswith("sha256:") and len(sent) <= 80


def test_an_email_without_the_unsubscribe_headers_never_reaches_postmark():
    postmark = Postmark()
    with pytest.raises(PermanentSendError, match="List-Unsubscribe"):
        postmark.sender().send(message(headers={}))
    assert postmark.requests == []


def test_an_inactive_recipient_is_permanent_and_the_reason_does_not_quote_the_address():
    text = (
        "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
        "addresses: ada@example.com. Inactive recipients are ones that have generated a hard "
        "bounce, a spam complaint, or a manual suppression."
    )
    with pytest.raises(PermanentSendError) as refused:
        Postmark(422, refusal(406, text)).sender().send(message())
    reason = str(refused.value)
    assert not isinstance(refused.value, AuthSendError)
    assert reason.startswith("Postmark 422 ErrorCode 406: You tried to send to recipient(s)")
    assert "ada@example.com" not in reason
    assert "<address>" in reason


def test_an_invalid_request_is_permanent_with_postmarks_message():
    body = refusal(300, "Invalid 'From' address: 'team@shop.example.com'.")
    with pytest.raises(PermanentSendError) as refused:
        Postmark(422, body).sender().send(message())
    assert str(refused.value) == "Postmark 422 ErrorCode 300: Invalid 'From' address: '<address>'."


def test_a_bad_server_token_is_an_auth_error_that_does_not_show_the_token():
    body = refusal(
        10,
        "The Server Token you provided in the X-Postmark-Server-Token request "
        "header was invalid. Please verify that you are using a valid token.",
    )
    with pytest.raises(AuthSendError, match="ErrorCode 10") as refused:
        Postmark(401, body).sender().send(message())
    assert TOKEN not in str(refused.value)


@pytest.mark.parametrize("code", [400, 401, 405, 413])
def test_an_account_that_cannot_send_is_an_auth_error(code):
    with pytest.raises(AuthSendError, match=f"ErrorCode {code}"):
        Postmark(422, refusal(code, "Sender signature not confirmed")).sender().send(message())


def test_maintenance_is_transient():
    with pytest.raises(TransientSendError, match="ErrorCode 100"):
        Postmark(422, refusal(100, "Maintenance")).sender().send(message())


def test_a_429_is_transient_and_honours_retry_after_when_postmark_sends_one():
    with pytest.raises(TransientSendError) as limited:
        Postmark(429, refusal(429, "Rate limit exceeded")).sender().send(message())
    assert limited.value.retry_after is None
    with pytest.raises(TransientSendError) as limited:
        Postmark(429, refusal(429, "Rate limit exceeded"), {"Retry-After": "12"}).sender().send(
            message()
        )
    assert limited.value.retry_after == 12


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_transient_even_with_a_body_that_is_not_json(status):
    with pytest.raises(TransientSendError, match=f"Postmark {status}"):
        Postmark(status, b"<html>Service Unavailable</html>").sender().send(message())


def test_a_403_html_page_from_the_network_layer_is_permanent_and_says_so():
    with pytest.raises(PermanentSendError, match=r"403 \(not a Postmark API answer\)"):
        Postmark(403, b"<html><center><h1>403 Forbidden</h1></center></html>").sender().send(
            message()
        )


def test_a_200_whose_body_cannot_be_read_is_ambiguous():
    with pytest.raises(AmbiguousSendError):
        Postmark(200, b'{"To": "ada@example.com", "Message').sender().send(message())


def test_a_200_without_a_message_id_is_ambiguous():
    with pytest.raises(AmbiguousSendError):
        Postmark(200, {"ErrorCode": 0, "Message": "OK"}).sender().send(message())


def test_a_read_timeout_after_the_request_went_out_is_ambiguous():
    with pytest.raises(AmbiguousSendError, match="ReadTimeout"):
        Postmark(raises=lambda r: httpx.ReadTimeout("timed out", request=r)).sender().send(
            message()
        )


def test_a_connect_error_is_transient():
    with pytest.raises(TransientSendError, match="cannot connect"):
        Postmark(raises=lambda r: httpx.ConnectError("refused", request=r)).sender().send(message())


def test_the_sender_refuses_an_empty_token():
    with pytest.raises(ValueError):
        PostmarkSender(" ", "team@shop.example.com")
