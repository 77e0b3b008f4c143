"""Who is invited, on which channel, and when: consent and preference pick the channel,
suppressions and the cooldown are honoured, event triggers need a fresh event, a re-run
invites nobody twice, and reminders stop once the advocate shares, refers, opts out or has
had them all."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.advocates import issue_code
from db.models import Customer, Invitation, OutboxMessage, Referral, Suppression
from db.programs import Programs
from db.types import utcnow
from referral.invitations import UnknownTrigger
from tasks.invitations import invitation_batch, reminder_batch
from tests.db.helpers import add_customers, click, customer, event

BASE = "https://refer.example.com"
PROGRAM = {
    "slug": "friends",
    "name": "Friends of Acme",
    "referrer_reward": {"type": "credit", "amount": "10.00"},
    "referee_reward": {"type": "credit", "amount": "5.00"},
}


def _program(session, slug="friends", **invitations):
    return Programs(session).create(**{**PROGRAM, "slug": slug, "invitations": invitations})


def _advocate(session, program, external_id, **fields):
    add_customers(session, customer(external_id, **{"consent_email": True, **fields}))
    cid = session.scalar(select(Customer.id).where(Customer.external_id == external_id))
    issue_code(session, program.id, cid, length=8)
    return cid


def _invite(session, trigger="scheduled", slug="friends"):
    return invitation_batch(
        session, slug, trigger, after_customer=0, batch_size=100, public_base_url=BASE
    )


def _remind(session):
    return reminder_batch(
        session, "friends", after_customer=0, batch_size=100, public_base_url=BASE
    )


def _now(session):
    return session.scalar(select(utcnow()))


def _invited(session, trigger=None):
    query = select(Invitation.customer_id, Invitation.channel).order_by(Invitation.customer_id)
    if trigger:
        query = query.where(Invitation.trigger == trigger)
    return dict(session.execute(query).tuples().all())


def _backdate(session, days, customer_id=None):
    """Move invitations (all, or one customer's) `days` into the past, as time passing would."""
    query = select(Invitation)
    if customer_id is not None:
        query = query.where(Invitation.customer_id == customer_id)
    for invitation in session.scalars(query):
        invitation.created_at -= timedelta(days=days)
    session.flush()


def _conversion(session, external_id, event_id, at, kind="purchase"):
    event(
        session,
        id=event_id,
        type=kind,
        occurred_at=at,
        order_id=f"O-{event_id}",
        amount="30.00",
        currency="USD",
        customer={"external_id": external_id},
    )


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


# --- the channel ----------------------------------------------------------------------------


def test_the_channel_is_the_preferred_one_with_consent_else_the_first_in_program_order(session):
    program = _program(session)
    phone = {"phone_e164": "+14155550123"}
    prefers_sms = _advocate(
        session, program, "A", consent_sms=True, preferred_channel="sms", **phone
    )
    sms_without_consent = _advocate(session, program, "B", preferred_channel="sms", **phone)
    whatsapp_only = _advocate(
        session, program, "C", consent_email=False, consent_whatsapp=True, **phone
    )
    no_consent = _advocate(session, program, "D", consent_email=False)
    outcome = _invite(session)
    assert _invited(session) == {
        prefers_sms: "sms",
        sms_without_consent: "email",
        whatsapp_only: "whatsapp",
    }
    assert no_consent not in _invited(session)
    assert (outcome["invited"], outcome["unreachable"]) == (3, 1)


def test_the_programs_channel_order_decides_between_consented_channels(session):
    program = _program(session, channels=["sms", "email"])
    both = _advocate(session, program, "A", consent_sms=True, phone_e164="+14155550123")
    assert _invite(session) and _invited(session) == {both: "sms"}


def test_a_suppressed_address_is_passed_over_for_the_next_consented_channel(session):
    program = _program(session)
    cid = _advocate(
        session,
        program,
        "A",
        email="Ada.Lovelace@gmail.com",
        consent_sms=True,
        phone_e164="+14155550123",
    )
    only_email = _advocate(session, program, "B")
    session.add_all(
        [
            Suppression(channel="email", address="adalovelace@gmail.com", reason="unsubscribed"),
            Suppression(channel="email", address="b@example.com", reason="bounced"),
        ]
    )
    session.flush()
    _invite(session)
    assert _invited(session) == {cid: "sms"}
    assert only_email not in _invited(session)


def test_an_advocate_without_a_live_code_is_not_invited(session):
    program = _program(session)
    add_customers(session, customer("NOCODE", consent_email=True))
    _advocate(session, program, "A")
    assert _invite(session)["candidates"] == 1


# --- what is written ------------------------------------------------------------------------


def test_the_invitation_and_its_outbox_message_are_written_together(session):
    program = _program(session)
    cid = _advocate(session, program, "A", name="Ada Lovelace")
    _invite(session)
    invitation = session.scalar(select(Invitation))
    message = session.get(OutboxMessage, invitation.outbox_id)
    day = _now(session).date().isoformat()
    assert invitation.idempotency_key == f"invite:{program.id}:{cid}:scheduled:{day}"
    assert message.idempotency_key == f"notify:{invitation.idempotency_key}"
    assert (message.kind, message.channel, message.template, message.status) == (
        "notification",
        "email",
        "invitation",
        "pending",
    )
    code = message.payload["code"]
    assert (
        message.payload["link"].startswith(f"{BASE}/r/{code}?")
        and "ch=email" in message.payload["link"]
    )
    assert message.payload["program_name"] == "Friends of Acme"
    # Names and addresses are read when sending, never stored in the payload.
    assert "Ada" not in str(message.payload) and "@" not in str(message.payload)


def test_running_again_invites_nobody_twice(session):
    program = _program(session, cooldown_days=0)  # so only the idempotency key stops a repeat
    _advocate(session, program, "A")
    _advocate(session, program, "B")
    assert _invite(session)["invited"] == 2
    again = _invite(session)
    assert (again["candidates"], again["invited"]) == (2, 0)
    assert _count(session, Invitation) == 2 and _count(session, OutboxMessage) == 2


def test_batches_walk_through_every_advocate(session):
    program = _program(session)
    for i in range(7):
        _advocate(session, program, f"A{i}")
    cursor, invited = 0, 0
    while True:
        batch = invitation_batch(
            session,
            "friends",
            "scheduled",
            after_customer=cursor,
            batch_size=3,
            public_base_url=BASE,
        )
        invited += batch["invited"]
        if batch["cursor"] is None:
            break
        cursor = batch["cursor"]
    assert invited == 7


# --- cooldown and triggers ------------------------------------------------------------------


def test_nobody_is_invited_again_within_the_cooldown_by_any_program(session):
    friends = _program(session, cooldown_days=14)
    partners = _program(session, slug="partners", cooldown_days=14)
    recent = _advocate(session, friends, "A")
    issue_code(session, partners.id, recent, length=8)
    _invite(session, slug="partners")
    _backdate(session, 5)
    assert _invite(session)["invited"] == 0
    _backdate(session, 10)  # now 15 days ago
    assert _invite(session)["invited"] == 1


def test_an_event_trigger_needs_a_recent_event_of_its_kind(session):
    program = _program(session, cooldown_days=0)
    now = _now(session)
    bought = _advocate(session, program, "BOUGHT")
    long_ago = _advocate(session, program, "OLD")
    renewed = _advocate(session, program, "RENEWED")
    for external_id, kind, days in (
        ("BOUGHT", "purchase", 1),
        ("OLD", "purchase", 30),
        ("RENEWED", "renewal", 2),
    ):
        _conversion(session, external_id, f"{kind}-{external_id}", now - timedelta(days=days), kind)
    _invite(session, "purchase")
    assert set(_invited(session, "purchase")) == {bought}
    _invite(session, "renewal")
    assert set(_invited(session, "renewal")) == {renewed}
    assert long_ago not in _invited(session)


def test_an_event_already_followed_by_an_invitation_triggers_nothing_more(session):
    program = _program(session, cooldown_days=0)
    cid = _advocate(session, program, "A")
    _conversion(session, "A", "po-1", _now(session) - timedelta(days=3))
    _invite(session)  # a scheduled invitation after the purchase
    _backdate(session, 1)
    assert _invite(session, "purchase")["invited"] == 0
    _conversion(session, "A", "po-2", _now(session))
    assert _invite(session, "purchase")["invited"] == 1
    assert set(_invited(session, "purchase")) == {cid}


def test_promoters_are_invited_after_a_recent_nps_answer_of_9_or_10(session):
    program = _program(session)
    now = _now(session)
    promoter = _advocate(session, program, "P", nps_score=9, nps_at=now - timedelta(days=1))
    _advocate(session, program, "PASSIVE", nps_score=8, nps_at=now - timedelta(days=1))
    _advocate(session, program, "STALE", nps_score=10, nps_at=now - timedelta(days=40))
    _invite(session, "nps_promoter")
    assert set(_invited(session)) == {promoter}


def test_positive_support_invites_once_per_program_from_the_crm_count(session):
    program = _program(session, cooldown_days=1)
    happy = _advocate(session, program, "HAPPY", support_positive=2)
    _advocate(session, program, "NEUTRAL")
    _invite(session, "positive_support")
    assert set(_invited(session)) == {happy}
    _backdate(session, 30)
    assert _invite(session, "positive_support")["invited"] == 0


def test_a_trigger_the_program_does_not_use_invites_nobody(session):
    program = _program(session, triggers=["purchase"])
    _advocate(session, program, "P", nps_score=10, nps_at=_now(session))
    assert (
        _invite(session, "nps_promoter")["skipped"]
        == "trigger nps_promoter not enabled for the program"
    )
    with pytest.raises(UnknownTrigger):
        _invite(session, "birthday")


# --- reminders ------------------------------------------------------------------------------


def _invited_days_ago(session, days, **fields):
    program = _program(session, reminders={"after_days": 7, "every_days": 7, "max": 2})
    cid = _advocate(session, program, "A", **fields)
    _invite(session)
    _backdate(session, days)
    return program, cid


def test_an_advocate_who_has_not_shared_is_reminded_on_the_invitations_channel(session):
    _, cid = _invited_days_ago(session, 8, consent_sms=True, phone_e164="+14155550123")
    outcome = _remind(session)
    assert outcome["invited"] == 1
    reminder = session.scalar(select(Invitation).where(Invitation.trigger == "reminder"))
    message = session.get(OutboxMessage, reminder.outbox_id)
    assert (reminder.customer_id, reminder.channel) == (cid, "email")
    assert (message.template, message.payload["reminder_number"]) == ("reminder", 1)


def test_no_reminder_before_after_days(session):
    _invited_days_ago(session, 3)
    assert _remind(session)["invited"] == 0


def test_a_click_on_the_code_since_the_invitation_stops_reminders(session):
    program, cid = _invited_days_ago(session, 8)
    code = issue_code(session, program.id, cid, length=8).code
    click(session, code, visitor="v-old", at=_now(session) - timedelta(days=20))  # before: ignored
    assert _remind(session)["candidates"] == 1
    session.execute(Invitation.__table__.delete().where(Invitation.trigger == "reminder"))
    click(session, code, visitor="v-1", at=_now(session) - timedelta(days=1))
    assert _remind(session)["candidates"] == 0


def test_a_referral_since_the_invitation_stops_reminders(session):
    program, cid = _invited_days_ago(session, 8)
    add_customers(session, customer("FRIEND"))
    friend = session.scalar(select(Customer.id).where(Customer.external_id == "FRIEND"))
    session.add(
        Referral(
            program_id=program.id,
            program_version_id=program.version_id,
            referrer_id=cid,
            referee_id=friend,
            attribution_model="last_click",
            attributed_by="click",
            referred_at=_now(session),
        )
    )
    session.flush()
    assert _remind(session)["candidates"] == 0


def test_opting_out_of_the_invitations_channel_stops_reminders_on_every_channel(session):
    _invited_days_ago(session, 8, consent_sms=True, phone_e164="+14155550123")
    session.add(Suppression(channel="email", address="a@example.com", reason="unsubscribed"))
    session.flush()
    outcome = _remind(session)
    assert (outcome["candidates"], outcome["invited"], outcome["unreachable"]) == (1, 0, 1)
    assert _count(session, Invitation, Invitation.trigger == "reminder") == 0


def test_withdrawn_consent_stops_reminders(session):
    _invited_days_ago(session, 8)
    add_customers(session, customer("A", consent_email=False))
    assert _remind(session)["invited"] == 0


def test_reminders_come_every_days_apart_and_stop_at_max(session):
    _invited_days_ago(session, 8)
    assert _remind(session)["invited"] == 1
    assert _remind(session)["invited"] == 0  # the same day: nothing new
    _backdate(session, 3)
    assert _remind(session)["invited"] == 0  # 3 days after the first reminder: too soon
    _backdate(session, 5)
    assert _remind(session)["invited"] == 1
    _backdate(session, 30)
    assert _remind(session)["invited"] == 0  # max 2 reached
    numbers = session.scalars(
        select(OutboxMessage.payload).where(OutboxMessage.template == "reminder")
    ).all()
    assert sorted(p["reminder_number"] for p in numbers) == [1, 2]


def test_a_new_invitation_starts_a_new_reminder_sequence(session):
    _invited_days_ago(session, 8)
    _remind(session)
    _backdate(session, 8)
    _remind(session)
    _backdate(session, 30)
    assert _remind(session)["invited"] == 0
    _conversion(session, "A", "po-new", _now(session))
    assert _invite(session, "purchase")["invited"] == 1
    _backdate(session, 8)
    assert _remind(session)["invited"] == 1
    numbers = session.scalars(
        select(OutboxMessage.payload).where(OutboxMessage.template == "reminder")
    ).all()
    assert sorted(p["reminder_number"] for p in numbers) == [1, 1, 2]
