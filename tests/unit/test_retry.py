"""Only failures that a re-run can fix are retried."""

import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError

from tasks.base import is_transient


class PgError(Exception):
    def __init__(self, sqlstate):
        self.sqlstate = sqlstate


def wrap(kind, original):
    return kind("SELECT 1", {}, original)


def test_lock_waits_and_lost_connections_are_retried():
    assert is_transient(wrap(OperationalError, sqlite3.OperationalError("database is locked")))
    assert is_transient(wrap(OperationalError, PgError("40P01")))  # deadlock
    assert is_transient(wrap(OperationalError, PgError("08006")))  # connection failure


def test_mistakes_are_not_retried():
    assert not is_transient(wrap(OperationalError, sqlite3.OperationalError("no such table: x")))
    assert not is_transient(wrap(OperationalError, PgError("42P01")))  # undefined table
    assert not is_transient(wrap(IntegrityError, PgError("23505")))  # unique violation
    assert not is_transient(ValueError("bug"))
