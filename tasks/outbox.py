"""deliver_outbox, a batch of messages per task: claim, check, render, send, record.

The claim commits before anything is sent, so the lease (not a transaction held open across
network calls) keeps other relays off the batch. Consent and suppressions are checked again
after claiming, because either can change after a message was queued: a refused message is
marked dead with its reason and never reaches the sender. Notifications with a template are
rendered here from their payload plus what belongs to the moment of sending (first name,
unsubscribe link); see referral/notifications.py for each template's context.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config.settings import DeliverySettings, EmailSettings, SmsSettings, WhatsAppSettings
from db import outbox as q
from db.engine import database_now, engine_for, transaction
from db.suppressions import suppress
from db.types import utcnow
from integrations.messaging.errors import suppress_reason
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    Sender,
    TransientSendError,
)
from integrations.templates import Renderer, TemplateError
from referral.delivery import SUPPRESSED, refusal, suppression_address, suppression_pair
from referral.notifications import ContextError, render_context
from referral.portal import portal_token, portal_url
from referral.quiet_hours import QuietHours, next_allowed
from referral.rate_limit import TokenBucket
from referral.unsubscribe import unsubscribe_headers, unsubscribe_token, unsubscribe_url
from tasks.base import database_task, is_transient
from tasks.senders import build_sender

logger = logging.getLogger(__name__)

LEASE_SECONDS: Final = 300
MAX_ATTEMPTS: Final = 5
BACKOFF_SECONDS: Final = 60
# Recording a batch's outcome is retried in place: a task retry would leave the sent rows
# claimed until their lease ran out, and then send them again.
_MARK_TRIES: Final = 3
# What a batch reports. failed: will be tried again; dead: given up after trying;
# suppressed and unreachable (no consent, no address): dead without a try.
# deferred: handed back unsent because the provider refused us or is down (no attempt
# used); reconcile: maybe delivered, set aside for a person, never resent by itself.
OUTCOMES: Final = (
    "claimed",
    "sent",
    "failed",
    "dead",
    "suppressed",
    "unreachable",
    "deferred",
    "reconcile",
)
# A provider that failed this many messages in a row gets no more of this batch.
BREAKER_THRESHOLD: Final = 3
# How long a provider that refused our credentials is left alone.
AUTH_PAUSE_SECONDS: Final = 300


@dataclass(frozen=True)
class Relay:
    """What a relay needs besides the database."""

    sender: Sender
    renderer: Renderer
    public_base_url: str
    unsubscribe_key: bytes = field(repr=False)
    worker: str
    # Dashboard links in messages: signed with this key, valid until this time.
    portal_key: bytes | None = field(default=None, repr=False)
    portal_expires_at: datetime | None = None
    lease_seconds: int = LEASE_SECONDS
    max_attempts: int = MAX_ATTEMPTS
    # Messages on `quiet_channels` wait out these hours in the recipient's zone. Only
    # channels that reach a phone through a provider: the file sender wakes nobody.
    quiet_hours: QuietHours | None = None
    quiet_channels: frozenset[str] = frozenset()
    default_timezone: str = "UTC"
    # Per channel, the provider's pace (REFERRAL_<CHANNEL>__RATE_PER_SECOND).
    rate_limits: Mapping[str, TokenBucket] = field(default_factory=dict)
    backoff_seconds: float = BACKOFF_SECONDS


def relay_batch(engine: Engine, relay: Relay, batch_size: int) -> dict[str, int]:
    with transaction(engine) as session:
        claimed = q.claim_due(
            session, limit=batch_size, worker=relay.worker, lease_seconds=relay.lease_seconds
        )
        if not claimed:
            return dict.fromkeys(OUTCOMES, 0)
        blocked = suppressed_now(session, claimed)
        refused = {m.id: reason for m in claimed if (reason := _refusal(m, blocked))}
        q.mark_dead(session, refused)
        now = session.scalar(select(utcnow()))
    assert now is not None
    sent: list[q.Sent] = []
    failures: list[q.Failure] = []
    deferred: list[q.Deferral] = []
    opt_outs: list[tuple[str, str, str]] = []
    breaker = Breaker(relay.backoff_seconds)
    for message in claimed:
        if message.id in refused:
            continue
        if (wait := _quiet_wait(message, relay, now)) is not None:
            deferred.append(q.Deferral(message.id, wait, "quiet hours"))
            continue
        if (pause := breaker.paused(message.channel)) is not None:
            deferred.append(q.Deferral(message.id, *pause))
            continue
        if (bucket := relay.rate_limits.get(message.channel)) is not None:
            bucket.take()
        outcome = _deliver(message, relay)
        breaker.saw(message.channel, outcome)
        if isinstance(outcome, Delivered):
            sent.append(outcome.sent)
        else:
            failures.append(outcome.failure)
            if outcome.opt_out is not None:
                opt_outs.append(outcome.opt_out)
    dead = _record(engine, relay, sent, failures, deferred, opt_outs)
    suppressed = sum(1 for reason in refused.values() if reason == SUPPRESSED)
    unsure = sum(1 for f in failures if f.ambiguous)
    return {
        "claimed": len(claimed),
        "sent": len(sent),
        "failed": len(failures) - dead - unsure,
        "dead": dead,
        "suppressed": suppressed,
        "unreachable": len(refused) - suppressed,
        "deferred": len(deferred),
        "reconcile": unsure,
    }


def _quiet_wait(message: q.ClaimedMessage, relay: Relay, now: datetime) -> float | None:
    """Seconds until a text message may go, None when it may go now."""
    if relay.quiet_hours is None or message.channel not in relay.quiet_channels:
        return None
    zone = message.recipient.timezone if message.recipient else None
    allowed = next_allowed(now, zone, relay.quiet_hours, relay.default_timezone)
    return (allowed - now).total_seconds() if allowed > now else None


@dataclass(frozen=True)
class Delivered:
    sent: q.Sent


@dataclass(frozen=True)
class Undelivered:
    failure: q.Failure
    # (channel, address, reason) when the provider says the recipient opted out
    opt_out: tuple[str, str, str] | None = None
    auth: bool = False


class Breaker:
    """Per channel, within a batch: a provider that refused our credentials, asked us to
    wait, or failed several messages in a row gets none of the batch's remaining ones; they
    go back to the queue unsent, without using up an attempt."""

    def __init__(self, backoff_seconds: float, threshold: int = BREAKER_THRESHOLD) -> None:
        self.backoff_seconds, self.threshold = backoff_seconds, threshold
        self.failures_in_a_row: dict[str, int] = {}
        self.open: dict[str, tuple[float, str]] = {}

    def paused(self, channel: str) -> tuple[float, str] | None:
        return self.open.get(channel)

    def saw(self, channel: str, outcome: Delivered | Undelivered) -> None:
        if isinstance(outcome, Delivered) or (outcome.failure.permanent and not outcome.auth):
            self.failures_in_a_row[channel] = 0
            return
        failure = outcome.failure
        if outcome.auth:
            self.open[channel] = (AUTH_PAUSE_SECONDS, f"paused: {failure.error}")
        elif failure.retry_after:
            self.open[channel] = (failure.retry_after, "paused: the provider asked us to wait")
        else:
            count = self.failures_in_a_row.get(channel, 0) + 1
            self.failures_in_a_row[channel] = count
            if count >= self.threshold:
                self.open[channel] = (self.backoff_seconds, f"paused after {count} failures")


def suppressed_now(session: Session, claimed: list[q.ClaimedMessage]) -> set[tuple[str, str]]:
    pairs = {
        pair
        for m in claimed
        if m.recipient is not None
        and (pair := suppression_pair(m.recipient, m.channel)) is not None
    }
    return q.suppressed(session, pairs)


def _refusal(message: q.ClaimedMessage, blocked: set[tuple[str, str]]) -> str | None:
    if message.recipient is None:
        return "no_customer"
    return refusal(message.recipient, message.channel, blocked)


def _deliver(message: q.ClaimedMessage, relay: Relay) -> Delivered | Undelivered:
    key = (message.id, message.attempts)
    try:
        outbound = compose(message, relay)
    except (TemplateError, ContextError) as exc:
        return Undelivered(q.Failure(*key, str(exc), permanent=True))
    try:
        result = relay.sender.send(outbound)
    except AuthSendError as exc:
        return Undelivered(q.Failure(*key, str(exc)), auth=True)
    except PermanentSendError as exc:
        reason = suppress_reason(exc)
        opt_out = (message.channel, outbound.to, reason) if reason else None
        return Undelivered(q.Failure(*key, str(exc), permanent=True), opt_out=opt_out)
    except TransientSendError as exc:
        return Undelivered(q.Failure(*key, str(exc), retry_after=exc.retry_after))
    except AmbiguousSendError as exc:
        return Undelivered(q.Failure(*key, str(exc), ambiguous=True))
    except Exception as exc:
        # An unexpected error from a sender counts as transient: giving up on a message for
        # a bug we might fix is worse than trying it a few more times. Type only: the text
        # may quote the address.
        logger.warning("outbox %s: sender raised %s", message.id, type(exc).__name__)
        return Undelivered(q.Failure(*key, f"sender error: {type(exc).__name__}"))
    return Delivered(q.Sent(message.id, result.provider_message_id))


def compose(message: q.ClaimedMessage, relay: Relay) -> OutboundMessage:
    """The message as the sender takes it: rendered, addressed, with unsubscribe headers."""
    assert message.recipient is not None and message.customer_id is not None
    address = message.recipient.address(message.channel)
    assert address is not None  # refusal() has ruled out a missing address
    link = unsubscribe_url(
        relay.public_base_url,
        unsubscribe_token(message.customer_id, message.channel, relay.unsubscribe_key),
    )
    if message.template is None:
        raise ContextError(f"outbox {message.id}: a notification without a template")
    dashboard = (
        portal_url(
            relay.public_base_url,
            portal_token(message.customer_id, relay.portal_expires_at, relay.portal_key),
        )
        if relay.portal_key and relay.portal_expires_at
        else None
    )
    context = render_context(
        message.template,
        message.payload,
        name=message.recipient.name,
        unsubscribe_url=link,
        portal_url=dashboard,
    )
    rendered = relay.renderer.render_message(message.template, message.channel, context)
    return OutboundMessage(
        idempotency_key=message.idempotency_key,
        channel=message.channel,
        to=address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=unsubscribe_headers(link) if message.channel == "email" else {},
    )


def _record(
    engine: Engine,
    relay: Relay,
    sent: list[q.Sent],
    failures: list[q.Failure],
    deferred: list[q.Deferral],
    opt_outs: list[tuple[str, str, str]],
) -> int:
    for attempt in range(1, _MARK_TRIES + 1):
        try:
            with transaction(engine) as session:
                q.mark_sent(session, sent)
                q.defer(session, deferred)
                for channel, address, reason in opt_outs:
                    suppress(session, channel, suppression_address(channel, address), reason)
                return q.mark_failed(
                    session,
                    failures,
                    max_attempts=relay.max_attempts,
                    backoff_seconds=relay.backoff_seconds,
                )
        except Exception as exc:
            if attempt == _MARK_TRIES or not is_transient(exc):
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


@database_task("deliver-outbox-batch")
def deliver_outbox_batch(
    database_url: str,
    batch_size: int,
    *,
    outbox_dir: str,
    templates_dir: str | None,
    public_base_url: str,
    unsubscribe_key: bytes,
    worker: str,
    portal_key: bytes | None = None,
    portal_link_days: int = 30,
    email: EmailSettings | None = None,
    sms: SmsSettings | None = None,
    whatsapp: WhatsAppSettings | None = None,
    delivery: DeliverySettings | None = None,
) -> dict[str, int]:
    """Providers come from the settings models given (their defaults: the file sender)."""
    sender = build_sender(
        email or EmailSettings(),
        sms or SmsSettings(),
        whatsapp or WhatsAppSettings(),
        Path(outbox_dir),
    )
    with sender:  # one SMTP connection for the batch, closed at its end
        relay = Relay(
            sender=sender,
            renderer=Renderer(templates_dir) if templates_dir else Renderer(),
            public_base_url=public_base_url,
            unsubscribe_key=unsubscribe_key,
            worker=worker,
            portal_key=portal_key,
            portal_expires_at=database_now(database_url) + timedelta(days=portal_link_days),
            quiet_hours=QuietHours.parse(delivery.quiet_hours)
            if delivery and delivery.quiet_hours
            else None,
            rate_limits={
                channel: TokenBucket(rate, clock=time.monotonic, sleep=time.sleep)
                for channel, settings in (("email", email), ("sms", sms), ("whatsapp", whatsapp))
                if settings is not None and (rate := settings.rate_per_second)
            },
            quiet_channels=frozenset(
                channel
                for channel, provider in (("sms", sms), ("whatsapp", whatsapp))
                if provider is not None and provider.provider != "file"
            ),
            default_timezone=delivery.default_timezone if delivery else "UTC",
        )
        return relay_batch(engine_for(database_url), relay, batch_size)
