"""The typed send errors of integrations/senders.py, with the provider's own error code.

The relay handles these as their base classes (transient: try later; permanent: give up;
auth: stop and tell someone; ambiguous: reconcile). The extra attributes let it do more
where a code says more: `suppress_reason` is set when the provider says the address must not
be messaged again on this channel (a recipient who texted STOP: Twilio 21610), so the relay
can add it to the suppression list with that reason.
"""

from __future__ import annotations

from integrations.senders import AuthSendError, PermanentSendError, TransientSendError

# A code is an int for Twilio and Meta, a short token for Slack ("channel_is_archived").
ProviderCode = int | str | None


class ProviderPermanentError(PermanentSendError):
    def __init__(
        self,
        reason: str,
        *,
        provider: str,
        code: ProviderCode = None,
        status: int | None = None,
        suppress_reason: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.provider = provider
        self.code = code
        self.status = status
        self.suppress_reason = suppress_reason


class ProviderAuthError(AuthSendError):
    """Credentials refused, or a configuration no message can get past (a sender number
    that is not ours, a deleted webhook): nothing goes until someone fixes it."""

    def __init__(
        self, reason: str, *, provider: str, code: ProviderCode = None, status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.provider = provider
        self.code = code
        self.status = status
        self.suppress_reason: str | None = None


class ProviderTransientError(TransientSendError):
    def __init__(
        self,
        reason: str,
        *,
        provider: str,
        code: ProviderCode = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, retry_after=retry_after)
        self.provider = provider
        self.code = code
        self.status = status


def provider_code(error: BaseException) -> ProviderCode:
    """The provider's error code carried by a send error, None when it has none."""
    code = getattr(error, "code", None)
    return code if isinstance(code, int | str) else None


def suppress_reason(error: BaseException) -> str | None:
    """Why the address should be suppressed after this error, None when it should not."""
    reason = getattr(error, "suppress_reason", None)
    return reason if isinstance(reason, str) else None
