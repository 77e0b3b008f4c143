"""Handing a rendered message to whatever delivers it.

A sender gets one message with its idempotency key (providers that support one dedupe on it,
so a message sent again after a lost acknowledgement arrives once) and either returns the
provider's message id or raises: TransientSendError when trying later can work (timeouts,
rate limits, 5xx), PermanentSendError when it cannot (a rejected address, a refused message).

FileSender is the embedded demo's delivery: no network, one JSON line per message in
`{directory}/{channel}.jsonl`. Provider senders live in integrations/mail and
integrations/messaging.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final, Protocol

REQUIRED_EMAIL_HEADERS: Final = ("List-Unsubscribe", "List-Unsubscribe-Post")
_CHANNEL_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    idempotency_key: str
    channel: str
    to: str
    subject: str | None
    text: str
    html: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_message_id: str


class SendError(Exception):
    """A send failed. Messages name the reason, never the address or the content."""


class TransientSendError(SendError):
    """Trying again later can succeed; `retry_after` is the provider's own wait, in seconds,
    when it said one (Retry-After, rate-limit reset headers)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Trying again cannot succeed; the message is given up."""


class AuthSendError(PermanentSendError):
    """The provider refused our credentials: no message can go until someone fixes them."""


class AmbiguousSendError(SendError):
    """The request may have been delivered (a timeout after sending): the row is marked for
    reconciliation, never blindly sent again."""


class Sender(Protocol):
    def send(self, message: OutboundMessage) -> SendResult: ...


def check_email_headers(message: OutboundMessage) -> None:
    """Every email offers one-click unsubscribe (RFC 8058): bulk senders without it are
    filtered by the large mailbox providers, and the law in many places asks for it."""
    if message.channel == "email":
        missing = [h for h in REQUIRED_EMAIL_HEADERS if not message.headers.get(h)]
        if missing:
            raise PermanentSendError(f"email without {', '.join(missing)} header")


class FileSender:
    """Appends each message as one JSON line to `{directory}/{channel}.jsonl`.

    One `write` of one line to a file opened with O_APPEND: relays in other threads or
    processes appending to the same file do not interleave their lines. The file holds
    addresses, so it is created readable by its owner only.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def send(self, message: OutboundMessage) -> SendResult:
        if not _CHANNEL_NAME.match(message.channel):
            raise PermanentSendError("channel name not usable as a file name")
        check_email_headers(message)
        provider_id = "file-" + hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:24]
        line = json.dumps(
            {**asdict(message), "provider_message_id": provider_id},
            ensure_ascii=False,
            sort_keys=True,
        )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{message.channel}.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        except OSError as exc:
            raise TransientSendError(f"cannot write the outbox file: {exc.strerror}") from None
        return SendResult(provider_message_id=provider_id)


class ChannelRouter:
    """One Sender over several: each message goes to the sender of its channel, or to the
    fallback. Senders connect on their first message and are closed when the router is, so
    an SMTP connection lasts a batch and a batch without email never connects."""

    def __init__(self, by_channel: dict[str, Sender], fallback: Sender) -> None:
        self.by_channel, self.fallback = by_channel, fallback

    def send(self, message: OutboundMessage) -> SendResult:
        return self.by_channel.get(message.channel, self.fallback).send(message)

    def __enter__(self) -> ChannelRouter:
        return self

    def __exit__(self, *_exc: object) -> None:
        for sender in self._distinct():
            closer = getattr(sender, "close", None)
            if callable(closer):
                closer()

    def _distinct(self) -> list[Sender]:
        seen: dict[int, Sender] = {}
        for sender in (*self.by_channel.values(), self.fallback):
            seen.setdefault(id(sender), sender)
        return list(seen.values())
