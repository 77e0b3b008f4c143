"""Twilio Programmable Messaging: SMS, and WhatsApp through Twilio.

One form-encoded POST per message to `/2010-04-01/Accounts/{AccountSid}/Messages.json` with
HTTP basic auth (the Account SID and Auth Token, or an API key SID and its secret); the 201
answer's `sid` is the provider id. `To`, `Body` and either `From` or `MessagingServiceSid`
(both may be given: Twilio then sends from `From` under the service's settings).

Errors, as Twilio documents them (`{"code": 21211, "message": ..., "status": 400}`):

- 401/403 and code 20003 (or an inactive account, 20005/10001, an unknown account, 20404):
  AuthSendError; so are codes saying our sender is unusable (invalid From 21212, From not a
  Twilio number 21601, From missing 21603, invalid Messaging Service SID 21705).
- 429 / code 20429: transient, with Retry-After when present (Twilio documents a 429 as
  never processed and always safe to retry, but promises no Retry-After); code 21730
  (maintenance) and 5xx: transient.
- 400 with a code (21211 invalid To, 21610 recipient replied STOP, 21614 not a mobile number,
  21408 region not enabled, 21617 body too long, ...): PermanentSendError carrying `code`;
  21610 also sets `suppress_reason="sms_stop"`, 21211 "invalid_number", 21614 "not_mobile".
- No answer in time after sending: AmbiguousSendError; a 201 whose body has no `sid`: the
  message was created, so also ambiguous. Refused connections: transient.

Twilio's error `message` quotes the phone number ("The 'To' number +1555... is not a valid
phone number"), so it is never copied into our errors or logs: only the code and our own
title for it. The Messages API takes no idempotency key, so an ambiguous send can only be
reconciled by looking the message up (or by its status callback), never by sending again.
Failures after Twilio accepted a message (30xxx carrier errors, WhatsApp's 63016 "outside
the 24-hour window") arrive at `status_callback`, not here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import ClassVar, Final
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
from integrations.messaging.whatsapp_template import TemplateError, template_params
from integrations.provider_http import ClientOwner, Kind, json_object, status_kind
from integrations.senders import AmbiguousSendError, OutboundMessage, SendResult

logger = logging.getLogger(__name__)

PROVIDER: Final = "twilio"
API_PATH: Final = "/2010-04-01/Accounts/{account_sid}/Messages.json"
MAX_BODY_CHARS: Final = 1600
# Twilio Content API template for WhatsApp through Twilio (see TwilioWhatsAppSender).
CONTENT_SID_HEADER: Final = "X-Twilio-Content-Sid"
_CONTENT_SID: Final = re.compile(r"^HX[0-9a-fA-F]{32}$")

_AUTH: Final[Kind] = "auth"
_TRANSIENT: Final[Kind] = "transient"
_PERMANENT: Final[Kind] = "permanent"

# code: (our title, kind, suppression reason). Unlisted 4xx codes are permanent.
ERROR_CODES: Final[Mapping[int, tuple[str, str, str | None]]] = {
    10001: ("account not active", _AUTH, None),
    20003: ("authentication failed", _AUTH, None),
    20005: ("account not active", _AUTH, None),
    20404: ("account or resource not found", _AUTH, None),
    20429: ("too many concurrent requests", _TRANSIENT, None),
    21211: ("invalid 'To' number", _PERMANENT, "invalid_number"),
    21212: ("invalid 'From' number", _AUTH, None),
    21408: ("sending to this region is not enabled", _PERMANENT, None),
    21601: ("'From' is not an SMS-capable number of this account", _AUTH, None),
    21602: ("message body required", _PERMANENT, None),
    21603: ("'From' number required", _AUTH, None),
    21604: ("'To' number required", _PERMANENT, None),
    21606: ("'From' number cannot send to this destination", _PERMANENT, None),
    21610: ("recipient unsubscribed (replied STOP)", _PERMANENT, "sms_stop"),
    21612: ("'To' number not reachable from this sender", _PERMANENT, None),
    21614: ("'To' number is not a mobile number", _PERMANENT, "not_mobile"),
    21617: ("message body too long", _PERMANENT, None),
    21705: ("invalid Messaging Service SID", _AUTH, None),
    21730: ("Twilio under maintenance", _TRANSIENT, None),
}


class TwilioSmsSender(ClientOwner):
    """`Sender` for channel "sms" through Twilio's Messages API."""

    channel: ClassVar[str] = "sms"
    _address_prefix: ClassVar[str] = ""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        client: httpx.Client | None = None,
        base_url: str = "https://api.twilio.com",
        status_callback: str | None = None,
        api_key_sid: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        """`api_key_sid`: authenticate with an API key (SK...) instead of the account's
        Auth Token; `auth_token` is then that key's secret. `timeout` applies to every
        request, also on an injected client."""
        if not account_sid or not auth_token:
            raise ValueError("Twilio needs an account SID and an auth token")
        if not from_number and not messaging_service_sid:
            raise ValueError("Twilio needs a From number or a Messaging Service SID")
        if status_callback is not None:
            check_base_url(status_callback, what="the status callback")
        base = check_base_url(base_url, what="the Twilio base URL").rstrip("/")
        self._url = base + API_PATH.format(account_sid=quote(account_sid, safe=""))
        self._auth = httpx.BasicAuth(api_key_sid or account_sid, auth_token)
        self._from = self._address(from_number) if from_number else None
        self._service = messaging_service_sid
        self._status_callback = status_callback
        self._timeout = timeout
        self._use_client(client, timeout=timeout, headers=CLIENT_HEADERS)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(channel={self.channel!r})"

    def send(self, message: OutboundMessage) -> SendResult:
        form = self._form(message)
        response = self._request(form)
        return self._result(response, message)

    def _address(self, number: str) -> str:
        bare = number.removeprefix(self._address_prefix) if self._address_prefix else number
        if not E164.match(bare):
            raise ValueError("phone numbers are E.164: + and up to 15 digits")
        return self._address_prefix + bare

    def _form(self, message: OutboundMessage) -> dict[str, str]:
        if message.channel != self.channel:
            raise ProviderPermanentError(
                f"{PROVIDER}: this sender sends {self.channel}, not {message.channel}",
                provider=PROVIDER,
            )
        try:
            to = self._address(message.to.strip())
        except ValueError:
            raise ProviderPermanentError(
                f"{PROVIDER}: recipient is not an E.164 phone number", provider=PROVIDER
            ) from None
        form = {"To": to, **self._content(message)}
        if self._from:
            form["From"] = self._from
        if self._service:
            form["MessagingServiceSid"] = self._service
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        return form

    def _content(self, message: OutboundMessage) -> dict[str, str]:
        if not message.text.strip():
            raise ProviderPermanentError(f"{PROVIDER}: empty message body", provider=PROVIDER)
        if len(message.text) > MAX_BODY_CHARS:
            raise ProviderPermanentError(
                f"{PROVIDER}: message body over {MAX_BODY_CHARS} characters",
                provider=PROVIDER,
                code=21617,
            )
        return {"Body": message.text}

    def _request(self, form: dict[str, str]) -> httpx.Response:
        """The one place this client talks to Twilio."""
        return exchange(
            self._client,
            "POST",
            self._url,
            provider=PROVIDER,
            timeout=self._timeout,
            data=form,
            auth=self._auth,
            headers={"Accept": "application/json"},
        )

    def _result(self, response: httpx.Response, message: OutboundMessage) -> SendResult:
        body = json_object(response)
        if response.is_success:
            sid = body.get("sid") if body else None
            if not isinstance(sid, str) or not sid:
                raise AmbiguousSendError(
                    f"{PROVIDER}: accepted (HTTP {response.status_code}) without a message sid"
                )
            logger.debug("twilio accepted %s as %s", message.idempotency_key, sid)
            return SendResult(provider_message_id=sid)
        code = int_code(body.get("code")) if body else None
        error = _error(response, code)
        logger.warning(
            "twilio refused %s: HTTP %s, code %s",
            message.idempotency_key,
            response.status_code,
            code,
        )
        raise error


def _error(
    response: httpx.Response, code: int | None
) -> ProviderAuthError | ProviderTransientError | ProviderPermanentError:
    status = response.status_code
    title, kind, suppress = ERROR_CODES.get(code or 0, ("", "", None))
    reason = f"{PROVIDER}: HTTP {status}"
    if code is not None:
        reason += f", error {code}" + (f" ({title})" if title else "")
    by_status = status_kind(status, auth=(401, 403, 404))
    if kind == _AUTH or (not kind and by_status == _AUTH):
        return ProviderAuthError(reason, provider=PROVIDER, code=code, status=status)
    if kind == _TRANSIENT or by_status == _TRANSIENT:
        return ProviderTransientError(
            reason,
            provider=PROVIDER,
            code=code,
            status=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    return ProviderPermanentError(
        reason, provider=PROVIDER, code=code, status=status, suppress_reason=suppress
    )


class TwilioWhatsAppSender(TwilioSmsSender):
    """`Sender` for channel "whatsapp" through Twilio: the same API, with `whatsapp:+E164`
    addresses (give `from_number` as +E164 or whatsapp:+E164).

    Business-initiated WhatsApp messages must be approved templates: outside the 24-hour
    window after the customer last wrote, a free-form Body is accepted (201) and then fails
    (63016, reported to the status callback). A message whose headers carry
    `X-Twilio-Content-Sid: HX...` (or an `X-WhatsApp-Template` that is a Content SID) is sent
    as that Content API template, with `X-WhatsApp-Params` (a JSON list, or an object of
    named values) as its ContentVariables: a list becomes {"1": first, "2": second, ...}.
    Without one, the text goes as a free-form Body.
    """

    channel: ClassVar[str] = "whatsapp"
    _address_prefix: ClassVar[str] = "whatsapp:"

    def _content(self, message: OutboundMessage) -> dict[str, str]:
        content_sid = _content_sid(message.headers)
        if content_sid is None:
            return super()._content(message)
        try:
            params = template_params(message.headers)
        except TemplateError as exc:
            raise ProviderPermanentError(f"{PROVIDER}: {exc}", provider=PROVIDER) from None
        variables = (
            {str(n): value for n, value in enumerate(params, start=1)}
            if isinstance(params, list)
            else params
        )
        content = {"ContentSid": content_sid}
        if variables:
            content["ContentVariables"] = json.dumps(variables, ensure_ascii=False)
        return content


def _content_sid(headers: Mapping[str, str]) -> str | None:
    for name in (CONTENT_SID_HEADER, "X-WhatsApp-Template"):
        value = headers.get(name, "").strip()
        if _CONTENT_SID.match(value):
            return value
    return None
