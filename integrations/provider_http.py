"""The HTTP plumbing every provider connector shares (mail, messaging, CRM).

- `ClientOwner`: a connector's httpx client, either injected (tests pass one over
  `httpx.MockTransport`; the caller closes it) or made here and closed by `close`.
- `read_retry_after`: a Retry-After value in seconds, from either of its two forms
  (`http_date` reads the date form).
- `status_kind`: what an error answer's HTTP status says when the provider's own error
  code says nothing.
- `json_body` / `json_object`: an answer's JSON, or None when it is not JSON.

Each family keeps what differs: its timeouts, how transport failures map onto its typed
errors, how far it trusts a Retry-After value, and its providers' error codes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal, Self

import httpx

# What an error answer means for the message or request that got it: `auth`, nothing goes
# until someone fixes credentials or configuration; `transient`, trying later can work;
# `permanent`, sending the same request again gets the same answer.
Kind = Literal["auth", "transient", "permanent"]

AUTH_STATUSES: Final = frozenset({401, 403})


def new_client(
    timeout: httpx.Timeout | float, *, headers: Mapping[str, str] | None = None
) -> httpx.Client:
    """A client for a connector that was given none. It never follows redirects: an API that
    redirects a request is misconfigured, and the redirect is not where we meant to send."""
    return httpx.Client(timeout=timeout, follow_redirects=False, headers=headers)


class ClientOwner:
    """Holds a connector's httpx client and closes it only if the connector made it: an
    injected client belongs to whoever injected it, who may be sharing it."""

    _client: httpx.Client
    _owns_client: bool

    def _use_client(
        self,
        client: httpx.Client | None,
        *,
        timeout: httpx.Timeout | float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Use `client`, or a new one with `timeout` and `headers` that `close` closes."""
        self._owns_client = client is None
        self._client = client if client is not None else new_client(timeout, headers=headers)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def http_date(text: str) -> datetime | None:
    """An HTTP date (RFC 9110's IMF-fixdate, or the obsolete forms `email.utils` reads) as
    an aware datetime; None when the text is not one. No zone is taken as UTC, as HTTP's."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def read_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a Retry-After value asks for, in seconds: delay-seconds or an HTTP date
    (RFC 9110). None when absent, unreadable or NaN.

    Not clamped: a date in the past gives a negative wait and "inf" an infinite one, because
    the families differ in what they make of those (the `_http` modules of mail and
    messaging, crm.http)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        when = http_date(text)
        return None if when is None else (when - (now or datetime.now(UTC))).total_seconds()
    return None if math.isnan(seconds) else seconds


# A provider asking for more than a day is misreading its own clock or ours.
MAX_RETRY_AFTER: Final = 24 * 3600.0


def bounded_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header's wait in seconds, clamped to [0, a day]; None when absent,
    unreadable or not finite, so an "inf" never reaches a scheduler."""
    seconds = read_retry_after(value, now=now)
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def status_kind(
    status: int,
    *,
    auth: Collection[int] = AUTH_STATUSES,
    timeout_is_transient: bool = True,
) -> Kind:
    """The kind of error an HTTP status alone says: `auth` for the statuses in `auth`;
    `transient` for 429, 5xx and 408 (the server gave up waiting for our request);
    `permanent` for anything else. Providers whose refusals carry a code of their own are
    classified on the code first, and on this only when the code says nothing.

    `timeout_is_transient=False` keeps a 408 permanent, as the Postmark, WhatsApp Cloud and
    Slack clients have always had it."""
    if status in auth:
        return "auth"
    if status == 429 or status >= 500 or (status == 408 and timeout_is_transient):
        return "transient"
    return "permanent"


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it has none or it is not JSON (an HTML error page
    from a proxy, a cut-off body)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON when it is an object, else None: errors are then classified on
    the status alone."""
    body = json_body(response)
    return body if isinstance(body, dict) else None
