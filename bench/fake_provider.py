"""A stand-in email API for `bench.delivery`: answers SendGrid's /v3/mail/send with 202."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"x-message-id", f"fake-{next(_ids)}".encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
