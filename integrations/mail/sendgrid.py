"""SendGridSender: email through SendGrid's v3 Mail Send API (`POST /v3/mail/send`).

One request per message, one personalization with one recipient, so the `X-Message-Id`
SendGrid answers with names exactly this message. The idempotency key travels as the custom
argument `idempotency_key`: SendGrid has no idempotency key of its own (a request sent twice
is two emails), but it copies custom arguments into every Event Webhook event, which lets
reconciliation find an ambiguous send's events without knowing its X-Message-Id. SendGrid
keeps custom arguments as non-personal data, so nothing personal may go into them.

Answers:

- 202 Accepted with `X-Message-Id`: sent;
- 401, 403: AuthSendError (403 is also what an unverified sender identity gets, and what a
  key temporarily blocked for repeated bad requests gets);
- 429: TransientSendError with `Retry-After` or `X-RateLimit-Reset` (a unix time) as the
  wait; 408 and 5xx: TransientSendError;
- any other 4xx: PermanentSendError with SendGrid's `errors[].message`, addresses removed.

EU-pinned subusers must use `base_url="https://api.eu.sendgrid.com"`; the global host answers
them 451.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import httpx

from integrations.mail._http import DEFAULT_TIMEOUT, post_json, retry_after, safe_reason
from integrations.mail.content import (
    email_headers,
    email_parts,
    recipient,
    sender_address,
    subject,
)
from integrations.provider_http import ClientOwner, json_object, status_kind
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    check_email_headers,
)

PROVIDER: Final = "SendGrid"
IDEMPOTENCY_ARG: Final = "idempotency_key"
_MAX_MESSAGES: Final = 3


class SendGridSender(ClientOwner):
    def __init__(
        self,
        api_key: str,
        from_address: str,
        *,
        client: httpx.Client | None = None,
        base_url: str = "https://api.sendgrid.com",
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key.strip():
            raise ValueError("the SendGrid API key must not be empty")
        name, address = sender_address(from_address)
        self._from: dict[str, str] = {"email": address, **({"name": name} if name else {})}
        self._api_key = api_key.strip()
        self._use_client(client, timeout=DEFAULT_TIMEOUT)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"SendGridSender(base_url={self.base_url!r})"

    def send(self, message: OutboundMessage) -> SendResult:
        check_email_headers(message)
        response = self._request("/v3/mail/send", self.payload(message))
        if response.is_success:
            message_id = response.headers.get("X-Message-Id", "").strip()
            if not message_id:
                # Accepted, so it will go out; without the id only the custom argument in the
                # events ties it to the row.
                raise AmbiguousSendError(f"{PROVIDER} accepted the message without X-Message-Id")
            return SendResult(provider_message_id=message_id)
        raise self._error(response)

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        """The v3 Mail Send body: text/plain first, then text/html, as SendGrid requires."""
        parts = email_parts(message)
        content = [{"type": "text/plain", "value": parts.text}]
        if parts.html is not None:
            content.append({"type": "text/html", "value": parts.html})
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": recipient(message)}]}],
            "from": self._from,
            "subject": subject(message),
            "content": content,
            "custom_args": {IDEMPOTENCY_ARG: message.idempotency_key},
        }
        headers = email_headers(message)
        if headers:
            body["headers"] = headers
        return body

    def _request(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """The one way out to SendGrid."""
        return post_json(
            self._client,
            f"{self.base_url}{path}",
            provider=PROVIDER,
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Accept": "application/json",
            },
            body=body,
            timeout=self.timeout,
        )

    def _error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        reason = f"{PROVIDER} {status}"
        messages = _error_messages(response)
        if messages:
            reason = f"{reason}: {messages}"
        kind = status_kind(status)
        if kind == "auth":
            return AuthSendError(reason)
        if kind == "transient":
            return TransientSendError(reason, retry_after=retry_after(response, self._clock))
        return PermanentSendError(reason)


def _error_messages(response: httpx.Response) -> str:
    """`{"errors": [{"message": ..., "field": ...}]}` as one line, addresses removed."""
    data = json_object(response)
    errors = data.get("errors") if data else None
    if not isinstance(errors, list):
        return ""
    found: list[str] = []
    for error in errors[:_MAX_MESSAGES]:
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            continue
        field = error.get("field")
        text = error["message"]
        found.append(f"{field}: {text}" if isinstance(field, str) and field else text)
    return safe_reason("; ".join(found))
