"""What the messaging clients share beyond integrations/provider_http.py: timeouts, transport
failures mapped to typed errors, how far a Retry-After is trusted.

Which transport failures are safe to retry: a request that never reached the provider
(connection refused, connect or pool timeout, a request body cut off while writing) is
transient; once the whole request may have reached it (no answer in time, the connection
dropped while waiting), the message may have gone, and the outcome is ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import httpx

from integrations.messaging.errors import ProviderAuthError, ProviderTransientError
from integrations.provider_http import bounded_retry_after
from integrations.senders import AmbiguousSendError, PermanentSendError

# Connecting is quick or not happening; an answer from a send API comes in well under 10 s.
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
USER_AGENT: Final = "referral-engine"
# Sent by the clients the senders make themselves; an injected client keeps its own headers.
CLIENT_HEADERS: Final[Mapping[str, str]] = {"User-Agent": USER_AGENT}
E164: Final = re.compile(r"^\+[1-9][0-9]{4,14}$")


def check_base_url(url: str, *, what: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ValueError(f"{what} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{what} must be an absolute http(s) URL")
    return url


def exchange(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider: str,
    timeout: httpx.Timeout | float,
    **kwargs: Any,
) -> httpx.Response:
    """One HTTP exchange; transport failures come out as typed send errors that name the
    provider and the failure, never the URL (a Slack webhook URL is a secret)."""
    try:
        return client.request(method, url, timeout=timeout, **kwargs)
    except (httpx.ConnectTimeout, httpx.PoolTimeout):
        raise ProviderTransientError(
            f"{provider}: timed out connecting", provider=provider
        ) from None
    except httpx.WriteTimeout:
        raise ProviderTransientError(
            f"{provider}: timed out sending the request", provider=provider
        ) from None
    except httpx.ReadTimeout:
        raise AmbiguousSendError(
            f"{provider}: no answer in time after sending; the message may have gone"
        ) from None
    except (httpx.ConnectError, httpx.ProxyError):
        raise ProviderTransientError(f"{provider}: cannot connect", provider=provider) from None
    except httpx.WriteError:
        raise ProviderTransientError(
            f"{provider}: connection lost while sending the request", provider=provider
        ) from None
    except (httpx.ReadError, httpx.RemoteProtocolError, httpx.DecodingError):
        raise AmbiguousSendError(
            f"{provider}: connection lost waiting for the answer; the message may have gone"
        ) from None
    except httpx.UnsupportedProtocol:
        raise ProviderAuthError(
            f"{provider}: the URL's scheme is not usable", provider=provider
        ) from None
    except httpx.LocalProtocolError:
        raise PermanentSendError(f"{provider}: the request could not be encoded") from None
    except httpx.TransportError as exc:
        raise AmbiguousSendError(f"{provider}: transport failure ({type(exc).__name__})") from None


retry_after_seconds = bounded_retry_after


def int_code(value: object) -> int | None:
    """A provider error code that should be an int, sometimes sent as a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
