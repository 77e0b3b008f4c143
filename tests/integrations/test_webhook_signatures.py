"""Webhook signature checks: each provider's scheme, its clock window, secret rotation, and
garbled headers as a refusal (SignatureError) rather than a crash.

Expected signatures are computed here with hmac, or with the `standardwebhooks` package as
an independent signer, never with the code under test; the Twilio and Standard Webhooks
cases include vectors the providers publish.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from integrations.webhooks.errors import SignatureError
from integrations.webhooks.signatures import (
    verify_hubspot_v3,
    verify_standard,
    verify_stripe,
    verify_twilio,
)

NOW = 1_760_000_000.0
SENT = int(NOW)
BODY = b'[{"eventId":1,"objectId":123,"propertyName":"nps_score","propertyValue":"9"}]'


def b64_hmac(key: bytes, message: bytes, digest=hashlib.sha256) -> str:
    return base64.b64encode(hmac.new(key, message, digest).digest()).decode()


def reason(excinfo) -> str:
    return excinfo.value.reason


# --- HubSpot v3 -----------------------------------------------------------------------------

HS_SECRET = "hubspot-client-secret-1"
HS_OLD_SECRET = "hubspot-client-secret-0"
HS_URI = "https://refer.example.com/webhooks/hubspot?portal=62515"


def hubspot_signature(secret, *, sent_ms, method="POST", uri=HS_URI, body=BODY):
    return b64_hmac(secret.encode(), method.encode() + uri.encode() + body + str(sent_ms).encode())


def check_hubspot(*, signature, timestamp, body=BODY, uri=HS_URI, secrets=(HS_SECRET,), now=NOW):
    verify_hubspot_v3(
        method="POST",
        uri=uri,
        body=body,
        timestamp=timestamp,
        signature=signature,
        secrets=list(secrets),
        now=now,
    )


def test_hubspot_accepts_its_v3_signature_with_a_millisecond_timestamp():
    sent_ms = SENT * 1000 + 123
    check_hubspot(signature=hubspot_signature(HS_SECRET, sent_ms=sent_ms), timestamp=str(sent_ms))


def test_hubspot_refuses_a_tampered_body():
    sent_ms = SENT * 1000
    with pytest.raises(SignatureError) as excinfo:
        check_hubspot(
            signature=hubspot_signature(HS_SECRET, sent_ms=sent_ms),
            timestamp=str(sent_ms),
            body=BODY.replace(b'"9"', b'"10"'),
        )
    assert reason(excinfo) == "no signature matched"


def test_hubspot_refuses_a_signature_made_with_another_secret():
    sent_ms = SENT * 1000
    with pytest.raises(SignatureError):
        check_hubspot(signature=hubspot_signature("nope", sent_ms=sent_ms), timestamp=str(sent_ms))


def test_hubspot_accepts_the_second_secret_while_one_is_being_rotated():
    sent_ms = SENT * 1000
    check_hubspot(
        signature=hubspot_signature(HS_SECRET, sent_ms=sent_ms),
        timestamp=str(sent_ms),
        secrets=(HS_OLD_SECRET, HS_SECRET),
    )


@pytest.mark.parametrize("offset", [-299, 299])
def test_hubspot_accepts_timestamps_within_five_minutes_either_way(offset):
    sent_ms = (SENT + offset) * 1000
    check_hubspot(signature=hubspot_signature(HS_SECRET, sent_ms=sent_ms), timestamp=str(sent_ms))


@pytest.mark.parametrize("offset", [-301, 301])
def test_hubspot_refuses_old_and_future_dated_requests(offset):
    sent_ms = (SENT + offset) * 1000
    with pytest.raises(SignatureError) as excinfo:
        check_hubspot(
            signature=hubspot_signature(HS_SECRET, sent_ms=sent_ms), timestamp=str(sent_ms)
        )
    assert reason(excinfo) == "timestamp outside tolerance"


def test_hubspot_signs_the_uri_with_its_listed_escapes_decoded_and_only_those():
    received = (
        "https://refer.example.com/hooks/hub%3Aspot?next=%2Fa%2Cb%3Bc&who=ada%40x&q=a%20b%253A"
    )
    signed = "https://refer.example.com/hooks/hub:spot?next=/a,b;c&who=ada@x&q=a%20b%253A"
    sent_ms = SENT * 1000
    check_hubspot(
        signature=hubspot_signature(HS_SECRET, sent_ms=sent_ms, uri=signed),
        timestamp=str(sent_ms),
        uri=received,
    )


def test_hubspot_decodes_all_twelve_documented_escapes():
    received = "https://x.example/p?v=%3A%2F%3F%40%21%24%27%28%29%2A%2C%3B"
    signed = "https://x.example/p?v=:/?@!$'()*,;"
    sent_ms = SENT * 1000
    check_hubspot(
        signature=hubspot_signature(HS_SECRET, sent_ms=sent_ms, uri=signed),
        timestamp=str(sent_ms),
        uri=received,
    )


@pytest.mark.parametrize(
    ("signature", "timestamp", "expected"),
    [
        (None, str(SENT * 1000), "missing signature header"),
        ("", str(SENT * 1000), "missing signature header"),
        ("c2ln", None, "missing timestamp header"),
        ("c2ln", "soon", "malformed timestamp"),
        ("c2ln", "1.76e12", "malformed timestamp"),
        ("c2ln", "-1760000000000", "malformed timestamp"),
        ("c2ln", "\uff11\uff17\uff16\uff10", "malformed timestamp"),  # fullwidth digits
        ("not base64 at all!!", str(SENT * 1000), "no signature matched"),
        ("sïgnätüre", str(SENT * 1000), "no signature matched"),
    ],
)
def test_hubspot_refuses_missing_and_malformed_headers(signature, timestamp, expected):
    with pytest.raises(SignatureError) as excinfo:
        check_hubspot(signature=signature, timestamp=timestamp)
    assert reason(excinfo) == expected


# --- Stripe ---------------------------------------------------------------------------------

ST_SECRET = "whsec_stripe_current_0123456789abcdef"
ST_OLD_SECRET = "whsec_stripe_previous_0123456789abcd"
ST_BODY = b'{"id":"evt_1","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}'


def stripe_v1(secret, sent, body=ST_BODY) -> str:
    # Stripe keys the HMAC with the whole endpoint secret string, whsec_ prefix included.
    return hmac.new(secret.encode(), f"{sent}.".encode() + body, hashlib.sha256).hexdigest()


def check_stripe(header, *, body=ST_BODY, secrets=(ST_SECRET,), now=NOW):
    verify_stripe(body=body, header=header, secrets=list(secrets), now=now)


def test_stripe_accepts_its_t_v1_header():
    check_stripe(f"t={SENT},v1={stripe_v1(ST_SECRET, SENT)}")


def test_stripe_accepts_any_of_several_v1_signatures_and_ignores_v0():
    header = (
        f"t={SENT},v1={stripe_v1('whsec_rolled_away', SENT)},"
        f"v1={stripe_v1(ST_SECRET, SENT)},v0={stripe_v1('test', SENT)}"
    )
    check_stripe(header)


def test_stripe_a_v0_signature_alone_is_not_enough():
    with pytest.raises(SignatureError) as excinfo:
        check_stripe(f"t={SENT},v0={stripe_v1(ST_SECRET, SENT)}")
    assert reason(excinfo) == "malformed signature header"


def test_stripe_refuses_a_tampered_body():
    with pytest.raises(SignatureError) as excinfo:
        check_stripe(f"t={SENT},v1={stripe_v1(ST_SECRET, SENT)}", body=ST_BODY + b" ")
    assert reason(excinfo) == "no signature matched"


def test_stripe_refuses_a_signature_made_with_another_secret():
    with pytest.raises(SignatureError):
        check_stripe(f"t={SENT},v1={stripe_v1('whsec_someone_else', SENT)}")


def test_stripe_refuses_a_signature_whose_timestamp_was_edited():
    # The timestamp is signed: moving t forward to dodge the window breaks the signature.
    old = SENT - 3600
    with pytest.raises(SignatureError) as excinfo:
        check_stripe(f"t={SENT},v1={stripe_v1(ST_SECRET, old)}")
    assert reason(excinfo) == "no signature matched"


def test_stripe_accepts_the_second_secret_while_one_is_being_rotated():
    check_stripe(f"t={SENT},v1={stripe_v1(ST_SECRET, SENT)}", secrets=(ST_OLD_SECRET, ST_SECRET))


@pytest.mark.parametrize("offset", [-299, 299])
def test_stripe_accepts_timestamps_within_the_tolerance_either_way(offset):
    sent = SENT + offset
    check_stripe(f"t={sent},v1={stripe_v1(ST_SECRET, sent)}")


@pytest.mark.parametrize("offset", [-301, 301])
def test_stripe_refuses_old_and_future_dated_events(offset):
    sent = SENT + offset
    with pytest.raises(SignatureError) as excinfo:
        check_stripe(f"t={sent},v1={stripe_v1(ST_SECRET, sent)}")
    assert reason(excinfo) == "timestamp outside tolerance"


def test_stripe_tolerance_can_be_narrowed():
    sent = SENT - 60
    with pytest.raises(SignatureError):
        verify_stripe(
            body=ST_BODY,
            header=f"t={sent},v1={stripe_v1(ST_SECRET, sent)}",
            secrets=[ST_SECRET],
            now=NOW,
            tolerance=30,
        )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "missing signature header"),
        ("", "missing signature header"),
        ("v1=abc", "missing timestamp header"),
        (f"t={SENT}", "malformed signature header"),
        (f"t={SENT},v1=", "malformed signature header"),
        ("t=yesterday,v1=abc", "malformed timestamp"),
        ("t=,v1=abc", "malformed timestamp"),
        (f"t={SENT}.5,v1=abc", "malformed timestamp"),
        (f"t={SENT},t={SENT},v1=abc", "malformed signature header"),
        (f"t={SENT},garbage,v1=abc", "malformed signature header"),
        (f"t={SENT},=abc", "malformed signature header"),
        (f"t={SENT},v1=zz-not-hex", "no signature matched"),
        (f"t={SENT},v1=ÿ", "no signature matched"),
    ],
)
def test_stripe_refuses_missing_and_malformed_headers(header, expected):
    with pytest.raises(SignatureError) as excinfo:
        check_stripe(header)
    assert reason(excinfo) == expected


def test_stripe_tolerates_spaces_and_a_trailing_comma_in_the_header():
    check_stripe(f" t={SENT} , v1={stripe_v1(ST_SECRET, SENT)} ,")


# --- Standard Webhooks ----------------------------------------------------------------------

SW_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-key-32-bytes!!").decode()
SW_OLD_SECRET = "whsec_" + base64.b64encode(b"the-previous-key-of-some-length!").decode()
SW_BODY = b'{"type":"purchase","data":{"order":"o-1","total":"12.50"}}'


def standard_headers(secret=SW_SECRET, *, sent=SENT, msg_id="msg_2bVxL", body=SW_BODY):
    # The reference implementation signs; only the verifying side is ours.
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(sent, tz=UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(sent), "webhook-signature": signature}


def check_standard(headers, *, body=SW_BODY, secrets=(SW_SECRET,), now=NOW):
    return verify_standard(body=body, headers=headers, secrets=list(secrets), now=now)


def test_standard_webhooks_published_example_verifies():
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert (
        verify_standard(
            body=b'{"test": 2432232314}',
            headers=headers,
            secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            now=1614265330,
        )
        == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    )


def test_standard_webhooks_returns_the_webhook_id_to_deduplicate_on():
    assert check_standard(standard_headers(msg_id="msg_abc")) == "msg_abc"


def test_standard_webhooks_header_names_are_case_insensitive():
    headers = {name.title(): value for name, value in standard_headers().items()}
    assert "Webhook-Signature" in headers
    assert check_standard(headers) == "msg_2bVxL"


def test_standard_webhooks_accepts_any_v1_entry_and_skips_other_versions():
    good = standard_headers()["webhook-signature"]
    headers = standard_headers()
    headers["webhook-signature"] = f"v1a,AAAA v1,{'A' * 44} {good} v2,xyz"
    check_standard(headers)


def test_standard_webhooks_refuses_a_tampered_body():
    with pytest.raises(SignatureError) as excinfo:
        check_standard(standard_headers(), body=SW_BODY.replace(b"12.50", b"99.50"))
    assert reason(excinfo) == "no signature matched"


def test_standard_webhooks_refuses_a_different_webhook_id_with_the_same_signature():
    headers = standard_headers()
    headers["webhook-id"] = "msg_replayed_under_a_new_id"
    with pytest.raises(SignatureError):
        check_standard(headers)


def test_standard_webhooks_refuses_a_signature_made_with_another_secret():
    other = "whsec_" + base64.b64encode(b"another-key-entirely-32-bytes!!").decode()
    with pytest.raises(SignatureError):
        check_standard(standard_headers(other))


def test_standard_webhooks_accepts_the_second_secret_while_one_is_being_rotated():
    check_standard(standard_headers(SW_SECRET), secrets=(SW_OLD_SECRET, SW_SECRET))


def test_standard_webhooks_signatures_of_both_secrets_may_be_sent_during_rotation():
    old = standard_headers(SW_OLD_SECRET)["webhook-signature"]
    new = standard_headers(SW_SECRET)["webhook-signature"]
    headers = standard_headers()
    headers["webhook-signature"] = f"{old} {new}"
    check_standard(headers, secrets=(SW_SECRET,))


@pytest.mark.parametrize("offset", [-299, 299])
def test_standard_webhooks_accepts_timestamps_within_the_tolerance_either_way(offset):
    check_standard(standard_headers(sent=SENT + offset))


@pytest.mark.parametrize("offset", [-301, 301])
def test_standard_webhooks_refuses_old_and_future_dated_messages(offset):
    with pytest.raises(SignatureError) as excinfo:
        check_standard(standard_headers(sent=SENT + offset))
    assert reason(excinfo) == "timestamp outside tolerance"


def test_standard_webhooks_verifies_bodies_that_are_not_utf8():
    body = b"\xff\xfe binary \x00 payload"
    key = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    signature = b64_hmac(key, f"msg_bin.{SENT}.".encode() + body)
    headers = {"webhook-id": "msg_bin", "webhook-timestamp": str(SENT)}
    headers["webhook-signature"] = f"v1,{signature}"
    assert check_standard(headers, body=body) == "msg_bin"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"webhook-id": None}, "missing webhook id header"),
        ({"webhook-id": " "}, "missing webhook id header"),
        ({"webhook-timestamp": None}, "missing timestamp header"),
        ({"webhook-signature": None}, "missing signature header"),
        ({"webhook-signature": "   "}, "missing signature header"),
        ({"webhook-timestamp": "later"}, "malformed timestamp"),
        ({"webhook-timestamp": "1760000000.0"}, "malformed timestamp"),
        ({"webhook-timestamp": "-5"}, "malformed timestamp"),
        ({"webhook-signature": "v1"}, "no signature matched"),
        ({"webhook-signature": "v1,"}, "no signature matched"),
        ({"webhook-signature": "v1,%%%not-base64%%%"}, "no signature matched"),
        ({"webhook-signature": "v1,YWJj=="}, "no signature matched"),
        ({"webhook-signature": "v1,,,"}, "no signature matched"),
        ({"webhook-signature": "v1,ÿÿÿÿ"}, "no signature matched"),
    ],
)
def test_standard_webhooks_refuses_missing_and_malformed_headers(change, expected):
    headers = standard_headers()
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(SignatureError) as excinfo:
        check_standard(headers)
    assert reason(excinfo) == expected


@pytest.mark.parametrize(
    "secret",
    ["", "whsec_", "whsec_***not base64***", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_ÿÿ"],
)
def test_standard_webhooks_a_malformed_secret_is_a_configuration_error(secret):
    with pytest.raises(ValueError) as excinfo:
        check_standard(standard_headers(), secrets=(secret,))
    assert not isinstance(excinfo.value, SignatureError)


def test_standard_webhooks_accepts_a_secret_without_base64_padding():
    unpadded = SW_SECRET.rstrip("=")
    assert unpadded != SW_SECRET
    check_standard(standard_headers(SW_SECRET), secrets=(unpadded,))


# --- Twilio ---------------------------------------------------------------------------------

# The example in Twilio's security documentation and its SDK's tests.
TW_TOKEN = "12345"
TW_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TW_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
TW_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def twilio_signature(token, url, params) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params))
    return b64_hmac(token.encode(), signed.encode(), hashlib.sha1)


def check_twilio(signature, *, url=TW_URL, params=TW_PARAMS, token=TW_TOKEN):
    verify_twilio(url=url, params=params, signature=signature, auth_token=token)


def test_twilio_published_example_verifies():
    assert twilio_signature(TW_TOKEN, TW_URL, TW_PARAMS) == TW_SIGNATURE
    check_twilio(TW_SIGNATURE)


def test_twilio_parameter_order_in_the_request_does_not_matter():
    check_twilio(TW_SIGNATURE, params=dict(reversed(TW_PARAMS.items())))


def test_twilio_refuses_a_tampered_parameter():
    with pytest.raises(SignatureError) as excinfo:
        check_twilio(TW_SIGNATURE, params={**TW_PARAMS, "Digits": "9999"})
    assert reason(excinfo) == "no signature matched"


def test_twilio_refuses_an_added_parameter():
    with pytest.raises(SignatureError):
        check_twilio(TW_SIGNATURE, params={**TW_PARAMS, "Body": "STOP"})


def test_twilio_refuses_another_url():
    with pytest.raises(SignatureError):
        check_twilio(TW_SIGNATURE, url=TW_URL.replace("foo=1", "foo=2"))


def test_twilio_refuses_a_signature_made_with_another_token():
    with pytest.raises(SignatureError):
        check_twilio(twilio_signature("54321", TW_URL, TW_PARAMS))


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # Twilio's SDK vectors: it signs with or without the port depending on the path
        # a request took, so both forms must verify.
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("https://mycompany.com/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_twilio_accepts_the_url_with_or_without_its_port(url, signature):
    check_twilio(signature, url=url)


def test_twilio_keeps_credentials_in_the_url_when_trying_ports():
    url = "https://user:pw@mycompany.com:8443/sms?x=1"
    check_twilio(
        twilio_signature(TW_TOKEN, "https://user:pw@mycompany.com/sms?x=1", TW_PARAMS), url=url
    )


@pytest.mark.parametrize("signature", [None, "", "%%%", "ÿ" * 28])
def test_twilio_refuses_a_missing_or_malformed_signature(signature):
    with pytest.raises(SignatureError):
        check_twilio(signature)


@pytest.mark.parametrize("url", ["https://mycompany.com:99999/x", "not a url", "https://[::1/x"])
def test_twilio_odd_urls_are_a_refusal_not_a_crash(url):
    with pytest.raises(SignatureError):
        check_twilio(TW_SIGNATURE, url=url)


def test_twilio_an_empty_auth_token_is_a_configuration_error():
    with pytest.raises(ValueError):
        check_twilio(TW_SIGNATURE, token="")


# --- shared rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("secrets", [[], [""], ["ok", ""]])
def test_no_secret_or_an_empty_secret_is_a_configuration_error(secrets):
    with pytest.raises(ValueError) as excinfo:
        check_stripe(f"t={SENT},v1=abc", secrets=secrets)
    assert not isinstance(excinfo.value, SignatureError)


def test_one_secret_passed_as_a_bare_string_is_refused_not_split_into_characters():
    with pytest.raises(TypeError):
        verify_stripe(body=ST_BODY, header=f"t={SENT},v1=abc", secrets=ST_SECRET, now=NOW)


def test_refusal_reasons_never_quote_the_secret_the_signature_or_the_body():
    header = f"t={SENT},v1={stripe_v1('whsec_wrong', SENT)}"
    with pytest.raises(SignatureError) as excinfo:
        check_stripe(header)
    text = str(excinfo.value)
    assert ST_SECRET not in text
    assert stripe_v1("whsec_wrong", SENT) not in text
    assert "evt_1" not in text
