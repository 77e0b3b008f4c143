"""WhatsApp Cloud API template messages, against a fake Graph API that answers as Meta's
documentation says (200 with contacts and messages; errors as Graph API error objects,
mostly with HTTP 400 whatever the cause)."""

import json
import logging

import httpx
import pytest

from integrations.messaging import WhatsAppCloudSender, suppress_reason, template_headers
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
)

TOKEN = "EAAG-whatsapp-access-token-secret"
PHONE_NUMBER_ID = "106540352242922"
TO = "+4915112345678"
PREVIEW = "Hi Ada, your friends get 20% off with REF-ADA42."
WAMID = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEjdBQkNERUYwMTIzNDU2Nzg5AA=="
URL = f"https://graph.facebook.com/v21.0/{PHONE_NUMBER_ID}/messages"


def invite(headers=None, to=TO, key="notify:7", channel="whatsapp"):
    if headers is None:
        headers = template_headers("referral_invite", ["Ada", "REF-ADA42"])
    return OutboundMessage(key, channel, to, None, PREVIEW, None, headers)


def accepted():
    return httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": TO, "wa_id": TO[1:]}],
            "messages": [{"id": WAMID, "message_status": "accepted"}],
        },
    )


def graph_error(status, code, message, *, subcode=None, details=None, headers=None):
    """A Graph API error object as the Cloud API returns it."""
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC12"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return httpx.Response(status, json={"error": error}, headers=headers or {})


class FakeGraph:
    def __init__(self, answer=None):
        self.requests = []
        self.answer = answer or (lambda request: accepted())

    def __call__(self, request):
        self.requests.append(request)
        return self.answer(request)

    @property
    def payload(self):
        return json.loads(self.requests[-1].content)


def answering(response):
    return FakeGraph(lambda request: response)


def raising(exc_type):
    def answer(request):
        raise exc_type("simulated", request=request)

    return FakeGraph(answer)


def sender(fake, **options):
    client = httpx.Client(transport=httpx.MockTransport(fake))
    return WhatsAppCloudSender(TOKEN, PHONE_NUMBER_ID, client=client, **options)


def assert_no_personal_data(text):
    for secret in (TO, TO[1:], PREVIEW, "Ada", TOKEN):
        assert secret not in text


# --- what is sent ----------------------------------------------------------------------------


def test_a_template_message_is_posted_as_json_with_the_bearer_token_and_the_wamid_is_the_id():
    fake = FakeGraph()
    result = sender(fake).send(invite())

    assert result.provider_message_id == WAMID
    request = fake.requests[0]
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert fake.payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "referral_invite",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ada"},
                        {"type": "text", "text": "REF-ADA42"},
                    ],
                }
            ],
        },
        "biz_opaque_callback_data": "notify:7",
    }


def test_the_api_version_and_base_url_are_configurable():
    fake = FakeGraph()
    sender(fake, base_url="http://graph.local:8080/", api_version="v22.0").send(invite())
    assert str(fake.requests[0].url) == f"http://graph.local:8080/v22.0/{PHONE_NUMBER_ID}/messages"


def test_named_variables_and_the_template_language_come_from_the_headers():
    fake = FakeGraph()
    headers = template_headers(
        "referral_reminder", {"first_name": "Ada", "code": "REF-ADA42"}, language="pt_BR"
    )
    sender(fake, template_language="en_US").send(invite(headers))
    template = fake.payload["template"]
    assert template["name"] == "referral_reminder"
    assert template["language"] == {"code": "pt_BR"}
    assert template["components"][0]["parameters"] == [
        {"type": "text", "parameter_name": "first_name", "text": "Ada"},
        {"type": "text", "parameter_name": "code", "text": "REF-ADA42"},
    ]


def test_the_default_language_is_the_senders_and_a_template_without_variables_has_no_components():
    fake = FakeGraph()
    sender(fake, template_language="en_US").send(invite(template_headers("referral_thanks")))
    assert fake.payload["template"] == {"name": "referral_thanks", "language": {"code": "en_US"}}


def test_variables_are_made_one_line_since_meta_refuses_new_lines_and_tabs():
    fake = FakeGraph()
    sender(fake).send(invite(template_headers("referral_invite", ["Ada\nLovelace", "a\tb     c"])))
    parameters = fake.payload["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == ["Ada Lovelace", "a b c"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-WhatsApp-Params": '["Ada"]'},
        {"X-WhatsApp-Template": "Referral Invite!"},
        {"X-WhatsApp-Template": "referral_invite", "X-WhatsApp-Params": "[not json"},
        {"X-WhatsApp-Template": "referral_invite", "X-WhatsApp-Params": '"Ada"'},
        {"X-WhatsApp-Template": "referral_invite", "X-WhatsApp-Params": '["Ada", ""]'},
        {"X-WhatsApp-Template": "referral_invite", "X-WhatsApp-Params": '[{"nested": 1}]'},
        {"X-WhatsApp-Template": "referral_invite", "X-WhatsApp-Language": "English"},
    ],
)
def test_a_message_without_a_usable_template_is_refused_before_sending(headers):
    fake = FakeGraph()
    with pytest.raises(PermanentSendError) as caught:
        sender(fake).send(invite(headers))
    assert fake.requests == []
    assert not isinstance(caught.value, AuthSendError)
    assert "Ada" not in str(caught.value)


def test_a_recipient_that_is_not_e164_or_another_channel_is_refused_before_sending():
    fake = FakeGraph()
    with pytest.raises(PermanentSendError):
        sender(fake).send(invite(to="015112345678"))
    with pytest.raises(PermanentSendError):
        sender(fake).send(invite(channel="sms"))
    assert fake.requests == []


def test_the_phone_number_id_is_the_numeric_id_not_a_phone_number():
    with pytest.raises(ValueError):
        WhatsAppCloudSender(TOKEN, "+4915112345678")


def test_the_token_never_shows_in_the_senders_repr():
    assert TOKEN not in repr(sender(FakeGraph()))


# --- what Meta answers -----------------------------------------------------------------------


def test_an_expired_access_token_is_an_auth_error():
    fake = answering(
        graph_error(
            401,
            190,
            "Error validating access token: Session has expired on Friday, 01-Mar-24.",
            subcode=463,
        )
    )
    with pytest.raises(AuthSendError) as caught:
        sender(fake).send(invite())
    assert caught.value.code == 190
    assert TOKEN not in str(caught.value)


def test_a_phone_number_id_that_is_not_ours_is_a_configuration_error():
    fake = answering(
        graph_error(
            400,
            100,
            f"Unsupported post request. Object with ID '{PHONE_NUMBER_ID}' does not exist",
            subcode=33,
        )
    )
    with pytest.raises(AuthSendError):
        sender(fake).send(invite())


def test_a_missing_permission_is_an_auth_error():
    with pytest.raises(AuthSendError):
        sender(answering(graph_error(403, 200, "(#200) Permissions error"))).send(invite())


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit"),
        (130429, "(#130429) Rate limit hit"),
        (131048, "(#131048) Spam rate limit hit"),
        (80007, "(#80007) Rate limit issues"),
        (4, "(#4) Application request limit reached"),
    ],
)
def test_rate_limits_are_transient_although_meta_answers_them_with_http_400(code, message):
    with pytest.raises(TransientSendError) as caught:
        sender(answering(graph_error(400, code, message))).send(invite())
    assert caught.value.code == code
    assert caught.value.retry_after is None


def test_a_rate_limit_waits_as_long_as_retry_after_says():
    fake = answering(
        graph_error(429, 130429, "(#130429) Rate limit hit", headers={"Retry-After": "12"})
    )
    with pytest.raises(TransientSendError) as caught:
        sender(fake).send(invite())
    assert caught.value.retry_after == 12.0


def test_a_business_rate_limit_waits_for_the_estimated_time_to_regain_access():
    usage = {
        "1234567890": [
            {
                "type": "whatsapp_business_management",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 15,
                "estimated_time_to_regain_access": 5,
            }
        ]
    }
    fake = answering(
        graph_error(
            400,
            80007,
            "(#80007) Rate limit issues",
            headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
        )
    )
    with pytest.raises(TransientSendError) as caught:
        sender(fake).send(invite())
    assert caught.value.retry_after == 300.0


@pytest.mark.parametrize(
    ("code", "message", "details"),
    [
        (131026, "(#131026) Message undeliverable", "Unable to deliver message."),
        (131047, "(#131047) Re-engagement message", "More than 24 hours have passed."),
        (132000, "(#132000) Number of parameters does not match", "body: expected 2, got 1"),
        (132001, "(#132001) Template name does not exist in the translation", "not in en"),
        (132016, "(#132016) Template is disabled", "disabled"),
        (132999, "(#132999) A template error from the future", "?"),
        (131009, "(#131009) Parameter value is not valid", f"{TO} is not valid"),
    ],
)
def test_undeliverable_window_and_template_errors_are_permanent(code, message, details):
    with pytest.raises(PermanentSendError) as caught:
        sender(answering(graph_error(400, code, message, details=details))).send(invite())
    assert not isinstance(caught.value, AuthSendError)
    assert caught.value.code == code
    assert suppress_reason(caught.value) is None
    assert_no_personal_data(str(caught.value))


def test_a_recipient_who_stopped_marketing_messages_asks_for_suppression():
    fake = answering(
        graph_error(400, 131050, "(#131050) Unable to deliver the message", details="opted out")
    )
    with pytest.raises(PermanentSendError) as caught:
        sender(fake).send(invite())
    assert suppress_reason(caught.value) == "whatsapp_opt_out"


@pytest.mark.parametrize(
    "response",
    [
        graph_error(500, 1, "An unknown error occurred"),
        graph_error(500, 131000, "(#131000) Something went wrong"),
        graph_error(503, 131016, "(#131016) Service unavailable"),
        graph_error(400, 2, "Service temporarily unavailable"),
        httpx.Response(502, text="<html><body>Bad Gateway</body></html>"),
        httpx.Response(503),
    ],
)
def test_server_trouble_is_transient(response):
    with pytest.raises(TransientSendError):
        sender(answering(response)).send(invite())


def test_an_error_with_a_malformed_body_is_classified_on_its_status():
    with pytest.raises(PermanentSendError) as caught:
        sender(answering(httpx.Response(400, text="oops"))).send(invite())
    assert caught.value.code is None
    with pytest.raises(AuthSendError):
        sender(answering(httpx.Response(401, json={"error": "nope"}))).send(invite())


def test_an_ok_answer_without_a_message_id_is_ambiguous():
    for response in (
        httpx.Response(200, json={"messaging_product": "whatsapp", "messages": []}),
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"messages": [{"message_status": "accepted"}]}),
    ):
        with pytest.raises(AmbiguousSendError):
            sender(answering(response)).send(invite())


def test_no_answer_after_sending_is_ambiguous():
    for exc_type in (httpx.ReadTimeout, httpx.RemoteProtocolError):
        with pytest.raises(AmbiguousSendError):
            sender(raising(exc_type)).send(invite())


def test_failing_to_connect_is_transient():
    for exc_type in (httpx.ConnectError, httpx.ConnectTimeout):
        with pytest.raises(TransientSendError):
            sender(raising(exc_type)).send(invite())


def test_no_phone_number_variable_or_token_reaches_the_logs(caplog):
    caplog.set_level(logging.DEBUG, logger="integrations")
    sender(FakeGraph()).send(invite())
    for response in (
        graph_error(400, 131026, "(#131026) Message undeliverable", details=f"{TO} unreachable"),
        graph_error(401, 190, "Error validating access token"),
        graph_error(400, 131056, "(#131056) pair rate limit hit"),
    ):
        with pytest.raises(SendError):
            sender(answering(response)).send(invite())
    assert caplog.records
    assert_no_personal_data(caplog.text)
