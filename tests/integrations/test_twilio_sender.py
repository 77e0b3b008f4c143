"""Twilio SMS and WhatsApp through Twilio, against a fake Messages API that answers as
Twilio's documentation says (201 with the message resource; errors as
{"code", "message", "more_info", "status"})."""

import base64
import json
import logging
from urllib.parse import parse_qs

import httpx
import pytest

from integrations.messaging import (
    TwilioSmsSender,
    TwilioWhatsAppSender,
    provider_code,
    suppress_reason,
    template_headers,
)
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
)

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "tw-auth-token-very-secret"
FROM = "+15005550006"
TO = "+14155550123"
BODY = "Hi Ada, your friends get 20% off with REF-ADA42. Reply STOP to opt out."
SID = "SM" + "fedcba9876543210" * 2
URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def sms(to=TO, text=BODY, key="notify:1", channel="sms", headers=None):
    return OutboundMessage(key, channel, to, None, text, None, headers or {})


def message_resource(**fields):
    """A Message resource as Twilio returns it on 201 Created."""
    return {
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": BODY,
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": None,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": FROM,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": SID,
        "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{SID}/Media.json"},
        "to": TO,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{SID}.json",
        **fields,
    }


def twilio_error(status, code, message, **headers):
    """An error answer as Twilio documents it. Twilio's messages quote the number."""
    return httpx.Response(
        status,
        json={
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        headers=headers,
    )


class FakeTwilio:
    """Records every request; answers with `answer(request)`."""

    def __init__(self, answer=None):
        self.requests = []
        self.answer = answer or (lambda request: httpx.Response(201, json=message_resource()))

    def __call__(self, request):
        self.requests.append(request)
        return self.answer(request)

    @property
    def form(self):
        return {k: v[0] for k, v in parse_qs(self.requests[-1].content.decode()).items()}


def sender(fake, cls=TwilioSmsSender, **options):
    options.setdefault("from_number", FROM)
    client = httpx.Client(transport=httpx.MockTransport(fake))
    return cls(ACCOUNT, TOKEN, client=client, **options)


def answering(response):
    return FakeTwilio(lambda request: response)


def raising(exc_type):
    def answer(request):
        raise exc_type("simulated", request=request)

    return FakeTwilio(answer)


def assert_no_personal_data(text):
    for secret in (TO, TO[1:], BODY, "Ada", TOKEN):
        assert secret not in text


# --- what is sent ----------------------------------------------------------------------------


def test_a_message_is_posted_form_encoded_with_basic_auth_and_the_sid_becomes_the_provider_id():
    fake = FakeTwilio()
    result = sender(fake, status_callback="https://refer.example.com/hooks/twilio").send(sms())

    assert result.provider_message_id == SID
    request = fake.requests[0]
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert fake.form == {
        "To": TO,
        "From": FROM,
        "Body": BODY,
        "StatusCallback": "https://refer.example.com/hooks/twilio",
    }


def test_a_messaging_service_can_send_instead_of_a_from_number():
    fake = FakeTwilio()
    sid = "MG" + "1" * 32
    sender(fake, from_number=None, messaging_service_sid=sid).send(sms())
    assert fake.form == {"To": TO, "Body": BODY, "MessagingServiceSid": sid}


def test_an_api_key_authenticates_instead_of_the_account_token_and_the_url_keeps_the_account():
    fake = FakeTwilio()
    sender(fake, api_key_sid="SK" + "2" * 32).send(sms())
    request = fake.requests[0]
    assert str(request.url) == URL
    expected = base64.b64encode(f"{'SK' + '2' * 32}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_every_request_carries_the_senders_timeouts_even_on_an_injected_client():
    fake = FakeTwilio()
    sender(fake).send(sms())
    timeout = fake.requests[0].extensions["timeout"]
    assert timeout["connect"] == 5.0
    assert timeout["read"] == 10.0


def test_a_sender_needs_a_from_number_or_a_messaging_service():
    with pytest.raises(ValueError):
        TwilioSmsSender(ACCOUNT, TOKEN)
    with pytest.raises(ValueError):
        TwilioSmsSender(ACCOUNT, "", from_number=FROM)
    with pytest.raises(ValueError):
        TwilioSmsSender(ACCOUNT, TOKEN, from_number="0155 555")


def test_the_token_never_shows_in_the_senders_repr():
    assert TOKEN not in repr(sender(FakeTwilio()))


def test_a_recipient_that_is_not_e164_is_refused_without_calling_twilio():
    fake = FakeTwilio()
    with pytest.raises(PermanentSendError) as caught:
        sender(fake).send(sms(to="0155 5555 0123"))
    assert fake.requests == []
    assert "0155" not in str(caught.value)


def test_a_message_for_another_channel_is_refused():
    fake = FakeTwilio()
    with pytest.raises(PermanentSendError):
        sender(fake).send(sms(channel="email"))
    assert fake.requests == []


def test_a_body_over_twilios_1600_characters_is_refused_before_sending():
    fake = FakeTwilio()
    with pytest.raises(PermanentSendError) as caught:
        sender(fake).send(sms(text="x" * 1601))
    assert provider_code(caught.value) == 21617
    assert fake.requests == []


# --- what Twilio answers ---------------------------------------------------------------------


def test_a_recipient_who_replied_stop_is_permanent_and_asks_for_suppression():
    fake = answering(twilio_error(400, 21610, f"Attempt to send to unsubscribed recipient {TO}"))
    with pytest.raises(PermanentSendError) as caught:
        sender(fake).send(sms())
    error = caught.value
    assert not isinstance(error, AuthSendError)
    assert provider_code(error) == 21610
    assert error.code == 21610
    assert suppress_reason(error) == "sms_stop"
    assert error.status == 400
    assert "21610" in str(error)
    assert_no_personal_data(str(error))


@pytest.mark.parametrize(
    ("code", "message", "suppress"),
    [
        (21211, f"The 'To' number {TO} is not a valid phone number.", "invalid_number"),
        (21614, f"'To' number {TO} is not a valid mobile number", "not_mobile"),
        (21408, f"Permission to send an SMS has not been enabled for the region of {TO}", None),
        (21612, f"The 'To' phone number: {TO}, is not currently reachable", None),
        (21999, "Some code this client has never heard of", None),
    ],
)
def test_refusals_of_this_message_are_permanent_and_carry_twilios_code(code, message, suppress):
    with pytest.raises(PermanentSendError) as caught:
        sender(answering(twilio_error(400, code, message))).send(sms())
    assert not isinstance(caught.value, AuthSendError)
    assert caught.value.code == code
    assert suppress_reason(caught.value) == suppress
    assert_no_personal_data(str(caught.value))


def test_wrong_credentials_are_an_auth_error():
    fake = answering(
        httpx.Response(
            401,
            json={
                "code": 20003,
                "detail": "Your AccountSid or AuthToken was incorrect.",
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            },
            headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
        )
    )
    with pytest.raises(AuthSendError) as caught:
        sender(fake).send(sms())
    assert caught.value.code == 20003
    assert TOKEN not in str(caught.value)


def test_a_forbidden_answer_without_a_body_is_an_auth_error_too():
    with pytest.raises(AuthSendError):
        sender(answering(httpx.Response(403))).send(sms())


def test_a_from_number_that_is_not_ours_stops_every_message_like_bad_credentials():
    fake = answering(twilio_error(400, 21212, f"The 'From' number {FROM} is not valid"))
    with pytest.raises(AuthSendError) as caught:
        sender(fake).send(sms())
    assert caught.value.code == 21212


def test_too_many_requests_is_transient_with_the_retry_after_wait():
    fake = answering(twilio_error(429, 20429, "Too Many Requests", **{"Retry-After": "7"}))
    with pytest.raises(TransientSendError) as caught:
        sender(fake).send(sms())
    assert caught.value.retry_after == 7.0
    assert caught.value.code == 20429


def test_a_retry_after_given_as_a_date_becomes_seconds_and_a_missing_one_is_none():
    far = "Wed, 21 Oct 2099 07:28:00 GMT"
    with pytest.raises(TransientSendError) as caught:
        sender(answering(twilio_error(429, 20429, "x", **{"Retry-After": far}))).send(sms())
    assert caught.value.retry_after == 24 * 3600.0  # capped at a day
    with pytest.raises(TransientSendError) as caught:
        sender(answering(twilio_error(429, 20429, "Too Many Requests"))).send(sms())
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    "response",
    [
        twilio_error(500, 20500, "Internal Server Error"),
        httpx.Response(503, text="<html><body>Service Unavailable</body></html>"),
        httpx.Response(502, text="Bad Gateway"),
        twilio_error(400, 21730, "System under maintenance. Please try again later."),
    ],
)
def test_server_trouble_is_transient(response):
    with pytest.raises(TransientSendError):
        sender(answering(response)).send(sms())


def test_a_created_answer_without_a_sid_is_ambiguous_since_the_message_exists():
    for response in (
        httpx.Response(201, text="<Response><Message/></Response>"),
        httpx.Response(201, json=message_resource(sid=None)),
        httpx.Response(201, content=b'{"sid": "SM12'),
    ):
        with pytest.raises(AmbiguousSendError):
            sender(answering(response)).send(sms())


def test_an_error_answer_with_a_malformed_body_is_classified_on_its_status():
    with pytest.raises(PermanentSendError) as caught:
        sender(answering(httpx.Response(400, text="not json"))).send(sms())
    assert caught.value.code is None


def test_no_answer_after_sending_is_ambiguous_never_a_plain_failure():
    for exc_type in (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError):
        with pytest.raises(AmbiguousSendError):
            sender(raising(exc_type)).send(sms())


def test_failing_to_connect_is_transient():
    for exc_type in (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
        with pytest.raises(TransientSendError):
            sender(raising(exc_type)).send(sms())


def test_no_phone_number_body_or_token_reaches_the_logs(caplog):
    caplog.set_level(logging.DEBUG, logger="integrations")
    sender(FakeTwilio()).send(sms())
    for response in (
        twilio_error(400, 21610, f"Attempt to send to unsubscribed recipient {TO}"),
        twilio_error(401, 20003, "Authenticate"),
        twilio_error(429, 20429, "Too Many Requests"),
    ):
        with pytest.raises(SendError):
            sender(answering(response)).send(sms())
    assert caplog.records, "the outcomes are logged, by idempotency key"
    assert_no_personal_data(caplog.text)
    assert "notify:1" in caplog.text


# --- WhatsApp through Twilio -----------------------------------------------------------------


def test_whatsapp_through_twilio_uses_whatsapp_addresses_on_both_ends():
    fake = FakeTwilio()
    result = sender(fake, TwilioWhatsAppSender).send(sms(channel="whatsapp"))
    assert result.provider_message_id == SID
    assert fake.form["To"] == f"whatsapp:{TO}"
    assert fake.form["From"] == f"whatsapp:{FROM}"
    assert fake.form["Body"] == BODY


def test_a_whatsapp_address_may_already_carry_its_prefix():
    fake = FakeTwilio()
    whatsapp = sender(fake, TwilioWhatsAppSender, from_number=f"whatsapp:{FROM}")
    whatsapp.send(sms(to=f"whatsapp:{TO}", channel="whatsapp"))
    assert fake.form["To"] == f"whatsapp:{TO}"
    assert fake.form["From"] == f"whatsapp:{FROM}"


def test_a_content_template_goes_as_content_sid_with_numbered_variables():
    fake = FakeTwilio()
    content_sid = "HX" + "ab" * 16
    headers = template_headers(content_sid, ["Ada", "REF-ADA42"])
    sender(fake, TwilioWhatsAppSender).send(sms(channel="whatsapp", headers=headers))
    form = fake.form
    assert form["ContentSid"] == content_sid
    assert json.loads(form["ContentVariables"]) == {"1": "Ada", "2": "REF-ADA42"}
    assert "Body" not in form


def test_the_sms_sender_does_not_send_whatsapp_messages():
    fake = FakeTwilio()
    with pytest.raises(PermanentSendError):
        sender(fake).send(sms(channel="whatsapp"))
    assert fake.requests == []
