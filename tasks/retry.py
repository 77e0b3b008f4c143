"""Which failures are worth a retry: lost connections and lock conflicts, not bugs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # PostgreSQL serialization failures and deadlocks: the transaction may simply be re-run.
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in {"40001", "40P01"}


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False
