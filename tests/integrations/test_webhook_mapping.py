"""Provider payloads mapped to the Event contract: Stripe purchases and refunds sharing an
order, HubSpot NPS changes, Twilio inbound SMS keywords. Every mapped dict must validate as
`referral.events.Event`."""

import copy

import pytest

from integrations.webhooks.errors import MalformedPayload
from integrations.webhooks.mapping import (
    InboundSms,
    hubspot_events,
    stripe_events,
    twilio_inbound,
)
from referral.events import Event

CREATED = 1_760_000_000  # 2025-10-09T08:53:20Z


def validated(events):
    return [Event.model_validate(e) for e in events]


# --- Stripe ---------------------------------------------------------------------------------


def charge(**overrides):
    obj = {
        "id": "ch_3PqRsT2eZvKYlo2C0abcdEFG",
        "object": "charge",
        "amount": 4999,
        "amount_captured": 4999,
        "amount_refunded": 0,
        "billing_details": {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "phone": "+14155550123",
            "address": {"country": "US"},
        },
        "captured": True,
        "created": CREATED - 5,
        "currency": "usd",
        "customer": "cus_QxY7abc123",
        "metadata": {"referral_code": "ADA-7K2Q"},
        "paid": True,
        "payment_intent": "pi_3PqRsT2eZvKYlo2C0xyz",
        "payment_method_details": {"card": {"brand": "visa", "fingerprint": "Xt5EWLLDS7FJjR1c"}},
        "receipt_email": None,
        "refunded": False,
        "status": "succeeded",
    }
    obj.update(overrides)
    return obj


def payment_intent(**overrides):
    obj = {
        "id": "pi_3PqRsT2eZvKYlo2C0xyz",
        "object": "payment_intent",
        "amount": 4999,
        "amount_received": 4999,
        "currency": "usd",
        "customer": "cus_QxY7abc123",
        "latest_charge": "ch_3PqRsT2eZvKYlo2C0abcdEFG",
        "metadata": {"referral_code": "ADA-7K2Q", "external_id": "crm-42"},
        "receipt_email": "ada@example.com",
        "status": "succeeded",
    }
    obj.update(overrides)
    return obj


def stripe_event(kind, obj, *, event_id="evt_1PqRsT2eZvKYlo2C", previous=None, created=CREATED):
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
    }


def test_both_success_events_of_one_payment_are_one_purchase():
    from_charge = stripe_events(stripe_event("charge.succeeded", charge()))
    intent = {"id": "pi_3PqRsT2eZvKYlo2C0xyz", "object": "payment_intent", "amount": 4000}
    intent |= {"amount_received": 4000, "currency": "eur", "customer": "cus_Q1"}
    from_intent = stripe_events(stripe_event("payment_intent.succeeded", intent))
    assert from_charge[0]["id"] == from_intent[0]["id"]


def test_a_succeeded_charge_is_a_purchase_of_its_payment_intent():
    [event] = validated(stripe_events(stripe_event("charge.succeeded", charge())))
    assert event.type == "purchase"
    assert event.id == "stripe:purchase:pi_3PqRsT2eZvKYlo2C0xyz"
    assert event.order_id == "pi_3PqRsT2eZvKYlo2C0xyz"
    assert (event.amount_minor, event.currency) == (4999, "USD")
    assert event.occurred_at.isoformat() == "2025-10-09T08:53:20+00:00"
    assert event.customer.external_id == "cus_QxY7abc123"
    assert event.customer.email == "ada@example.com"
    assert event.customer.name == "Ada Lovelace"
    assert event.referral_code == "ADA-7K2Q"
    assert event.payment_fingerprint == "Xt5EWLLDS7FJjR1c"


def test_a_succeeded_payment_intent_is_a_purchase_of_itself():
    [event] = validated(stripe_events(stripe_event("payment_intent.succeeded", payment_intent())))
    assert event.type == "purchase"
    assert event.order_id == "pi_3PqRsT2eZvKYlo2C0xyz"
    assert event.amount_minor == 4999
    assert event.customer.external_id == "crm-42"
    assert event.customer.email == "ada@example.com"


def test_the_amount_received_counts_not_the_amount_requested():
    intent = payment_intent(amount=5000, amount_received=4000)
    [event] = validated(stripe_events(stripe_event("payment_intent.succeeded", intent)))
    assert event.amount_minor == 4000


def test_a_refund_maps_to_the_same_order_as_its_purchase():
    [purchase] = validated(
        stripe_events(stripe_event("payment_intent.succeeded", payment_intent()))
    )
    refunded = charge(amount_refunded=4999, refunded=True, metadata=payment_intent()["metadata"])
    [refund] = validated(
        stripe_events(
            stripe_event(
                "charge.refunded", refunded, event_id="evt_refund", previous={"amount_refunded": 0}
            )
        )
    )
    assert refund.type == "refund"
    assert refund.order_id == purchase.order_id
    assert refund.customer.external_id == purchase.customer.external_id
    assert refund.amount_minor == 4999
    assert refund.id == "evt_refund"


def test_a_second_partial_refund_counts_only_what_it_refunded():
    refunded = charge(amount_refunded=3000)
    [event] = validated(
        stripe_events(stripe_event("charge.refunded", refunded, previous={"amount_refunded": 1000}))
    )
    assert event.amount_minor == 2000


def test_without_previous_attributes_a_refund_counts_the_total_refunded():
    [event] = validated(
        stripe_events(stripe_event("charge.refunded", charge(amount_refunded=1500)))
    )
    assert event.amount_minor == 1500


def test_a_refund_event_that_refunded_nothing_new_maps_to_nothing():
    refunded = charge(amount_refunded=1500)
    assert (
        stripe_events(stripe_event("charge.refunded", refunded, previous={"amount_refunded": 1500}))
        == []
    )


def test_the_refund_is_dated_by_the_event_not_by_the_original_charge():
    refunded = charge(amount_refunded=4999, created=CREATED - 86_400)
    [event] = validated(stripe_events(stripe_event("charge.refunded", refunded, created=CREATED)))
    assert event.occurred_at.timestamp() == CREATED


def test_a_charge_without_a_payment_intent_is_its_own_order_for_purchase_and_refund():
    legacy = charge(payment_intent=None)
    [purchase] = validated(stripe_events(stripe_event("charge.succeeded", legacy)))
    [refund] = validated(
        stripe_events(stripe_event("charge.refunded", {**legacy, "amount_refunded": 100}))
    )
    assert purchase.order_id == refund.order_id == "ch_3PqRsT2eZvKYlo2C0abcdEFG"


def test_an_expanded_payment_intent_or_customer_object_gives_its_id():
    expanded = charge(
        payment_intent={"id": "pi_expanded", "object": "payment_intent"},
        customer={"id": "cus_expanded", "object": "customer"},
    )
    [event] = validated(stripe_events(stripe_event("charge.succeeded", expanded)))
    assert (event.order_id, event.customer.external_id) == ("pi_expanded", "cus_expanded")


def test_metadata_external_id_wins_over_the_stripe_customer():
    tagged = charge(metadata={"external_id": "crm-42"})
    [event] = validated(stripe_events(stripe_event("charge.succeeded", tagged)))
    assert event.customer.external_id == "crm-42"
    assert event.referral_code is None


def test_a_guest_checkout_gets_a_customer_named_after_its_order():
    guest = charge(customer=None, billing_details={"email": None}, receipt_email="g@example.com")
    [purchase] = validated(stripe_events(stripe_event("charge.succeeded", guest)))
    [refund] = validated(
        stripe_events(stripe_event("charge.refunded", {**guest, "amount_refunded": 4999}))
    )
    assert purchase.customer.external_id == "stripe-guest:pi_3PqRsT2eZvKYlo2C0xyz"
    assert refund.customer.external_id == purchase.customer.external_id
    assert purchase.customer.email == "g@example.com"


def test_an_authorized_but_uncaptured_charge_is_not_a_purchase_yet():
    held = charge(captured=False, amount_captured=0)
    assert stripe_events(stripe_event("charge.succeeded", held)) == []


@pytest.mark.parametrize(
    ("currency", "stripe_amount", "ours"),
    [
        ("usd", 4999, 4999),
        ("eur", 100, 100),
        ("jpy", 5000, 5000),  # zero-decimal on both sides
        ("krw", 12000, 12000),
        ("kwd", 5120, 5120),  # three-decimal on both sides
        ("isk", 50000, 500),  # Stripe counts ISK in hundredths; it has no minor unit
        ("bif", 700, 70000),  # Stripe: zero-decimal; referral.money: two-decimal
    ],
)
def test_amounts_are_converted_from_stripe_minor_units_to_ours(currency, stripe_amount, ours):
    obj = charge(currency=currency, amount=stripe_amount, amount_captured=stripe_amount)
    [event] = validated(stripe_events(stripe_event("charge.succeeded", obj)))
    assert (event.amount_minor, event.currency) == (ours, currency.upper())


@pytest.mark.parametrize(
    "kind",
    [
        "charge.failed",
        "charge.captured",
        "payment_intent.created",
        "payment_intent.payment_failed",
        "customer.created",
        "invoice.paid",
        None,
    ],
)
def test_other_stripe_event_types_are_ignored_not_errors(kind):
    assert stripe_events(stripe_event(kind, charge())) == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda e: e.pop("data"),
        lambda e: e["data"].pop("object"),
        lambda e: e.pop("id"),
        lambda e: e.pop("created") and e["data"]["object"].pop("created"),
        lambda e: e["data"]["object"].pop("currency"),
        lambda e: e["data"]["object"].update(currency="dollars"),
        lambda e: e["data"]["object"].update(amount="49.99", amount_captured=None),
        lambda e: e["data"]["object"].update(amount=0, amount_captured=0),
        lambda e: e["data"]["object"].update(amount_captured=True, amount=None),
        lambda e: e["data"]["object"].pop("id"),
    ],
)
def test_a_purchase_missing_what_it_must_carry_is_malformed(breakage):
    event = stripe_event("charge.succeeded", charge())
    breakage(event)
    with pytest.raises(MalformedPayload):
        stripe_events(event)


@pytest.mark.parametrize("payload", [[], "evt_1", None])
def test_a_stripe_body_that_is_not_an_event_object_is_malformed(payload):
    with pytest.raises(MalformedPayload):
        stripe_events(payload)


def test_a_refund_without_amount_refunded_is_malformed():
    broken = charge()
    del broken["amount_refunded"]
    with pytest.raises(MalformedPayload):
        stripe_events(stripe_event("charge.refunded", broken))


def test_mapping_does_not_change_the_payload():
    event = stripe_event("charge.succeeded", charge())
    before = copy.deepcopy(event)
    stripe_events(event)
    assert event == before


# --- HubSpot --------------------------------------------------------------------------------


def change(value="9", **overrides):
    item = {
        "eventId": 1872134,
        "subscriptionId": 2781,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": 1_760_000_000_123,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": 5011,
        "propertyName": "nps_score",
        "propertyValue": value,
        "changeSource": "FORM",
        "sourceId": "form:1234",
    }
    item.update(overrides)
    return item


def test_a_change_of_the_nps_property_is_an_nps_event_for_that_contact():
    [event] = validated(hubspot_events([change("9")]))
    assert event.type == "nps"
    assert event.score == 9
    assert event.customer.external_id == "5011"
    assert event.occurred_at.isoformat() == "2025-10-09T08:53:20.123000+00:00"
    assert event.id == "hubspot:1872134:5011:1760000000123"


def test_a_retried_notification_keeps_its_id_so_it_dedupes():
    first = hubspot_events([change(attemptNumber=0)])
    retry = hubspot_events([change(attemptNumber=3)])
    assert first[0]["id"] == retry[0]["id"]


def test_two_changes_sharing_an_event_id_keep_distinct_ids():
    # HubSpot documents eventId as not guaranteed to be unique.
    ids = {e["id"] for e in hubspot_events([change(objectId=1), change(objectId=2)])}
    assert len(ids) == 2


@pytest.mark.parametrize(("value", "score"), [("0", 0), ("10", 10), (" 7 ", 7), ("8.0", 8), (6, 6)])
def test_whole_scores_from_0_to_10_are_read(value, score):
    [event] = validated(hubspot_events([change(value)]))
    assert event.score == score


@pytest.mark.parametrize("value", ["", None, "11", "-1", "7.5", "great", "NaN", "1e1000", True])
def test_a_cleared_or_impossible_score_is_skipped(value):
    assert hubspot_events([change(value)]) == []


def test_the_nps_property_name_is_configurable():
    renamed = change("10", propertyName="how_likely_to_recommend")
    assert hubspot_events([renamed]) == []
    [event] = hubspot_events([renamed], nps_property="how_likely_to_recommend")
    assert event["score"] == 10


def test_generic_object_property_changes_of_contacts_count_too():
    generic = change("8", subscriptionType="object.propertyChange", objectTypeId="0-1")
    [event] = validated(hubspot_events([generic]))
    assert event.score == 8
    deal = change("8", subscriptionType="object.propertyChange", objectTypeId="0-3")
    assert hubspot_events([deal]) == []


@pytest.mark.parametrize(
    "item",
    [
        change(propertyName="firstname", value="Ada"),
        change(subscriptionType="contact.creation"),
        change(subscriptionType="deal.propertyChange"),
        change(subscriptionType="contact.privacyDeletion"),
    ],
)
def test_other_subscriptions_are_ignored_for_now(item):
    assert hubspot_events([item]) == []


def test_a_batch_maps_each_relevant_change_in_order():
    batch = [
        change("9", objectId=1),
        change(subscriptionType="contact.creation"),
        change("3", objectId=2),
    ]
    events = validated(hubspot_events(batch))
    assert [(e.customer.external_id, e.score) for e in events] == [("1", 9), ("2", 3)]


def test_an_empty_batch_maps_to_nothing():
    assert hubspot_events([]) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"eventId": 1},
        [change(eventId=None)],
        [change(objectId="5011")],
        [change(occurredAt="yesterday")],
        ["not an object"],
    ],
)
def test_a_batch_that_is_not_hubspot_shaped_is_malformed(payload):
    with pytest.raises(MalformedPayload):
        hubspot_events(payload)


# --- Twilio inbound SMS ---------------------------------------------------------------------


def sms(body, **extra):
    return {
        "ToCountry": "US",
        "SmsMessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "NumMedia": "0",
        "SmsSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "SmsStatus": "received",
        "Body": body,
        "To": "+14155550100",
        "NumSegments": "1",
        "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "+14155550123",
        "ApiVersion": "2010-04-01",
        **extra,
    }


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        " Stop \n",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
    ],
)
def test_opt_out_keywords_are_stop(body):
    assert twilio_inbound(sms(body)).keyword == "stop"


@pytest.mark.parametrize("body", ["START", "yes", "Unstop"])
def test_opt_in_keywords_are_start(body):
    assert twilio_inbound(sms(body)).keyword == "start"


@pytest.mark.parametrize("body", ["HELP", "info"])
def test_help_keywords_are_help(body):
    assert twilio_inbound(sms(body)).keyword == "help"


@pytest.mark.parametrize("body", ["stop it", "please cancel", "STOP.", "Thanks!", "", "stopp"])
def test_only_a_body_that_is_exactly_one_keyword_counts(body):
    assert twilio_inbound(sms(body)).keyword is None


def test_a_messaging_service_opt_out_type_wins_over_the_words():
    assert twilio_inbound(sms("ARRET", OptOutType="STOP")).keyword == "stop"
    assert twilio_inbound(sms("hello", OptOutType="START")).keyword == "start"


def test_an_inbound_sms_keeps_its_sid_number_and_text():
    message = twilio_inbound(sms("Yes please, send me my code"))
    assert message == InboundSms(
        message_sid="SM1f0e8ae6ade43cb3c0ce4525424e404f",
        from_number="+14155550123",
        body="Yes please, send me my code",
        keyword=None,
    )


def test_the_number_and_text_stay_out_of_repr():
    text = repr(twilio_inbound(sms("STOP")))
    assert "SM1f0e8ae6ade43cb3c0ce4525424e404f" in text
    assert "+14155550123" not in text
    assert "STOP" not in text


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
def test_an_inbound_sms_without_sid_or_sender_is_malformed(missing):
    params = sms("hi")
    del params[missing]
    if missing == "MessageSid":
        del params["SmsSid"]
    with pytest.raises(MalformedPayload):
        twilio_inbound(params)
