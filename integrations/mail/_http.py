"""What the HTTP senders share: timeouts, transport failures as typed errors, wait hints.

Transport failures split on whether the request can have reached the provider:

- nothing was sent (no connection, no pooled connection free, the request could not be
  written completely): TransientSendError, sending again is safe;
- the request was sent and no answer came (read timeout, connection dropped while waiting):
  AmbiguousSendError, the provider may have taken the message and sending again may deliver
  it twice, so the row goes to reconciliation.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx

from integrations.provider_http import http_date
from integrations.senders import AmbiguousSendError, TransientSendError

logger = logging.getLogger("integrations.mail")

# Connecting and waiting for a pooled connection fail fast (nothing was sent, trying later is
# safe); reading waits longer, because a read timeout leaves the outcome unknown.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0, pool=5.0)
MAX_REASON_CHARS: Final = 300

# Anything shaped like an address: provider error messages quote them ("Found inactive
# addresses: ...", "Invalid 'From' address: '...'"), and reasons end up in logs and the UI.
_ADDRESS: Final = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")


def post_json(
    client: httpx.Client,
    url: str,
    *,
    provider: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    timeout: httpx.Timeout,
) -> httpx.Response:
    """POST `body` as JSON; transport failures come out as typed send errors."""
    started = time.monotonic()
    try:
        response = client.post(url, headers=dict(headers), json=body, timeout=timeout)
    except (httpx.ConnectTimeout, httpx.ConnectError, httpx.PoolTimeout) as exc:
        raise TransientSendError(f"{provider}: cannot connect ({type(exc).__name__})") from None
    except (httpx.WriteTimeout, httpx.WriteError) as exc:
        # The request was not written completely, so the provider cannot act on it.
        raise TransientSendError(
            f"{provider}: the request could not be sent ({type(exc).__name__})"
        ) from None
    except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
        raise AmbiguousSendError(
            f"{provider}: no answer after the request was sent ({type(exc).__name__})"
        ) from None
    except httpx.TransportError as exc:  # proxy errors and the like, before sending
        raise TransientSendError(f"{provider}: {type(exc).__name__}") from None
    logger.debug(
        "%s answered %s in %.0f ms",
        provider,
        response.status_code,
        (time.monotonic() - started) * 1000,
    )
    return response


def retry_after(response: httpx.Response, clock: Callable[[], float]) -> float | None:
    """The provider's own wait in seconds: `Retry-After` (seconds or an HTTP date), else
    `X-RateLimit-Reset` (a unix time; small values are taken as seconds to wait)."""
    header = response.headers.get("Retry-After", "").strip()
    # Seconds are digits here, as RFC 9110 writes them; anything else that is not a date
    # ("-1", "1e3") leaves the wait to X-RateLimit-Reset.
    if re.fullmatch(r"[0-9]{1,10}(\.[0-9]+)?", header):
        return float(header)
    when = http_date(header)
    if when is not None:
        return max(0.0, when.timestamp() - clock())
    reset = response.headers.get("X-RateLimit-Reset", "").strip()
    if re.fullmatch(r"[0-9]{1,12}(\.[0-9]+)?", reset):
        value = float(reset)
        return max(0.0, value - clock()) if value > 1_000_000_000 else value
    return None


def safe_reason(text: str) -> str:
    """A provider's message made fit for a log: addresses replaced, one line, capped."""
    cleaned = _ADDRESS.sub("<address>", " ".join(text.split()))
    if len(cleaned) > MAX_REASON_CHARS:
        cleaned = cleaned[: MAX_REASON_CHARS - 3] + "..."
    return cleaned
