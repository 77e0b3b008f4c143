"""`among`: a batch's thousands of values as one array parameter, matched exactly; `staged`:
rows COPYed into a temporary table as their columns' types convert them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from db.customers import CUSTOMERS, upsert_customers
from db.models import Customer
from db.statements import among, staged
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
