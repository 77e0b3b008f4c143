"""PostmarkSender: email through Postmark's `POST /email`.

The idempotency key travels in `Metadata` (as `idempotency_key`); Postmark returns metadata
in every webhook, so reconciliation can find an ambiguous send's events. Postmark has no
idempotency key of its own: a request sent twice is two emails.

Postmark answers JSON with `ErrorCode` (0 = accepted) and `Message`; the HTTP status says
what kind of failure it is:

- 200 with ErrorCode 0 and `MessageID`: sent;
- 401 (ErrorCode 10, bad or missing server token): AuthSendError;
- 422: by ErrorCode. 10: AuthSendError; 400/401 (sender signature missing or not
  confirmed), 405 (not allowed to send: out of credits), 413 (account may not send): also
  AuthSendError, since no message can go until someone fixes the account; 100
  (maintenance) and 429: TransientSendError; 406 (inactive recipient: it bounced hard or
  complained before), 300 (invalid request) and the rest: PermanentSendError;
- 429, 5xx: TransientSendError (Postmark documents no Retry-After; one is honoured if sent);
- other statuses, such as a 403 HTML page from the network layer in front of the API:
  PermanentSendError.

Postmark's messages quote addresses ("Found inactive addresses: ..."); reasons carry them
with the addresses replaced. `POSTMARK_API_TEST` as the server token makes Postmark validate
a request and deliver nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Final, Literal

import httpx

from integrations.mail._http import DEFAULT_TIMEOUT, post_json, retry_after, safe_reason
from integrations.mail.content import email_headers, email_parts, recipient, subject
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

PROVIDER: Final = "Postmark"
IDEMPOTENCY_METADATA: Final = "idempotency_key"
# Postmark caps a metadata value at 80 characters; longer keys are sent as their digest.
MAX_METADATA_VALUE: Final = 80
ACCOUNT_ERRORS: Final = frozenset({10, 400, 401, 405, 413})
TRANSIENT_ERRORS: Final = frozenset({100, 429})
TrackLinks = Literal["None", "HtmlAndText", "HtmlOnly", "TextOnly"]


class PostmarkSender(ClientOwner):
    def __init__(
        self,
        server_token: str,
        from_address: str,
        *,
        client: httpx.Client | None = None,
        base_url: str = "https://api.postmarkapp.com",
        message_stream: str = "outbound",
        track_opens: bool | None = None,
        track_links: TrackLinks | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`from_address` may carry a display name (`Team <team@example.com>`), which
        Postmark takes as it is. `track_opens` / `track_links` left None use the server's
        settings; opened and clicked events only come when tracking is on."""
        if not server_token.strip():
            raise ValueError("the Postmark server token must not be empty")
        if not message_stream.strip():
            raise ValueError("the Postmark message stream must not be empty")
        self.from_address = from_address
        self.message_stream = message_stream
        self.track_opens = track_opens
        self.track_links = track_links
        self._token = server_token.strip()
        self._use_client(client, timeout=DEFAULT_TIMEOUT)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"PostmarkSender(base_url={self.base_url!r}, stream={self.message_stream!r})"

    def send(self, message: OutboundMessage) -> SendResult:
        check_email_headers(message)
        response = self._request("/email", self.payload(message))
        data = json_object(response)
        if response.status_code == 200:
            if data is None:
                raise AmbiguousSendError(f"{PROVIDER} 200 without a readable answer")
            code = data.get("ErrorCode")
            message_id = data.get("MessageID")
            if code == 0 and isinstance(message_id, str) and message_id:
                return SendResult(provider_message_id=message_id)
            if code == 0 or not isinstance(code, int):
                raise AmbiguousSendError(f"{PROVIDER} 200 without a MessageID")
        raise self._error(response, data)

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        parts = email_parts(message)
        body: dict[str, Any] = {
            "From": self.from_address,
            "To": recipient(message),
            "Subject": subject(message),
            "TextBody": parts.text,
            "MessageStream": self.message_stream,
            "Metadata": {IDEMPOTENCY_METADATA: metadata_key(message.idempotency_key)},
        }
        if parts.html is not None:
            body["HtmlBody"] = parts.html
        headers = email_headers(message)
        if headers:
            body["Headers"] = [{"Name": name, "Value": value} for name, value in headers.items()]
        if self.track_opens is not None:
            body["TrackOpens"] = self.track_opens
        if self.track_links is not None:
            body["TrackLinks"] = self.track_links
        return body

    def _request(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """The one way out to Postmark."""
        return post_json(
            self._client,
            f"{self.base_url}{path}",
            provider=PROVIDER,
            headers={"X-Postmark-Server-Token": self._token, "Accept": "application/json"},
            body=body,
            timeout=self.timeout,
        )

    def _error(self, response: httpx.Response, data: dict[str, Any] | None) -> Exception:
        status = response.status_code
        code = data.get("ErrorCode") if data else None
        text = data.get("Message") if data else None
        reason = f"{PROVIDER} {status}"
        if isinstance(code, int):
            reason = f"{reason} ErrorCode {code}"
        if isinstance(text, str) and text:
            reason = f"{reason}: {safe_reason(text)}"
        elif data is None and not response.is_success:
            reason = f"{reason} (not a Postmark API answer)"
        wait = retry_after(response, self._clock)
        kind = status_kind(status, auth={401}, timeout_is_transient=False)
        if kind == "auth":
            return AuthSendError(reason)
        if kind == "transient":
            return TransientSendError(reason, retry_after=wait)
        if status in (200, 422) and isinstance(code, int):
            if code in ACCOUNT_ERRORS:
                return AuthSendError(reason)
            if code in TRANSIENT_ERRORS:
                return TransientSendError(reason, retry_after=wait)
        return PermanentSendError(reason)


def metadata_key(idempotency_key: str) -> str:
    """The idempotency key as Postmark metadata can hold it: itself when short enough,
    else `sha256:` and its SHA-256 in hex (71 characters)."""
    if len(idempotency_key) <= MAX_METADATA_VALUE:
        return idempotency_key
    return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()
