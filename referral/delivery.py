"""Who may be messaged on which channel, and when a failed send is tried again.

Pure rules over facts the database reads: the invitation queries ask `choose_channel` which
channel reaches a customer, and the outbox relay asks `refusal` again at send time, because
consent and suppressions can change between queueing a message and sending it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final

from referral.contacts import normalize_email

CHANNELS: Final = ("email", "sms", "whatsapp")

# Why a message is never sent; stored as the outbox row's last_error.
NO_CONSENT: Final = "no_consent"
NO_ADDRESS: Final = "no_address"
SUPPRESSED: Final = "suppressed"
UNKNOWN_CHANNEL: Final = "unknown_channel"


@dataclass(frozen=True, slots=True)
class Recipient:
    """What a message needs to know about a customer: name, addresses, consents."""

    name: str | None
    email: str | None
    phone_e164: str | None
    consents: frozenset[str]
    preferred_channel: str | None = None
    timezone: str | None = None  # IANA name from the CRM; quiet hours are kept in it

    def address(self, channel: str) -> str | None:
        if channel == "email":
            return self.email or None
        if channel in ("sms", "whatsapp"):
            return self.phone_e164 or None
        return None


def consents_from_flags(*, email: bool, sms: bool, whatsapp: bool) -> frozenset[str]:
    flags = {"email": email, "sms": sms, "whatsapp": whatsapp}
    return frozenset(channel for channel, given in flags.items() if given)


def suppression_address(channel: str, address: str) -> str:
    """The form an address has in the suppression list: one entry per mailbox or number,
    however it was spelled when it was added."""
    if channel == "email":
        return normalize_email(address) or address.strip().lower()
    return address.strip()


def suppression_pair(recipient: Recipient, channel: str) -> tuple[str, str] | None:
    address = recipient.address(channel)
    return None if address is None else (channel, suppression_address(channel, address))


def refusal(
    recipient: Recipient, channel: str, suppressed: Collection[tuple[str, str]]
) -> str | None:
    """Why this customer must not get a message on this channel, or None when they may.

    `suppressed` holds (channel, suppression address) pairs known to be on the list.
    """
    if channel not in CHANNELS:
        return UNKNOWN_CHANNEL
    if channel not in recipient.consents:
        return NO_CONSENT
    pair = suppression_pair(recipient, channel)
    if pair is None:
        return NO_ADDRESS
    if pair in suppressed:
        return SUPPRESSED
    return None


def choose_channel(
    recipient: Recipient, channels: Sequence[str], suppressed: Collection[tuple[str, str]]
) -> str | None:
    """The customer's preferred channel when the program uses it and it can be used, else the
    first usable one in the program's order; None when no channel can reach them.

    A suppressed channel is passed over like one without consent: a bounced mailbox should
    not stop an invitation by SMS the customer agreed to.
    """
    order = list(channels)
    preferred = recipient.preferred_channel
    if preferred in order:
        order.remove(preferred)
        order.insert(0, preferred)
    for channel in order:
        if refusal(recipient, channel, suppressed) is None:
            return channel
    return None


def backoff_seconds(
    attempts: int,
    *,
    base: float,
    cap: float = 6 * 3600,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before the next try after `attempts` tries: "full jitter", a uniform
    draw from [0, min(cap, base * 2 ** (attempts - 1))].

    Jitter spreads the retries of a batch that failed together (a provider outage) instead of
    sending them back at the provider in one burst when it recovers.
    """
    if attempts < 1:
        raise ValueError("attempts counts tries made, so it starts at 1")
    # min() before the power would overflow for absurd attempt counts, so cap the exponent.
    ceiling = min(cap, base * 2 ** min(attempts - 1, 62))
    return rand() * ceiling
