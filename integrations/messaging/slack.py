"""Slack incoming webhooks for the team's alerts, and the alerts themselves.

`SlackWebhook(url).post(text, blocks)` sends one JSON POST to the webhook URL. Slack answers
200 with the plain-text body `ok`; errors are plain-text tokens too, not JSON:

- 400 `invalid_payload`, `no_text`, `user_not_found`, `too_many_attachments`: PermanentSendError
  (this alert is wrong; the next may be fine).
- 403 `action_prohibited`, `posting_to_general_channel_denied`, `invalid_token`; 404
  `no_service`, `channel_not_found`, `no_team`, `team_disabled`; 410 `channel_is_archived`:
  AuthSendError (a permanent error: the webhook is revoked, deleted or points at a closed
  channel, and no alert can go until someone installs a new one).
- 429 (about one message a second per webhook, short bursts allowed): transient, with the
  Retry-After wait; 5xx (`rollup_error`): transient.

The webhook URL is the credential (anyone holding it can post), so it is never logged nor
put in an error; `repr` hides it. Note that httpx itself logs each request's URL at INFO on
the `httpx` logger: keep that logger at WARNING where Slack alerts are sent.

The alert builders name things by id and program only: never an email, a phone number or a
customer's name, since a Slack channel is read by more people than the database is. They
refuse an id that looks like an email address or a phone number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from integrations.messaging._http import (
    CLIENT_HEADERS,
    DEFAULT_TIMEOUT,
    check_base_url,
    exchange,
    retry_after_seconds,
)
from integrations.messaging.errors import (
    ProviderAuthError,
    ProviderPermanentError,
    ProviderTransientError,
)
from integrations.provider_http import ClientOwner, status_kind

logger = logging.getLogger(__name__)

PROVIDER: Final = "slack"
# An alert, not a report: Slack itself cuts messages at 40,000 characters, we at far less.
MAX_TEXT_CHARS: Final = 4000
MAX_BLOCKS: Final = 50
PERMANENT_ERRORS: Final = frozenset(
    {"invalid_payload", "no_text", "user_not_found", "too_many_attachments", "invalid_blocks"}
)
CONFIGURATION_ERRORS: Final = frozenset(
    {
        "action_prohibited",
        "posting_to_general_channel_denied",
        "invalid_token",
        "no_service",
        "no_service_id",
        "channel_not_found",
        "no_team",
        "team_disabled",
        "channel_is_archived",
    }
)
_TOKEN: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class SlackWebhook(ClientOwner):
    """Posts messages to one Slack incoming webhook."""

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self._url = check_base_url(url, what="the Slack webhook URL")
        self._timeout = timeout
        self._use_client(client, timeout=timeout, headers=CLIENT_HEADERS)

    def __repr__(self) -> str:
        return "SlackWebhook(url=<hidden>)"

    def post(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Post one message; `text` is the notification and fallback text, `blocks` the
        layout when given. Raises the typed send errors of integrations/senders.py."""
        if not text.strip():
            raise ProviderPermanentError(f"{PROVIDER}: a message needs text", provider=PROVIDER)
        if blocks is not None and len(blocks) > MAX_BLOCKS:
            raise ProviderPermanentError(
                f"{PROVIDER}: more than {MAX_BLOCKS} blocks", provider=PROVIDER
            )
        payload: dict[str, Any] = {"text": _truncate(text, MAX_TEXT_CHARS)}
        if blocks:
            payload["blocks"] = blocks
        response = self._request(payload)
        self._check(response)

    def post_alert(self, alert: SlackAlert) -> None:
        self.post(alert.text, alert.blocks)

    def _request(self, payload: dict[str, Any]) -> httpx.Response:
        """The one place this client talks to Slack."""
        return exchange(
            self._client, "POST", self._url, provider=PROVIDER, timeout=self._timeout, json=payload
        )

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if response.is_success:
            return
        token = response.text.strip()[:64]
        token = token if _TOKEN.match(token) else ""
        reason = f"{PROVIDER}: HTTP {status}" + (f", {token}" if token else "")
        logger.warning("slack webhook refused an alert: HTTP %s %s", status, token or "-")
        by_status = status_kind(status, auth=(401, 403, 404, 410), timeout_is_transient=False)
        if token in CONFIGURATION_ERRORS or (token not in PERMANENT_ERRORS and by_status == "auth"):
            raise ProviderAuthError(reason, provider=PROVIDER, code=token or None, status=status)
        if by_status == "transient":
            raise ProviderTransientError(
                reason,
                provider=PROVIDER,
                code=token or None,
                status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        raise ProviderPermanentError(reason, provider=PROVIDER, code=token or None, status=status)


# --- alerts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlackAlert:
    """A message for `SlackWebhook.post`: `text` for notifications, `blocks` for layout."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


Ident = int | str

_EMAIL_LIKE: Final = re.compile(r"@")
# An international number (+49 30 1234567, 0049...); bare digits may be a CRM id.
_PHONE_LIKE: Final = re.compile(r"^(\+|00)[1-9][\d\s().-]{5,}$")
_ERROR_TYPE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,99}$")
_LINK: Final = re.compile(r"^https?://[^\s<>|]+$")


def referred_signup_alert(
    *,
    program: str,
    referral_id: Ident,
    referrer_id: Ident,
    referee_id: Ident,
    link: str | None = None,
) -> SlackAlert:
    """A referred lead signed up: for sales to follow up, by ids (customer ids as in the
    CRM), never by contact details."""
    referral = _ident(referral_id, "referral id")
    fields = {
        "Program": _text(program, 150),
        "Referral": referral,
        "Referrer": _ident(referrer_id, "referrer id"),
        "Referred lead": _ident(referee_id, "referee id"),
    }
    text = f"Referred lead signed up in {fields['Program']} (referral {referral})"
    return _alert(text, "Referred lead signed up", fields, link, "Open the referral")


def review_waiting_alert(
    *,
    program: str,
    review_id: Ident,
    referral_id: Ident,
    reason_codes: Sequence[str],
    score: float | None = None,
    waiting: int | None = None,
    link: str | None = None,
) -> SlackAlert:
    """A referral the fraud checks held for a person to decide, with the rules' reason codes;
    `waiting` is how many reviews are open in all."""
    review = _ident(review_id, "review id")
    reasons = ", ".join(_code(r) for r in reason_codes) or "none given"
    fields = {
        "Program": _text(program, 150),
        "Review": review,
        "Referral": _ident(referral_id, "referral id"),
        "Reasons": reasons,
    }
    if score is not None:
        fields["Score"] = f"{score:g}"
    if waiting is not None:
        fields["Open reviews"] = str(int(waiting))
    text = f"Review {review} is waiting in {fields['Program']}: {reasons}"
    return _alert(text, "A referral is waiting for review", fields, link, "Open the review")


def conversions_alert(
    *,
    signed_up: int,
    held_for_review: int,
    open_reviews: int,
    oldest_waiting_hours: float | None = None,
    link: str | None = None,
) -> SlackAlert:
    """What one conversions run brought in: referred leads who signed up (for sales) and
    referrals the fraud checks held (for whoever reviews), with the whole review queue."""
    fields = {
        "Referred sign-ups": str(int(signed_up)),
        "Held for review": str(int(held_for_review)),
        "Open reviews": str(int(open_reviews)),
    }
    if oldest_waiting_hours is not None:
        fields["Oldest waiting"] = f"{oldest_waiting_hours:.1f} h"
    parts = []
    if signed_up:
        parts.append(f"{signed_up} referred lead{'s' if signed_up != 1 else ''} signed up")
    if held_for_review:
        parts.append(f"{held_for_review} held for review ({open_reviews} open in all)")
    text = "; ".join(parts) or f"{open_reviews} reviews open"
    return _alert(text, "New referrals", fields, link, "Open the review queue")


def batch_failed_alert(
    *,
    flow: str,
    run_id: Ident,
    error_type: str,
    batch: Ident | None = None,
    failed: int | None = None,
    link: str | None = None,
) -> SlackAlert:
    """A flow's batch failed. `error_type` is the exception's class name or a reason code,
    never its message (which can quote data)."""
    kind = error_type if _ERROR_TYPE.match(error_type) else "error"
    fields = {"Flow": _text(flow, 150), "Run": _ident(run_id, "run id"), "Error": kind}
    if batch is not None:
        fields["Batch"] = _ident(batch, "batch")
    if failed is not None:
        fields["Failed rows"] = str(int(failed))
    text = f"Batch failed in {fields['Flow']}: {kind} (run {fields['Run']})"
    return _alert(text, "A batch failed", fields, link, "Open the run")


def _alert(
    text: str, title: str, fields: dict[str, str], link: str | None, link_label: str
) -> SlackAlert:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields.items()
            ],
        },
    ]
    if link is not None:
        if not _LINK.match(link):
            raise ValueError("an alert link is an absolute http(s) URL")
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{_escape(link)}|{link_label}>"}],
            }
        )
    return SlackAlert(text=text, blocks=blocks)


def _escape(text: str) -> str:
    """Slack's mrkdwn reserves &, < and > (links, mentions): escaped, a program called
    `<!channel>` notifies nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(value: str, limit: int) -> str:
    return _escape(_truncate(" ".join(value.split()), limit)) or "-"


def _ident(value: Ident, what: str) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError(f"{what} is empty")
    if _EMAIL_LIKE.search(text) or _PHONE_LIKE.match(text):
        raise ValueError(f"{what} looks like contact details; alerts carry ids only")
    return _escape(_truncate(text, 100))


def _code(value: str) -> str:
    return _escape(_truncate(" ".join(str(value).split()), 64))


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
