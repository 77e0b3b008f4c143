"""The CRM mirror upsert: new rows inserted, changed rows refreshed, nothing duplicated."""

from sqlalchemy import select

from db.customers import count_customers, upsert_customers
from db.models import Customer
from tests.db.helpers import customer


def test_new_customers_are_inserted_and_a_second_load_adds_nothing(session):
    rows = [customer(f"C{i}", segment="loyal", orders_count=i) for i in range(50)]
    upsert_customers(session, rows)
    upsert_customers(session, rows)
    assert count_customers(session) == 50


def test_a_changed_customer_is_refreshed_in_place(session):
    upsert_customers(session, [customer("C1", segment="new", nps_score=None)])
    upsert_customers(session, [customer("C1", segment="vip", nps_score=10)])
    row = session.scalars(select(Customer)).one()
    assert (row.segment, row.nps_score) == ("vip", 10)


def test_the_last_copy_wins_when_a_batch_repeats_a_key(session):
    upsert_customers(session, [customer("C1", segment="new"), customer("C1", segment="vip")])
    assert session.scalar(select(Customer.segment)) == "vip"
    assert count_customers(session) == 1


def test_same_external_id_from_two_sources_are_two_customers(session):
    upsert_customers(session, [customer("C1"), {**customer("C1"), "source": "hubspot"}])
    assert count_customers(session) == 2


def test_fields_we_do_not_keep_are_left_out_and_missing_ones_get_defaults(session):
    upsert_customers(session, [{**customer("C1"), "favourite_colour": "teal"}])
    row = session.scalars(select(Customer)).one()
    assert (row.external_id, row.orders_count, row.consent_email) == ("C1", 0, False)
