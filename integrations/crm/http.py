"""The one way CRM connectors talk HTTP, and the typed errors they raise.

Every request of a connector goes through `CrmHttp.request`, which maps what can go wrong
onto three kinds a caller can act on:

- `CrmTransientError`: trying later can work (429, 408, 5xx, connection failures and
  timeouts before anything was sent). `retry_after` is the provider's own wait in seconds
  when it said one (Retry-After, or the provider's rate-limit headers).
- `CrmAuthError` (a `CrmPermanentError`): 401/403, the credentials or their scopes are
  wrong; nothing works until someone fixes them.
- `CrmPermanentError`: any other 4xx, or an answer that is not the JSON the endpoint
  documents. Retrying sends the same request and gets the same answer.

`CrmAmbiguousError` is the fourth case, only for requests marked `idempotent=False` (a
create): the request may have been carried out (a read timeout after sending), so it must
be reconciled, not blindly sent again. Idempotent requests (reads, searches, setting
properties) raise `CrmTransientError` in the same situation.

Retries with backoff are the caller's job (Prefect task retries with `is_transient` as
retry condition). One exception, by choice: a single 429 whose wait is short
(`max_inline_wait`, 10 s by default) is waited out in place and the request sent once more.
HubSpot's limits are per second or per ten seconds, so that one wait is nearly always
enough, and it is much cheaper than failing a task run that holds a batch of work. A second
429, or a longer wait, is raised for the caller to schedule.

Messages name the provider, the endpoint and the status or the provider's error code;
never a token, a request or response body, an email or a phone number. Nothing is chained
to httpx exceptions, whose text can include URLs with query strings.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from integrations.provider_http import bounded_retry_after, status_kind

log = logging.getLogger("integrations.crm")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_INLINE_WAIT = 10.0


class CrmError(Exception):
    """A CRM request failed. The message is safe to log: it never quotes data or secrets."""

    def __init__(self, reason: str, *, status: int | None = None, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code


class CrmTransientError(CrmError):
    """Trying again later can succeed; `retry_after` (seconds) when the provider said."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(reason, status=status, code=code)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class CrmPermanentError(CrmError):
    """Trying again cannot succeed: the request, the configuration or the answer is wrong."""


class CrmAuthError(CrmPermanentError):
    """The provider refused the credentials (or they lack a scope)."""


class CrmAmbiguousError(CrmError):
    """A non-idempotent request may or may not have been carried out: reconcile, do not
    resend blindly."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Which records a write-back changed, and why the others were refused: the
    provider's error code (and field names), never its message, which may quote values."""

    updated: tuple[str, ...]
    failed: Mapping[str, str]


def is_transient(error: BaseException) -> bool:
    """For Prefect's `retry_condition_fn`: only transient CRM errors are worth a retry."""
    return isinstance(error, CrmTransientError)


# A provider hook: its own reading of an error answer (e.g. Salesforce's 403
# REQUEST_LIMIT_EXCEEDED is a rate limit, not a permission problem). None: the default.
Classifier = Callable[[httpx.Response, str], CrmError | None]


# Shared with messaging: clamped to [0, a day], None when not a finite wait.
parse_retry_after = bounded_retry_after


class CrmHttp:
    """The request choke-point over an injected `httpx.Client`.

    `provider` names the CRM in messages; `classify` is the provider's reading of error
    answers, consulted before the generic status mapping.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        provider: str,
        classify: Classifier | None = None,
        max_inline_wait: float = MAX_INLINE_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.provider = provider
        self._classify = classify
        self.max_inline_wait = max_inline_wait
        self._sleep = sleep

    def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        json_data: Any = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
        expect_json: bool = True,
    ) -> Any:
        """Send once (twice after one short 429) and return the decoded JSON answer.

        `endpoint` is a short label for messages and logs ("contacts search"), never a URL
        with values in it. With `expect_json=False` an empty success answer returns None.
        """
        waited = False
        while True:
            response = self._send(
                method,
                url,
                endpoint=endpoint,
                headers=headers,
                json_data=json_data,
                form=form,
                params=params,
                idempotent=idempotent,
            )
            log.debug("%s %s %s -> %s", self.provider, method, endpoint, response.status_code)
            if response.is_success:
                return self._decode(response, endpoint, expect_json)
            error = self.error_for(response, endpoint)
            if (
                isinstance(error, CrmTransientError)
                and error.rate_limited
                and not waited
                and error.retry_after is not None
                and error.retry_after <= self.max_inline_wait
            ):
                log.info(
                    "%s %s rate limited: waiting %.1f s once",
                    self.provider,
                    endpoint,
                    error.retry_after,
                )
                self._sleep(error.retry_after)
                waited = True
                continue
            raise error

    def _send(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        headers: Mapping[str, str] | None,
        json_data: Any,
        form: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        idempotent: bool,
    ) -> httpx.Response:
        where = f"{self.provider} {endpoint}"
        try:
            return self.client.request(
                method,
                url,
                headers=dict(headers or {}),
                json=json_data,
                data=dict(form) if form is not None else None,
                params=dict(params) if params is not None else None,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the provider: safe to retry whatever the request was.
            raise CrmTransientError(f"{where}: cannot connect ({type(exc).__name__})") from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            reason = f"{where}: no complete answer ({type(exc).__name__})"
            if idempotent:
                raise CrmTransientError(reason) from None
            raise CrmAmbiguousError(reason + "; the request may have been carried out") from None
        except httpx.HTTPError as exc:
            raise CrmPermanentError(f"{where}: request failed ({type(exc).__name__})") from None

    def _decode(self, response: httpx.Response, endpoint: str, expect_json: bool) -> Any:
        if not response.content:
            if expect_json:
                raise CrmPermanentError(
                    f"{self.provider} {endpoint}: empty answer where JSON was expected",
                    status=response.status_code,
                )
            return None
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            # Not chained and not quoted: the body may hold personal data.
            raise CrmPermanentError(
                f"{self.provider} {endpoint}: the answer is not valid JSON",
                status=response.status_code,
            ) from None

    def error_for(self, response: httpx.Response, endpoint: str) -> CrmError:
        """The typed error for a non-2xx answer."""
        if self._classify is not None:
            special = self._classify(response, endpoint)
            if special is not None:
                return special
        status = response.status_code
        where = f"{self.provider} {endpoint}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return CrmTransientError(
                f"{where}: rate limited (429)",
                retry_after=retry_after,
                status=status,
                rate_limited=True,
            )
        kind = status_kind(status)
        if kind == "auth":
            return CrmAuthError(f"{where}: credentials refused ({status})", status=status)
        if kind == "transient":
            return CrmTransientError(
                f"{where}: provider error ({status})", retry_after=retry_after, status=status
            )
        return CrmPermanentError(f"{where}: request refused ({status})", status=status)
