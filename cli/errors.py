"""User errors print one line and exit non-zero; anything else is a bug and shows a trace."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from sqlalchemy.exc import OperationalError

from config.settings import SettingsError
from db.advocates import CodeTaken
from db.programs import ProgramExists, ProgramNotFound
from referral.codes import InvalidCode
from referral.programs import ProgramFileError


class UserError(Exception):
    """Something the person running the command can fix."""


def check_status(status: str | None, statuses: tuple[str, ...]) -> None:
    """`--status` filters take one of a fixed set; anything else says which."""
    if status is not None and status not in statuses:
        raise UserError(f"--status must be one of: {', '.join(statuses)}")


USER_ERRORS: tuple[type[Exception], ...] = (
    UserError,
    SettingsError,
    ProgramFileError,
    ProgramNotFound,
    ProgramExists,
    CodeTaken,
    InvalidCode,
)

F = TypeVar("F", bound=Callable[..., Any])


def friendly(command: F) -> F:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            fail(str(exc))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
            fail(f"database: {reason}")

    return wrapper  # type: ignore[return-value]


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)
