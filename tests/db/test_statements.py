"""`among`: a batch's thousands of values as one array parameter, matched exactly."""

from sqlalchemy import select

from db.customers import upsert_customers
from db.models import Customer
from db.statements import among
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
