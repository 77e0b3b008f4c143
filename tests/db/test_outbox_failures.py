"""How the relay treats a provider in trouble: an outage costs three tries per batch, not
one per message; refused credentials pause the channel without using up attempts; a
provider's Retry-After is honoured; a maybe-delivered message is set aside, never resent;
an opt-out the provider reports suppresses the address. After the trouble, every message
goes out exactly once."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from db.engine import transaction
from db.models import Customer, OutboxMessage, Suppression
from db.outbox import retry_dead
from db.types import seconds_from_now, utcnow
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from referral.quiet_hours import QuietHours
from tasks.outbox import relay_batch
from tests.db.test_outbox import _customer_id, _queue, _relay


class FlakyProvider:
    """Raises the given errors for the first calls, then accepts; records what it took."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0
        self.accepted = []

    def send(self, message):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.accepted.append(message.idempotency_key)
        return SendResult(f"p-{message.idempotency_key}")


def _states(engine):
    with transaction(engine) as session:
        return session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).order_by(OutboxMessage.id)
        ).all()


def _make_due(engine):
    """Time passes: everything waiting becomes due."""
    with transaction(engine) as session:
        session.execute(update(OutboxMessage).values(available_at=utcnow()))


def _ten_messages(engine):
    with transaction(engine) as session:
        _queue(session, _customer_id(session, "C1"), 10)


def test_an_outage_costs_three_tries_a_batch_and_everything_goes_out_once_after(engine):
    _ten_messages(engine)
    down = FlakyProvider(*[TransientSendError("503 from the provider")] * 6)
    first = relay_batch(engine, _relay(down), 10)
    assert (first["failed"], first["deferred"], down.calls) == (3, 7, 3)
    assert sorted(_states(engine)) == sorted([("failed", 1)] * 3 + [("failed", 0)] * 7)
    _make_due(engine)
    second = relay_batch(engine, _relay(down), 10)
    assert (second["failed"], second["deferred"]) == (3, 7)
    _make_due(engine)
    third = relay_batch(engine, _relay(down), 10)
    assert (third["sent"], third["failed"], third["deferred"]) == (10, 0, 0)
    assert sorted(down.accepted) == sorted(f"m{i}" for i in range(10))
    assert {status for status, _ in _states(engine)} == {"sent"}


def test_refused_credentials_pause_the_channel_without_using_attempts(engine):
    _ten_messages(engine)
    refused = FlakyProvider(AuthSendError("401 from the provider"))
    outcome = relay_batch(engine, _relay(refused), 10)
    assert (outcome["failed"], outcome["deferred"], outcome["dead"], refused.calls) == (1, 9, 0, 1)
    with transaction(engine) as session:
        paused = select(func.count()).where(OutboxMessage.attempts == 0)
        assert session.scalar(paused) == 9
        too_soon = paused.where(OutboxMessage.available_at < seconds_from_now(290))
        assert session.scalar(too_soon) == 0


def test_the_providers_retry_after_is_honoured(engine):
    with transaction(engine) as session:
        _queue(session, _customer_id(session, "C1"), 1)
    limited = FlakyProvider(TransientSendError("429", retry_after=3600))
    relay_batch(engine, _relay(limited), 10)
    with transaction(engine) as session:
        row = session.scalars(select(OutboxMessage)).one()
        wait = row.available_at - session.scalar(select(utcnow()))
    assert row.status == "failed" and wait > timedelta(minutes=59)


def test_a_message_that_may_have_gone_out_is_set_aside_not_resent(engine):
    with transaction(engine) as session:
        (oid,) = _queue(session, _customer_id(session, "C1"), 1)
    unsure = FlakyProvider(AmbiguousSendError("read timeout after sending"))
    outcome = relay_batch(engine, _relay(unsure), 10)
    assert outcome["reconcile"] == 1
    _make_due(engine)
    assert relay_batch(engine, _relay(unsure), 10)["claimed"] == 0
    assert unsure.calls == 1
    with transaction(engine) as session:  # a person checked the provider: not delivered
        assert retry_dead(session, [oid]) == 1
    assert relay_batch(engine, _relay(unsure), 10)["sent"] == 1


class OptedOut(PermanentSendError):
    suppress_reason = "sms_stop"


def test_an_opt_out_the_provider_reports_suppresses_the_number(engine):
    with transaction(engine) as session:
        cid = _customer_id(session, "C1", consent_sms=True, phone_e164="+14155550123")
        _queue(session, cid, 2, channel="sms")
    provider = FlakyProvider(OptedOut("21610: the recipient replied STOP"))
    first = relay_batch(engine, _relay(provider), 1)
    assert first["dead"] == 1
    with transaction(engine) as session:
        assert session.execute(select(Suppression.channel, Suppression.address)).all() == [
            ("sms", "+14155550123")
        ]
    second = relay_batch(engine, _relay(provider), 10)
    assert (second["suppressed"], provider.calls) == (1, 1)


def _zone_at_local_hour(engine, hour: int) -> str:
    """A fixed-offset zone whose clock shows `hour` o'clock now (by the database clock)."""
    with transaction(engine) as session:
        now = session.scalar(select(utcnow()))
    offset = (hour - now.hour) % 24
    offset = offset - 24 if offset > 12 else offset
    # Etc/GMT names count the other way round: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def test_text_messages_wait_out_quiet_hours_in_the_recipients_zone(engine):
    night = _zone_at_local_hour(engine, 2)
    day = _zone_at_local_hour(engine, 14)
    with transaction(engine) as session:
        asleep = _customer_id(session, "C1", consent_sms=True, phone_e164="+14155550123")
        awake = _customer_id(session, "C2", consent_sms=True, phone_e164="+14155550124")
        session.execute(update(Customer).where(Customer.id == asleep).values(timezone=night))
        session.execute(update(Customer).where(Customer.id == awake).values(timezone=day))
        _queue(session, asleep, 1, prefix="night", channel="sms")
        _queue(session, awake, 1, prefix="day", channel="sms")
    phone = FlakyProvider()
    relay = _relay(phone, quiet_hours=QuietHours.parse("21:00-08:00"), quiet_channels={"sms"})
    outcome = relay_batch(engine, relay, 10)
    assert (outcome["sent"], outcome["deferred"]) == (1, 1)
    assert phone.accepted == ["day0"]
    with transaction(engine) as session:
        waiting = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "night0")
        ).one()
        wait = (waiting.available_at - session.scalar(select(utcnow()))).total_seconds()
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("failed", 0, "quiet hours")
    assert 5 * 3600 < wait <= 6 * 3600  # from about 02:00 to 08:00 on the recipient's clock


def test_a_providers_pace_is_kept(engine):
    from referral.rate_limit import TokenBucket
    from tests.unit.test_rate_limit import Clock

    _ten_messages(engine)
    clock = Clock()
    pace = TokenBucket(5, clock=clock, sleep=clock.sleep)  # five a second, no burst
    provider = FlakyProvider()
    outcome = relay_batch(engine, _relay(provider, rate_limits={"email": pace}), 10)
    assert outcome["sent"] == 10
    assert abs(clock.now - 9 / 5) < 1e-9  # the first at once, then one every 0.2 s


def test_a_sendgrid_outage_then_recovery_delivers_every_message_exactly_once(engine):
    import httpx

    from integrations.mail.sendgrid import SendGridSender

    received: list[str] = []
    outage = {"left": 7}

    def sendgrid(request: httpx.Request) -> httpx.Response:
        if outage["left"]:
            outage["left"] -= 1
            return httpx.Response(503, text="Service Unavailable")
        key = json.loads(request.content)["custom_args"]
        received.append(next(iter(key.values())))
        return httpx.Response(202, headers={"X-Message-Id": f"sg-{len(received)}"})

    _ten_messages(engine)
    sender = SendGridSender(
        "SG.key",
        "Shop <referrals@shop.example>",
        client=httpx.Client(transport=httpx.MockTransport(sendgrid)),
    )
    for _ in range(6):
        relay_batch(engine, _relay(sender), 10)
        _make_due(engine)
    assert sorted(received) == sorted(f"m{i}" for i in range(10))
    assert {status for status, _ in _states(engine)} == {"sent"}
