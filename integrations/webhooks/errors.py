"""What a webhook check can fail with, phrased so the reason is safe to send back.

`SignatureError.reason` ends up in a 401 JSON body, so it names which check failed and
nothing else: never a secret, an expected signature, a header value or the body. Saying
which check failed helps an operator fix a clock or a secret; it gives an attacker nothing
a constant-time compare does not already hide.
"""

from __future__ import annotations


class SignatureError(Exception):
    """The request cannot be shown to come from the provider: answer 401, process nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedPayload(ValueError):
    """The body is not what the provider sends (bad XML, missing fields): answer 400.

    Messages name the element or field, never its content, which may hold personal data.
    """
