"""The report over the synthetic shop (thousands of customers, clicks on every channel,
sign-ups, purchases, refunds, typed codes) equals a recount in plain Python over the raw
rows: nothing here shares a query with db.analytics or db.breakdowns."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.advocates import enroll_top, issue_missing_codes
from db.customers import upsert_customers
from db.engine import transaction
from db.models import Conversion, Referral, RewardGrant, Touch
from db.programs import Programs
from db.report import report
from db.rewards import release_holds
from integrations.crm.synthetic import generate_customers
from referral.fraud.basic import BasicRuleSet
from referral.scoring import ScoreWeights
from tasks.conversions import process_batch
from tasks.crm import SYNTHETIC_SOURCE, customer_row
from tasks.rewards import grant_batch, issue_batch
from tasks.simulate import simulate_activity

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SINCE = NOW - timedelta(days=400)
ACQUIRED = {"qualified", "approved", "rewarded"}
PEPPER = b"test-pepper"


def _generated_shop(engine, database_url):
    records = generate_customers(3_000, seed=11, now=NOW)
    with transaction(engine) as session:
        upsert_customers(
            session,
            [customer_row(r, source=SYNTHETIC_SOURCE, pepper=PEPPER, region="US") for r in records],
        )
        program = Programs(session).create(
            slug="friends",
            name="Friends",
            hold_days=0,
            minimum_purchase="20.00",
            referrer_reward={"type": "credit", "amount": "10.00"},
            referee_reward={"type": "discount", "amount": 15, "unit": "percent"},
        )
        enroll_top(session, program.id, ScoreWeights(), top=400)
        issue_missing_codes(session, program.id, length=8)
    simulate_activity.fn(database_url, "friends", seed=11, now=NOW, pepper=PEPPER, batch_size=2_000)
    for step in (
        lambda s: process_batch(s, 2_000, BasicRuleSet()).conversions,
        lambda s: grant_batch(s, 2_000)["referrals"],
        lambda s: release_holds(s) and 0,
        lambda s: issue_batch(s, 2_000)["issued"],
    ):
        while True:
            with transaction(engine) as session:
                if not step(session):
                    break


def _recount(session):
    """The figures from the raw rows, by hand."""
    referrals = session.execute(
        select(
            Referral.id, Referral.referrer_id, Referral.referee_id, Referral.status,
            Referral.referred_at, Referral.channel,
        )
    ).all()  # fmt: skip
    conversions = session.execute(
        select(Conversion.customer_id, Conversion.kind, Conversion.amount_minor,
               Conversion.currency, Conversion.occurred_at)
    ).all()  # fmt: skip
    clicks = session.execute(select(Touch.channel).where(Touch.kind == "click")).scalars().all()
    grants = session.execute(
        select(RewardGrant.referral_id, RewardGrant.reward_type, RewardGrant.amount_minor,
               RewardGrant.status)
    ).all()  # fmt: skip
    acquired = {r.referee_id: r for r in referrals if r.status in ACQUIRED}
    revenue: Counter[str] = Counter()
    for c in conversions:
        referral = acquired.get(c.customer_id)
        if referral and c.currency == "USD" and c.occurred_at >= referral.referred_at:
            sign = {"purchase": 1, "refund": -1}.get(c.kind, 0)
            revenue[referral.channel or "unknown"] += sign * c.amount_minor
    by_channel = defaultdict(lambda: {"clicks": 0, "signups": 0, "purchases": 0})
    for channel in clicks:
        by_channel[channel or "unknown"]["clicks"] += 1
    for r in referrals:
        by_channel[r.channel or "unknown"]["signups"] += 1
        by_channel[r.channel or "unknown"]["purchases"] += r.status in ACQUIRED
    costs: Counter[str] = Counter()
    for g in grants:
        if g.status == "issued":
            costs[g.reward_type] += g.amount_minor
    months = Counter(r.referred_at.strftime("%Y-%m") for r in referrals)
    return {
        "referrals": len(referrals),
        "acquired": len(acquired),
        "revenue": sum(revenue.values()),
        "revenue_by_channel": dict(revenue),
        "by_channel": {k: dict(v) for k, v in by_channel.items()},
        "costs": dict(costs),
        "clicks": len(clicks),
        "months": months,
    }


def test_the_report_on_the_generated_shop_equals_a_recount_of_its_rows(engine, database_url):
    _generated_shop(engine, database_url)
    with transaction(engine) as session:
        expected = _recount(session)
        (section,) = report(session, SINCE)["programs"]
    # The shop is big enough for every part of the report to have something to count.
    assert expected["referrals"] > 100 and expected["acquired"] > 50 and expected["costs"]
    # Sign-ups came by links shared on several channels, and by codes typed at checkout.
    assert sum(1 for c in expected["by_channel"].values() if c["signups"]) >= 4
    funnel = {step["name"]: step["count"] for step in section["funnel"]}
    assert (funnel["link_clicks"], funnel["signups"], funnel["purchases"]) == (
        expected["clicks"],
        expected["referrals"],
        expected["acquired"],
    )
    assert section["economics"]["revenue_minor"] == expected["revenue"]
    assert {k: v for k, v in section["costs_minor"].items() if v} == expected["costs"]
    channels = {c["name"]: c for c in section["by_channel"]}
    assert {
        name: {
            "clicks": c["funnel"]["link_clicks"],
            "signups": c["funnel"]["signups"],
            "purchases": c["funnel"]["purchases"],
        }
        for name, c in channels.items()
    } == expected["by_channel"]
    assert {name: c["revenue_minor"] for name, c in channels.items() if c["revenue_minor"]} == {
        name: v for name, v in expected["revenue_by_channel"].items() if v
    }
    monthly = {m["month"]: m["referrals"] for m in section["monthly"] if m["referrals"]}
    assert monthly == dict(expected["months"])
