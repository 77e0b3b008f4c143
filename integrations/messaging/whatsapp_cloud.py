"""Meta's WhatsApp Cloud API: template messages, the only kind a business may start with.

One JSON POST per message to `/{api_version}/{phone_number_id}/messages` with the access
token as a Bearer token:

    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+4915...",
     "type": "template", "biz_opaque_callback_data": "<idempotency key>",
     "template": {"name": ..., "language": {"code": ...},
                  "components": [{"type": "body", "parameters": [{"type": "text", "text": ...}]}]}}

The template, its variables and language come from the message's headers (see
whatsapp_template.py: `X-WhatsApp-Template`, `X-WhatsApp-Params`, `X-WhatsApp-Language`); a
message without a template is refused before anything is sent. The answer's
`messages[0].id` (a `wamid.`) is the provider id. The Cloud API takes no idempotency key;
`biz_opaque_callback_data` carries ours back in the status webhooks, which is how an
ambiguous send is reconciled.

Errors come as Graph API errors, `{"error": {"code": 131056, "error_subcode": ...,
"error_data": {"details": ...}, "fbtrace_id": ...}}`, and are classified on `code`, not
on the HTTP status: Meta answers most of them, rate limits included, with HTTP 400.

- Auth (nothing goes until someone acts): HTTP 401, codes 0, 3, 10, 190 (token expired or
  invalid), 200-299 (permissions), 131005, 131031 (account locked), 131042 (payment),
  133010 (number not registered), 368 (temporarily blocked for policy violations), and 100
  with subcode 33 (the phone number id is not ours or does not exist).
- Transient: codes 4, 80007, 130429, 131048, 131056 (rate limits; the pair limit 131056
  allows about one message every few seconds to the same person), 1, 2, 131000, 131016,
  133004 (service trouble), and any 429 or 5xx, with the wait from Retry-After or from
  `X-Business-Use-Case-Usage`'s `estimated_time_to_regain_access` (minutes) when given.
- Permanent: everything else, e.g. 131026 (undeliverable), 131047 (re-engagement window),
  131050 (the recipient stopped marketing messages: `suppress_reason="whatsapp_opt_out"`),
  132000-132999 (template errors: wrong variable count, unknown name or language, paused).

Many of these (131026, 131047, 131049, 131050) usually arrive later in the `messages`
webhook's statuses rather than in the send answer; the same table serves both.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Final
from urllib.parse import quote

import httpx

from integrations.messaging._http import (
    CLIENT_HEADERS,
    DEFAULT_TIMEOUT,
    E164,
    check_base_url,
    exchange,
    int_code,
    retry_after_seconds,
)
from integrations.messaging.errors import (
    ProviderAuthError,
    ProviderPermanentError,
    ProviderTransientError,
)
from integrations.messaging.whatsapp_template import (
    TemplateError,
    template_language,
    template_name,
    template_params,
)
from integrations.provider_http import ClientOwner, Kind, json_object, status_kind
from integrations.senders import AmbiguousSendError, OutboundMessage, SendResult

logger = logging.getLogger(__name__)

PROVIDER: Final = "whatsapp_cloud"
MAX_CALLBACK_DATA: Final = 512

AUTH_CODES: Final[Mapping[int, str]] = {
    0: "authentication failed",
    3: "capability or permission missing",
    10: "permission denied",
    190: "access token expired or invalid",
    368: "temporarily blocked for policy violations",
    131005: "access denied",
    131031: "business account locked",
    131042: "business eligibility payment issue",
    133010: "phone number not registered",
}
TRANSIENT_CODES: Final[Mapping[int, str]] = {
    1: "unknown API error",
    2: "API service temporarily unavailable",
    4: "application rate limit",
    80007: "WhatsApp Business Account rate limit",
    130429: "throughput rate limit",
    131000: "something went wrong",
    131016: "service unavailable",
    131048: "spam rate limit",
    131056: "pair rate limit (same recipient too often)",
    133004: "server temporarily unavailable",
}
PERMANENT_CODES: Final[Mapping[int, str]] = {
    100: "invalid parameter",
    130472: "recipient is part of a Meta experiment",
    131008: "required parameter missing",
    131009: "parameter value invalid",
    131021: "recipient cannot be the sender",
    131026: "message undeliverable",
    131030: "recipient not in the test allow-list",
    131047: "re-engagement window closed",
    131049: "not delivered to keep engagement healthy",
    131050: "recipient stopped marketing messages",
    131051: "unsupported message type",
    132000: "template variable count mismatch",
    132001: "template does not exist in this language",
    132005: "template text too long",
    132007: "template format policy violated",
    132012: "template variable format mismatch",
    132015: "template paused",
    132016: "template disabled",
}
SUPPRESS_CODES: Final[Mapping[int, str]] = {131050: "whatsapp_opt_out"}
# Code 100 "Unsupported post request" with this subcode: the object (our phone number id)
# does not exist or is not ours to use.
_NO_SUCH_OBJECT: Final = 33


class WhatsAppCloudSender(ClientOwner):
    """`Sender` for channel "whatsapp" through Meta's Cloud API."""

    channel: ClassVar[str] = "whatsapp"

    def __init__(
        self,
        access_token: str,
        phone_number_id: str,
        *,
        client: httpx.Client | None = None,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        template_language: str = "en",
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        if not access_token:
            raise ValueError("the WhatsApp Cloud API needs an access token")
        if not phone_number_id.strip().isdigit():
            raise ValueError("the WhatsApp phone number id is the numeric id, not the number")
        if not api_version.startswith("v"):
            raise ValueError("the Graph API version looks like v21.0")
        self._url = (
            f"{check_base_url(base_url, what='the Graph API base URL').rstrip('/')}"
            f"/{quote(api_version, safe='.')}/{phone_number_id.strip()}/messages"
        )
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json",
        }
        self._language = template_language
        self._timeout = timeout
        self._use_client(client, timeout=timeout, headers=CLIENT_HEADERS)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def send(self, message: OutboundMessage) -> SendResult:
        payload = self._payload(message)
        response = self._request(payload)
        return self._result(response, message)

    def _payload(self, message: OutboundMessage) -> dict[str, Any]:
        if message.channel != self.channel:
            raise ProviderPermanentError(
                f"{PROVIDER}: this sender sends whatsapp, not {message.channel}",
                provider=PROVIDER,
            )
        to = message.to.strip().removeprefix("whatsapp:")
        if not E164.match(to):
            raise ProviderPermanentError(
                f"{PROVIDER}: recipient is not an E.164 phone number", provider=PROVIDER
            )
        try:
            name = template_name(message.headers)
            language = template_language(message.headers, self._language)
            params = template_params(message.headers)
        except TemplateError as exc:
            raise ProviderPermanentError(f"{PROVIDER}: {exc}", provider=PROVIDER) from None
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if params:
            parameters = (
                [{"type": "text", "text": value} for value in params]
                if isinstance(params, list)
                else [
                    {"type": "text", "parameter_name": key, "text": value}
                    for key, value in params.items()
                ]
            )
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
            "biz_opaque_callback_data": message.idempotency_key[:MAX_CALLBACK_DATA],
        }

    def _request(self, payload: dict[str, Any]) -> httpx.Response:
        """The one place this client talks to the Graph API."""
        return exchange(
            self._client,
            "POST",
            self._url,
            provider=PROVIDER,
            timeout=self._timeout,
            json=payload,
            headers=self._headers,
        )

    def _result(self, response: httpx.Response, message: OutboundMessage) -> SendResult:
        body = json_object(response)
        if response.is_success:
            wamid = _message_id(body)
            if wamid is None:
                raise AmbiguousSendError(
                    f"{PROVIDER}: accepted (HTTP {response.status_code}) without a message id"
                )
            logger.debug("whatsapp cloud accepted %s as %s", message.idempotency_key, wamid)
            return SendResult(provider_message_id=wamid)
        error = body.get("error") if body else None
        details = error if isinstance(error, dict) else {}
        code = int_code(details.get("code"))
        subcode = int_code(details.get("error_subcode"))
        exc = _error(response, code, subcode)
        logger.warning(
            "whatsapp cloud refused %s: HTTP %s, code %s, subcode %s",
            message.idempotency_key,
            response.status_code,
            code,
            subcode,
        )
        raise exc


def _message_id(body: dict[str, Any] | None) -> str | None:
    messages = body.get("messages") if body else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return None
    wamid = messages[0].get("id")
    return wamid if isinstance(wamid, str) and wamid else None


def _error(
    response: httpx.Response, code: int | None, subcode: int | None
) -> ProviderAuthError | ProviderTransientError | ProviderPermanentError:
    """Classified on Meta's code first; an unknown code, or none, on the HTTP status."""
    status = response.status_code
    kind, title = _kind(code, subcode)
    if kind is None:
        kind = status_kind(status, timeout_is_transient=False)
    reason = f"{PROVIDER}: HTTP {status}"
    if code is not None:
        reason += f", error {code}" + (f" ({title})" if title else "")
    if kind == "auth":
        return ProviderAuthError(reason, provider=PROVIDER, code=code, status=status)
    if kind == "transient":
        return ProviderTransientError(
            reason,
            provider=PROVIDER,
            code=code,
            status=status,
            retry_after=_retry_after(response.headers),
        )
    return ProviderPermanentError(
        reason,
        provider=PROVIDER,
        code=code,
        status=status,
        suppress_reason=SUPPRESS_CODES.get(code or 0),
    )


def _kind(code: int | None, subcode: int | None) -> tuple[Kind | None, str]:
    if code is None:
        return None, ""
    if code in AUTH_CODES:
        return "auth", AUTH_CODES[code]
    if 200 <= code <= 299:
        return "auth", "permission missing"
    if code == 100 and subcode == _NO_SUCH_OBJECT:
        return "auth", "phone number id unknown or not ours"
    if code in TRANSIENT_CODES:
        return "transient", TRANSIENT_CODES[code]
    if code in PERMANENT_CODES:
        return "permanent", PERMANENT_CODES[code]
    if 132000 <= code <= 132999:
        return "permanent", "template error"
    return None, ""


def _retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After when Meta sends it; else the business use case usage header's
    `estimated_time_to_regain_access`, in minutes, for whichever limit is hit."""
    seconds = retry_after_seconds(headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    raw = headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in (usage.values() if isinstance(usage, dict) else ())
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max((m for m in minutes if isinstance(m, int | float) and m > 0), default=None)
    return retry_after_seconds(str(longest * 60)) if longest is not None else None
