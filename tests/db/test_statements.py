"""`among`: a batch's thousands of values as one array parameter, matched exactly; `staged`:
rows COPYed into a temporary table as their columns' types convert them; `read_together`:
several reads sent at once, their rows as `execute` would have returned them."""

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, literal, select, text
from sqlalchemy.exc import IntegrityError

from db.customers import CUSTOMERS, upsert_customers
from db.models import Customer, OutboxMessage
from db.statements import among, bulk_insert, read_together, staged
from tests.db.helpers import customer

AWKWARD = ['a"b', "c\\d", "x,y", "{z}", "NULL", " padded ", "é@example.org", "", "'; --"]


def test_strings_with_array_syntax_in_them_match_exactly(session):
    upsert_customers(session, [customer(f"C{i}", segment=s) for i, s in enumerate(AWKWARD)])
    found = session.scalars(
        select(Customer.segment).where(among(session, Customer.segment, AWKWARD))
    )
    assert sorted(found) == sorted(AWKWARD)
    near_misses = ['a\\"b', "c\\\\d", "x", "{z", "null", "padded"]
    assert not session.scalars(
        select(Customer.id).where(among(session, Customer.segment, near_misses))
    ).all()


def test_integer_ids_match_and_an_empty_list_matches_nothing(session):
    upsert_customers(session, [customer(f"C{i}") for i in range(5)])
    ids = session.scalars(select(Customer.id).order_by(Customer.id)).all()
    assert session.scalars(
        select(Customer.id)
        .where(among(session, Customer.id, {ids[1], ids[3], 10**12}))
        .order_by(Customer.id)
    ).all() == [ids[1], ids[3]]
    assert not session.scalars(select(Customer.id).where(among(session, Customer.id, []))).all()


# Staging by COPY is PostgreSQL's; on SQLite the rows are inserted directly.
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_staged_rows_keep_their_values_whatever_the_number_of_columns(session):
    with staged(session, CUSTOMERS, ["external_id"], [{"external_id": "A"}]) as one:
        assert session.execute(select(one.c.external_id)).all() == [("A",)]
    paris = datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    rows = [
        {"external_id": "B", "customer_since": paris, "attributes": {"tags": ["a", "b"]}},
        {"external_id": "C", "customer_since": None, "attributes": None},
    ]
    names = ["external_id", "customer_since", "attributes"]
    with staged(session, CUSTOMERS, names, rows) as many:
        found = session.execute(select(*many.c).order_by(many.c.external_id)).all()
    assert found == [
        ("B", datetime(2026, 3, 1, 12, 0, tzinfo=UTC), {"tags": ["a", "b"]}),
        ("C", None, None),
    ]


def _three_customers(session):
    paris = datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    upsert_customers(
        session,
        [
            customer("A", segment="vip", customer_since=paris, attributes={"tags": ["a"]}),
            customer("B", segment="'; --", customer_since=None),
            customer("C", segment=None, customer_since=paris + timedelta(days=1)),
        ],
    )
    return paris


def test_reads_sent_together_return_what_each_would_alone(session):
    paris = _three_customers(session)  # not committed: the reads run in the same transaction
    reads = [
        select(Customer.external_id, Customer.customer_since, Customer.attributes)
        .where(Customer.customer_since >= paris)
        .order_by(Customer.external_id),
        select(Customer.external_id).where(among(session, Customer.segment, ["'; --", "x"])),
        select(Customer.external_id, Customer.segment)
        .where(Customer.external_id.in_(["A", "C", "Z"]))
        .order_by(Customer.external_id),
        select(Customer.id).where(among(session, Customer.id, [])),
    ]
    together = read_together(session, reads)
    assert together == [[tuple(row) for row in session.execute(read)] for read in reads]
    assert together[0] == [
        ("A", datetime(2026, 3, 1, 12, 0, tzinfo=UTC), {"tags": ["a"]}),
        ("C", datetime(2026, 3, 2, 12, 0, tzinfo=UTC), None),
    ]
    assert together[1:] == [[("B",)], [("A", "vip"), ("C", None)], []]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_what_runs_meanwhile_runs_while_the_server_works_on_the_reads(engine, session):
    """The read waits on a lock that only `meanwhile` lets go: it can only finish if it was
    sent before `meanwhile` ran, and `meanwhile` sees the server waiting on it."""
    reader = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    seen_waiting = []
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(4242)"))

        def meanwhile():
            try:
                seen_waiting.append(_waits_on_a_lock(other, reader))
            finally:
                other.execute(text("SELECT pg_advisory_unlock(4242)"))

        rows = read_together(
            session,
            [select(func.pg_advisory_xact_lock_shared(4242), literal(1))],
            meanwhile=meanwhile,
        )
    assert seen_waiting == [True]
    assert len(rows[0]) == 1


def _waits_on_a_lock(other, pid, within=10.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        waiting = other.execute(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar_one_or_none()
        if waiting == "Lock":
            return True
        time.sleep(0.01)
    return False


def test_meanwhile_runs_once_on_every_database(session):
    _three_customers(session)
    calls = []
    rows = read_together(
        session,
        [select(Customer.external_id).order_by(Customer.external_id)],
        meanwhile=lambda: calls.append("ran"),
    )
    assert calls == ["ran"]
    assert rows == [[("A",), ("B",), ("C",)]]


# SQLite runs the reads one by one through execute(), which converts IN lists itself.
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_an_in_list_of_values_that_need_converting_is_refused_by_name(session):
    paris = _three_customers(session)
    with pytest.raises(ValueError, match="customer_since"):
        read_together(
            session, [select(Customer.external_id).where(Customer.customer_since.in_([paris]))]
        )


@pytest.mark.parametrize("rows", [3, 250], ids=["multi-row insert", "staged"])
def test_bulk_insert_returns_what_it_inserted_and_nothing_it_skipped(session, rows):
    upsert_customers(session, [customer("C0", segment="before")])
    fresh = [customer(f"C{i}", segment="new") for i in range(rows)]
    returned = bulk_insert(
        session, Customer, fresh, ignore_conflicts=True, returning=("external_id", "segment")
    )
    assert sorted(returned) == sorted((f"C{i}", "new") for i in range(1, rows))
    assert session.scalar(select(Customer.segment).where(Customer.external_id == "C0")) == "before"
    assert bulk_insert(session, Customer, fresh, ignore_conflicts=True) == []


def _notices(session, count):
    upsert_customers(session, [customer("C0")])
    customer_id = session.scalar(select(Customer.id))
    return [
        {
            "idempotency_key": f"notify:{i}",
            "kind": "notification",
            "channel": "email",
            "customer_id": customer_id,
            "template": "reward_earned",
            "payload": {"n": i},
        }
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [3, 250], ids=["multi-row insert", "copied"])
def test_rows_that_cannot_conflict_get_the_defaults_they_leave_out(session, count):
    bulk_insert(session, OutboxMessage, _notices(session, count), ignore_conflicts=False)
    stored = session.execute(
        select(OutboxMessage.status, OutboxMessage.attempts, func.count()).group_by(
            OutboxMessage.status, OutboxMessage.attempts
        )
    ).all()
    assert stored == [("pending", 0, count)]
    first = select(OutboxMessage.payload).order_by(OutboxMessage.id).limit(1)
    assert session.scalar(first) == {"n": 0}


@pytest.mark.parametrize("count", [3, 250], ids=["multi-row insert", "copied"])
def test_a_duplicate_among_rows_that_cannot_conflict_fails_the_write(session, count):
    rows = _notices(session, count)
    bulk_insert(session, OutboxMessage, rows, ignore_conflicts=False)
    with pytest.raises(IntegrityError):
        bulk_insert(session, OutboxMessage, rows, ignore_conflicts=False)
