"""The outbox relay: claims with a lease, retries with jittered backoff, gives up after the
last attempt, checks consent and suppressions when it sends, and two relays at once never
take or send the same message."""

import json
import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from db.engine import transaction
from db.models import Customer, OutboxMessage, Suppression
from db.outbox import (
    Failure,
    Sent,
    claim_due,
    enqueue,
    list_outbox,
    mark_failed,
    mark_sent,
    retry_dead,
)
from db.types import seconds_from_now, utcnow
from integrations.senders import FileSender, SendResult, TransientSendError
from integrations.templates import Renderer
from referral.unsubscribe import link_key
from tasks.outbox import Relay, relay_batch
from tests.db.helpers import add_customers, customer

PAYLOAD = {
    "program": "friends",
    "program_name": "Friends",
    "code": "K7PX9QM2",
    "link": "https://x.example/r/K7PX9QM2",
    "share_message": "Use my link:",
    "trigger": "scheduled",
}


def _customer_id(session, external_id, **fields):
    add_customers(session, customer(external_id, **{"consent_email": True, **fields}))
    return session.scalar(select(Customer.id).where(Customer.external_id == external_id))


def _queue(session, customer_id, n=1, *, prefix="m", channel="email", **fields):
    rows = [
        {
            "idempotency_key": f"{prefix}{i}",
            "kind": "notification",
            "channel": channel,
            "customer_id": customer_id,
            "template": "invitation",
            "payload": PAYLOAD,
            **fields,
        }
        for i in range(n)
    ]
    return sorted(enqueue(session, rows).values())


def _row(session, outbox_id):
    session.expire_all()
    return session.get(OutboxMessage, outbox_id)


def _now(session):
    return session.scalar(select(utcnow()))


class RecordingSender:
    def __init__(self, fail=None):
        self.sent = []
        self.fail = fail

    def send(self, message):
        if self.fail:
            raise self.fail
        self.sent.append(message)
        return SendResult(f"p-{message.idempotency_key}")


def _relay(sender, worker="relay-1", **options):
    return Relay(
        sender=sender,
        renderer=Renderer(),
        public_base_url="https://refer.example.com",
        unsubscribe_key=link_key(b"test"),
        worker=worker,
        **options,
    )


# --- claiming ------------------------------------------------------------------------------


def test_a_claim_takes_due_rows_once_and_leases_them(session):
    ids = _queue(session, _customer_id(session, "C1"), 3)
    first = claim_due(session, limit=2, worker="relay-1", lease_seconds=300)
    assert [m.id for m in first] == ids[:2]
    assert [m.attempts for m in first] == [1, 1]
    row = _row(session, ids[0])
    assert (row.status, row.claimed_by) == ("claimed", "relay-1")
    assert row.lease_until > _now(session) + timedelta(seconds=290)
    assert [m.id for m in claim_due(session, limit=5, worker="relay-1", lease_seconds=300)] == [
        ids[2]
    ]
    assert claim_due(session, limit=5, worker="relay-1", lease_seconds=300) == []


def test_a_claim_brings_the_customers_current_contact_and_consents(session):
    cid = _customer_id(session, "C1", name="Ada Lovelace", phone_e164="+14155550123")
    _queue(session, cid)
    (message,) = claim_due(session, limit=5, worker="w", lease_seconds=60)
    assert message.recipient.name == "Ada Lovelace"
    assert message.recipient.address("email") == "c1@example.com"
    assert message.recipient.address("sms") == "+14155550123"
    assert message.recipient.consents == {"email"}
    assert message.payload == PAYLOAD


def test_rows_not_yet_due_and_payouts_are_left_alone(session):
    cid = _customer_id(session, "C1")
    _queue(
        session,
        cid,
        prefix="later",
        status="failed",
        available_at=_now(session) + timedelta(hours=1),
    )
    _queue(session, cid, prefix="payout", channel="payout")
    session.execute(
        update(OutboxMessage).where(OutboxMessage.channel == "payout").values(kind="payout")
    )
    assert claim_due(session, limit=5, worker="w", lease_seconds=60) == []


def test_a_lease_that_ran_out_is_claimed_again_by_another_relay(session):
    (oid,) = _queue(session, _customer_id(session, "C1"))
    claim_due(session, limit=5, worker="relay-1", lease_seconds=300)
    assert claim_due(session, limit=5, worker="relay-2", lease_seconds=300) == []
    session.execute(
        update(OutboxMessage).values(lease_until=seconds_from_now(-1))
    )  # relay-1 died holding it
    (again,) = claim_due(session, limit=5, worker="relay-2", lease_seconds=300)
    assert (again.id, again.attempts) == (oid, 2)
    assert _row(session, oid).claimed_by == "relay-2"


# --- outcomes -------------------------------------------------------------------------------


def test_a_sent_message_keeps_the_providers_id_and_the_database_time(session):
    (oid,) = _queue(session, _customer_id(session, "C1"))
    claim_due(session, limit=5, worker="w", lease_seconds=60)
    mark_sent(session, [Sent(oid, "provider-42")])
    row = _row(session, oid)
    assert (row.status, row.provider_message_id, row.lease_until) == ("sent", "provider-42", None)
    assert row.sent_at is not None
    assert claim_due(session, limit=5, worker="w", lease_seconds=60) == []


def test_a_transient_failure_waits_a_delay_that_grows_with_the_attempts(session):
    ids = _queue(session, _customer_id(session, "C1"), 2)
    claim_due(session, limit=5, worker="w", lease_seconds=60)
    before = _now(session)
    dead = mark_failed(
        session,
        [Failure(ids[0], 1, "timeout"), Failure(ids[1], 3, "timeout")],
        max_attempts=5,
        backoff_seconds=60,
        rand=lambda: 1.0,  # the top of the jitter range, so the delay is exact
    )
    after = _now(session)
    assert dead == 0
    first, third = _row(session, ids[0]), _row(session, ids[1])
    assert (first.status, first.last_error, first.lease_until) == ("failed", "timeout", None)
    assert before + timedelta(seconds=59) <= first.available_at <= after + timedelta(seconds=61)
    assert before + timedelta(seconds=239) <= third.available_at <= after + timedelta(seconds=241)
    assert claim_due(session, limit=5, worker="w", lease_seconds=60) == []


def test_jitter_spreads_a_batch_that_failed_together(session):
    ids = _queue(session, _customer_id(session, "C1"), 20)
    claim_due(session, limit=50, worker="w", lease_seconds=60)
    mark_failed(session, [Failure(i, 4, "503") for i in ids], max_attempts=5, backoff_seconds=60)
    times = {_row(session, i).available_at for i in ids}
    assert len(times) > 10


def test_a_message_is_dead_after_its_last_attempt_or_a_permanent_failure(session):
    ids = _queue(session, _customer_id(session, "C1"), 3)
    claim_due(session, limit=5, worker="w", lease_seconds=60)
    dead = mark_failed(
        session,
        [
            Failure(ids[0], 5, "timeout"),
            Failure(ids[1], 1, "address rejected", permanent=True),
            Failure(ids[2], 4, "timeout"),
        ],
        max_attempts=5,
        backoff_seconds=60,
    )
    assert dead == 2
    assert [_row(session, i).status for i in ids] == ["dead", "dead", "failed"]
    assert _row(session, ids[1]).last_error == "address rejected"


def test_retry_dead_sends_dead_messages_again_with_fresh_attempts(session):
    ids = _queue(session, _customer_id(session, "C1"), 2)
    claim_due(session, limit=5, worker="w", lease_seconds=60)
    mark_failed(session, [Failure(ids[0], 5, "timeout")], max_attempts=5, backoff_seconds=60)
    assert retry_dead(session, ids) == 1  # the other one is claimed, not dead: left alone
    row = _row(session, ids[0])
    assert (row.status, row.attempts, row.claimed_by) == ("pending", 0, None)
    assert [m.id for m in claim_due(session, limit=5, worker="w", lease_seconds=60)] == [ids[0]]


def test_the_outbox_lists_newest_first_without_payloads(session):
    ids = _queue(session, _customer_id(session, "C1"), 3)
    claim_due(session, limit=1, worker="w", lease_seconds=60)
    assert [v.id for v in list_outbox(session, None, 10)] == ids[::-1]
    assert [v.id for v in list_outbox(session, "claimed", 10)] == [ids[0]]
    assert not hasattr(list_outbox(session, None, 1)[0], "payload")


# --- the relay ------------------------------------------------------------------------------


def test_the_relay_renders_sends_and_records_a_batch(engine):
    with transaction(engine) as session:
        cid = _customer_id(session, "C1", name="Ada Lovelace")
        ids = _queue(session, cid, 3)
    sender = RecordingSender()
    assert relay_batch(engine, _relay(sender), 10) == {
        "claimed": 3,
        "sent": 3,
        "failed": 0,
        "dead": 0,
        "suppressed": 0,
        "unreachable": 0,
        "deferred": 0,
        "reconcile": 0,
    }
    message = sender.sent[0]
    assert message.to == "c1@example.com" and message.subject.startswith("Ada,")
    assert "K7PX9QM2" in message.text and message.headers["List-Unsubscribe"].startswith(
        f"<https://refer.example.com/u/{cid}.email."
    )
    with transaction(engine) as session:
        assert {_row(session, i).status for i in ids} == {"sent"}
        assert _row(session, ids[0]).provider_message_id == "p-m0"


def test_suppressed_and_unconsented_messages_are_dead_and_never_sent(engine):
    with transaction(engine) as session:
        ok = _customer_id(session, "OK")
        no_consent = _customer_id(session, "NC", consent_email=False, consent_sms=True)
        gmail = _customer_id(session, "GM", email="Ada.Lovelace+x@gmail.com")
        no_phone = _customer_id(session, "NP", consent_sms=True)
        ids = [
            *_queue(session, ok, prefix="ok"),
            *_queue(session, no_consent, prefix="nc"),
            *_queue(session, gmail, prefix="gm"),
            *_queue(session, no_phone, prefix="np", channel="sms"),
        ]
        # Opted out after the message was queued: the check at send time still sees it.
        session.add(
            Suppression(channel="email", address="adalovelace@gmail.com", reason="unsubscribed")
        )
    sender = RecordingSender()
    outcome = relay_batch(engine, _relay(sender), 10)
    assert (outcome["sent"], outcome["suppressed"], outcome["unreachable"]) == (1, 1, 2)
    assert [m.idempotency_key for m in sender.sent] == ["ok0"]
    with transaction(engine) as session:
        rows = [_row(session, i) for i in ids]
        assert [(r.status, r.last_error) for r in rows] == [
            ("sent", None),
            ("dead", "no_consent"),
            ("dead", "suppressed"),
            ("dead", "no_address"),
        ]


def test_a_template_that_cannot_render_kills_the_message_naming_the_variable(engine):
    with transaction(engine) as session:
        (oid,) = _queue(session, _customer_id(session, "C1"), payload={"program_name": "Friends"})
    outcome = relay_batch(engine, _relay(RecordingSender()), 10)
    assert outcome["dead"] == 1
    with transaction(engine) as session:
        row = _row(session, oid)
        assert row.status == "dead"
        assert "invitation.email" in row.last_error and "is undefined" in row.last_error
        assert "c1@example.com" not in row.last_error


def test_a_provider_outage_is_retried_until_the_last_attempt(engine):
    with transaction(engine) as session:
        (oid,) = _queue(session, _customer_id(session, "C1"))
    relay = _relay(
        RecordingSender(fail=TransientSendError("503")), max_attempts=2, backoff_seconds=0
    )
    assert relay_batch(engine, relay, 10)["failed"] == 1
    assert relay_batch(engine, relay, 10)["dead"] == 1
    with transaction(engine) as session:
        row = _row(session, oid)
        assert (row.status, row.attempts, row.last_error) == ("dead", 2, "503")


# --- concurrency ----------------------------------------------------------------------------


def test_a_claimer_skips_rows_another_claimer_holds_and_never_takes_them(engine):
    with transaction(engine) as session:
        ids = _queue(session, _customer_id(session, "C1"), 6)
    first_claimed, second_done = threading.Event(), threading.Event()
    got = {}

    def first():
        with transaction(engine) as session:
            got["first"] = [
                m.id for m in claim_due(session, limit=3, worker="a", lease_seconds=300)
            ]
            first_claimed.set()
            # Hold the row locks open. PostgreSQL lets the second claimer past them at once
            # (SKIP LOCKED); SQLite makes it wait for this commit (one writer at a time).
            got["second_finished_first"] = second_done.wait(timeout=3 if _pg(engine) else 0.3)

    def second():
        first_claimed.wait()
        with transaction(engine) as session:
            got["second"] = [
                m.id for m in claim_due(session, limit=6, worker="b", lease_seconds=300)
            ]
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got["first"] == ids[:3] and got["second"] == ids[3:]
    assert got["second_finished_first"] is _pg(engine)


def test_two_relays_at_once_send_every_message_exactly_once(engine, tmp_path):
    with transaction(engine) as session:
        customers = [_customer_id(session, f"C{i}") for i in range(10)]
        for cid in customers:
            _queue(session, cid, 12, prefix=f"c{cid}-")
    outcomes = {}

    class SlowFileSender(FileSender):
        def send(self, message):
            time.sleep(0.002)  # long enough for the relays' batches to overlap
            return super().send(message)

    def run(worker):
        relay = _relay(SlowFileSender(tmp_path), worker=worker)
        sent = 0
        while (batch := relay_batch(engine, relay, 7))["claimed"]:
            sent += batch["sent"]
        outcomes[worker] = sent

    threads = [threading.Thread(target=run, args=(w,)) for w in ("relay-a", "relay-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [json.loads(line)["idempotency_key"] for line in (tmp_path / "email.jsonl").open()]
    assert len(keys) == len(set(keys)) == 120
    assert sum(outcomes.values()) == 120
    if _pg(engine):
        assert all(outcomes.values()), "on PostgreSQL both relays work at the same time"
    with transaction(engine) as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def _pg(engine):
    return engine.dialect.name == "postgresql"


def test_reward_notifications_from_the_reward_pipeline_render_and_respect_consent(engine):
    from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline

    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        add_customers(session, customer("ADV", "Ada.Lovelace@gmail.com", consent_email=True))
        referred_purchase(session, code, consent_email=False)  # the referee agreed to nothing
        run_pipeline(session)
    sender = RecordingSender()
    outcome = relay_batch(engine, _relay(sender), 10)
    # The referee, who agreed to nothing, gets no notification queued at all.
    assert (outcome["claimed"], outcome["sent"], outcome["unreachable"]) == (1, 1, 0)
    (message,) = sender.sent
    assert message.subject == "You earned 10.00 USD credit"
    assert message.to == "Ada.Lovelace@gmail.com" and "Unsubscribe: https://" in message.text
