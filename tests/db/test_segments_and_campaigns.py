"""Segment filters select with bound values; campaigns boost rewards inside their window."""

from datetime import timedelta

from sqlalchemy import select

from db.campaigns import apply_campaign, close_due, launch_due
from db.models import Campaign, Customer, RewardGrant
from db.segments import to_sql
from referral.campaigns import parse_campaign
from referral.fraud.basic import BasicRuleSet
from referral.segments import Condition
from tasks.conversions import process_batch
from tasks.rewards import grant_batch
from tests.db.helpers import NOW, add_customers, advocate_with_code, customer, referred_purchase


def _ids(session, *conditions):
    query = select(Customer.external_id).where(to_sql([Condition(**c) for c in conditions]))
    return sorted(session.scalars(query))


def test_each_operator_selects_what_it_says(session):
    add_customers(
        session,
        customer("A", segment="vip", nps_score=10),
        customer("B", segment="loyal", nps_score=7),
        customer("C", segment=None),
    )
    assert _ids(session, {"field": "segment", "value": "vip"}) == ["A"]
    assert _ids(session, {"field": "segment", "op": "in", "value": ["vip", "loyal"]}) == ["A", "B"]
    assert _ids(session, {"field": "segment", "op": "ne", "value": "vip"}) == ["B", "C"]
    assert _ids(session, {"field": "nps_score", "op": "gte", "value": 9}) == ["A"]
    assert _ids(session, {"field": "segment", "op": "is_null"}) == ["C"]
    assert _ids(session) == ["A", "B", "C"]


def test_a_value_that_looks_like_sql_matches_literally(session):
    add_customers(session, customer("A", segment="vip"), customer("X", segment="' OR 1=1 --"))
    assert _ids(session, {"field": "segment", "value": "' OR 1=1 --"}) == ["X"]


def _campaign(session, **changes):
    data = {
        "slug": "double",
        "name": "Double",
        "program": "friends",
        "starts_at": (NOW - timedelta(hours=1)).isoformat(),
        "ends_at": NOW.isoformat(),
        "multiplier": 2,
        "bonus": "1.00",
        **changes,
    }
    return apply_campaign(session, parse_campaign(data))


def _referrer_amount(session):
    process_batch(session, 100, BasicRuleSet())
    grant_batch(session, 100)
    return session.execute(
        select(RewardGrant.amount_minor, RewardGrant.campaign_id).where(
            RewardGrant.role == "referrer"
        )
    ).one()


def test_a_purchase_inside_the_window_is_boosted(session):
    advocate_with_code(session)
    campaign_id, _ = _campaign(session, ends_at=(NOW + timedelta(microseconds=1)).isoformat())
    referred_purchase(session, _code(session))  # purchase at NOW, just inside
    assert tuple(_referrer_amount(session)) == (2100, campaign_id)


def test_a_purchase_at_the_exact_end_is_not_boosted(session):
    advocate_with_code(session)
    _campaign(session)  # ends at NOW, exclusive
    referred_purchase(session, _code(session))
    assert tuple(_referrer_amount(session)) == (1000, None)


def test_the_audience_limits_who_is_boosted(session):
    advocate_with_code(session)
    _campaign(
        session,
        ends_at=(NOW + timedelta(days=1)).isoformat(),
        audience=[{"field": "segment", "value": "vip"}],
    )
    referred_purchase(session, _code(session))
    assert tuple(_referrer_amount(session)) == (1000, None)


def test_campaigns_open_and_close_on_the_database_clock(session):
    advocate_with_code(session)
    past = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z"}
    now = {"slug": "now", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
    _campaign(session, slug="past", **past)
    _campaign(session, **now)
    assert len(launch_due(session)) == 1
    assert len(close_due(session)) == 1
    assert dict(session.execute(select(Campaign.slug, Campaign.status)).tuples().all()) == {
        "past": "closed",
        "now": "active",
    }


def _code(session):
    from db.models import ReferralCode

    return session.scalar(select(ReferralCode.code))
