"""What every database task shares: which failures are worth a retry, and how it runs."""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import DBAPIError, OperationalError

P = ParamSpec("P")
R = TypeVar("R")


def collection_paused(batch: Callable[P, R]) -> Callable[P, R]:
    """One batch's work with the cyclic garbage collector off. A batch's rows, profiles and
    facts live until its end and then die by reference counting; a young collection in
    between only walks them to find them alive (fraud-eval: 31 of them, 0.65 s, a tenth
    of the fraud checks). Cycles made meanwhile wait for the next collection after it."""

    @wraps(batch)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return batch(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


def is_transient(exc: BaseException) -> bool:
    """Lost connections, lock waits, serialization failures and deadlocks: re-running the
    transaction can succeed. A missing table or a constraint violation cannot."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    original = getattr(exc, "orig", None)
    code = getattr(original, "sqlstate", None)
    if code:
        return code.startswith("08") or code in {"40001", "40P01", "55P03", "57P01"}
    if isinstance(exc, OperationalError):
        message = str(original).lower()
        return "locked" in message or "busy" in message
    return False


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


def database_task(name: str) -> Any:
    """A task that does one transaction's work: never cached (the database is the state),
    retried only on transient errors, with a growing delay."""
    return task(
        name=name,
        cache_policy=NO_CACHE,
        retries=2,
        retry_delay_seconds=[1, 5],
        retry_condition_fn=retry_on_transient,
    )
