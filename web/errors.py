"""Every error answer is JSON with a reason: bad input is the sender's to fix, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException


class ApiError(Exception):
    """An answer other than success, raised anywhere a request is handled."""

    def __init__(self, status: int, error: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason, self.extra = status, error, reason, extra


def error_body(error: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "reason": reason, **extra}


_HTTP_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.error, exc.reason, **exc.extra), exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(error_body("malformed_json", "the body is not valid JSON"), 400)
        # Locations and messages only: the rejected values may be personal data.
        fields = [
            {
                "field": ".".join(str(part) for part in e["loc"] if part != "body"),
                "message": e["msg"],
            }
            for e in errors
        ]
        return JSONResponse(
            error_body("invalid", "some fields are missing or wrong", fields=fields), 422
        )

    @app.exception_handler(DataError)
    async def _unstorable(_request: Request, _exc: DataError) -> JSONResponse:
        # The database refused a value the schema let through: a number beyond 64 bits, a
        # NUL character. The sender's data, so a 4xx; the statement is not echoed.
        reason = "a value is out of range or holds characters that cannot be stored"
        return JSONResponse(error_body("invalid", reason), 422)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        error = _HTTP_ERRORS.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(error, str(exc.detail)), exc.status_code, headers=exc.headers
        )
