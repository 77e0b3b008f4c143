"""Segment filters select in SQL exactly what they say, on both databases, and a value is
only ever a value: it is bound as a parameter, never spliced into the statement."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.models import Customer
from db.segments import to_sql
from referral.segments import Condition
from tests.db.helpers import NOW, add_customers, customer


@pytest.fixture
def shop(session):
    add_customers(
        session,
        customer("VIP", segment="vip", nps_score=10, orders_count=12, consent_email=True,
                 customer_since=NOW - timedelta(days=900), last_order_at=NOW - timedelta(days=2)),
        customer("LOYAL", segment="loyal", nps_score=7, orders_count=4,
                 customer_since=NOW - timedelta(days=400), last_order_at=NOW - timedelta(days=60)),
        customer("NEW", segment="new", nps_score=None, orders_count=1, consent_email=True,
                 customer_since=NOW - timedelta(days=10), last_order_at=NOW - timedelta(days=10)),
        customer("BLANK", segment=None, nps_score=3, orders_count=0,
                 customer_since=NOW - timedelta(days=30)),
    )  # fmt: skip
    return session


def ids(session, *conditions):
    query = select(Customer.external_id).where(to_sql([Condition(**c) for c in conditions]))
    return sorted(session.scalars(query))


def test_no_conditions_select_everyone(shop):
    assert ids(shop) == ["BLANK", "LOYAL", "NEW", "VIP"]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", 7, ["LOYAL"]),
        ("ne", 7, ["BLANK", "NEW", "VIP"]),  # no answer is "not 7"
        ("gt", 7, ["VIP"]),
        ("gte", 7, ["LOYAL", "VIP"]),
        ("lt", 7, ["BLANK"]),  # no answer is neither above nor below
        ("lte", 7, ["BLANK", "LOYAL"]),
    ],
)
def test_each_comparison_selects_what_it_says(shop, op, value, expected):
    assert ids(shop, {"field": "nps_score", "op": op, "value": value}) == expected


def test_in_and_not_in(shop):
    vip_or_loyal = {"field": "segment", "op": "in", "value": ["vip", "loyal"]}
    neither = {"field": "segment", "op": "not_in", "value": ["vip", "loyal"]}
    assert ids(shop, vip_or_loyal) == ["LOYAL", "VIP"]
    # Like `ne`, a customer without a segment is in no listed segment.
    assert ids(shop, neither) == ["BLANK", "NEW"]
    assert ids(shop, {"field": "orders_count", "op": "in", "value": [0, 1]}) == ["BLANK", "NEW"]


def test_null_checks(shop):
    assert ids(shop, {"field": "segment", "op": "is_null"}) == ["BLANK"]
    assert ids(shop, {"field": "nps_score", "op": "not_null"}) == ["BLANK", "LOYAL", "VIP"]
    assert ids(shop, {"field": "last_order_at", "op": "is_null"}) == ["BLANK"]


def test_flags(shop):
    assert ids(shop, {"field": "consent_email", "value": True}) == ["NEW", "VIP"]
    assert ids(shop, {"field": "consent_email", "value": False}) == ["BLANK", "LOYAL"]


def test_times_compare_as_instants_whatever_their_offset(shop):
    year_ago = NOW - timedelta(days=365)
    assert ids(shop, {"field": "customer_since", "op": "lt", "value": year_ago.isoformat()}) == [
        "LOYAL",
        "VIP",
    ]
    # The same instant written in New York time selects the same customers.
    in_new_york = year_ago.astimezone(ZoneInfo("America/New_York"))
    assert ids(shop, {"field": "customer_since", "op": "lt", "value": in_new_york.isoformat()}) == [
        "LOYAL",
        "VIP",
    ]
    recent = {"field": "last_order_at", "op": "gte", "value": (NOW - timedelta(days=30))}
    assert ids(shop, recent) == ["NEW", "VIP"]


def test_conditions_all_hold(shop):
    assert ids(
        shop,
        {"field": "segment", "op": "in", "value": ["vip", "loyal", "new"]},
        {"field": "consent_email", "value": True},
        {"field": "orders_count", "op": "gte", "value": 2},
    ) == ["VIP"]


@pytest.mark.parametrize(
    "value", ["' OR 1=1 --", "vip' OR 'a'='a", "vip'; DELETE FROM customers; --", "%", "_"]
)
def test_a_value_that_looks_like_sql_matches_literally(shop, value):
    assert ids(shop, {"field": "segment", "value": value}) == []
    assert ids(shop, {"field": "segment", "op": "in", "value": [value]}) == []
    assert len(ids(shop)) == 4  # nothing was deleted either


def test_only_a_customer_with_that_exact_segment_matches(shop):
    add_customers(shop, customer("ODD", segment="' OR 1=1 --"))
    assert ids(shop, {"field": "segment", "value": "' OR 1=1 --"}) == ["ODD"]


def test_values_are_bound_parameters_not_statement_text(shop):
    statement = select(Customer.id).where(to_sql([Condition(field="segment", value="' OR 1=1 --")]))
    compiled = statement.compile(dialect=shop.get_bind().dialect)
    assert "OR 1=1" not in str(compiled)
    assert "' OR 1=1 --" in compiled.params.values()
