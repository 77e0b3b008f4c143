"""Milestones are paid once per advocate; people approve or reject waiting rewards, and
every decision is recorded."""

import pytest
from sqlalchemy import func, select

from db.models import Advocate, OutboxMessage, Review, RewardGrant
from db.rewards import GrantDecisionError, decide_grants, release_holds
from tasks.milestones import milestone_batch
from tasks.rewards import issue_batch
from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline

MILESTONES = [
    {
        "name": "Two friends",
        "referrals": 2,
        "reward": {"type": "credit", "amount": "20.00"},
        "tier_upgrade": "silver",
    },
    {"name": "Three friends", "referrals": 3, "tier_upgrade": "gold"},
]


def _refer(session, code, count):
    for i in range(count):
        referred_purchase(session, code, referee=f"N{i}")


def test_a_milestone_is_paid_once_and_the_tier_follows(session):
    _, code = advocate_with_code(session, milestones=MILESTONES)
    _refer(session, code, 2)
    run_pipeline(session)
    first = milestone_batch(session, "friends", after_customer=0, batch_size=100)
    again = milestone_batch(session, "friends", after_customer=0, batch_size=100)
    assert (first["grants"], again["grants"]) == (1, 0)
    bonus = session.execute(
        select(RewardGrant.amount_minor, RewardGrant.idempotency_key).where(
            RewardGrant.role == "milestone"
        )
    ).one()
    assert bonus.amount_minor == 2000 and bonus.idempotency_key.endswith(":2")
    assert session.scalar(select(Advocate.tier)) == "silver"
    notices = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.template == "milestone_reached")
    )
    assert notices == 1


def test_passing_two_milestones_at_once_pays_both_and_keeps_the_highest_tier(session):
    _, code = advocate_with_code(session, milestones=MILESTONES)
    _refer(session, code, 3)
    run_pipeline(session)
    result = milestone_batch(session, "friends", after_customer=0, batch_size=100)
    assert result["grants"] == 1  # the second milestone upgrades the tier only
    assert session.scalar(select(Advocate.tier)) == "gold"
    assert (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template == "milestone_reached")
        )
        == 2
    )


def test_manual_grants_wait_for_a_person_and_the_decision_is_recorded(session):
    _, code = advocate_with_code(session, approval="manual")
    _refer(session, code, 1)
    run_pipeline(session)
    ids = list(session.scalars(select(RewardGrant.id).order_by(RewardGrant.id)))
    decide_grants(session, ids[:1], approve=True, who="ops@example.com", reason="looks fine")
    decide_grants(session, ids[1:], approve=False, who="ops@example.com", reason="duplicate")
    release_holds(session)
    issue_batch(session, 100)
    statuses = list(session.scalars(select(RewardGrant.status).order_by(RewardGrant.id)))
    assert statuses == ["issued", "rejected"]
    reviews = session.execute(
        select(Review.grant_id, Review.decision, Review.decided_by, Review.reason).order_by(
            Review.grant_id
        )
    ).all()
    assert [tuple(r) for r in reviews] == [
        (ids[0], "approve", "ops@example.com", "looks fine"),
        (ids[1], "reject", "ops@example.com", "duplicate"),
    ]


def test_only_waiting_grants_can_be_decided_and_nothing_changes_otherwise(session):
    _, code = advocate_with_code(session)
    _refer(session, code, 1)
    run_pipeline(session)
    issued = session.scalar(select(RewardGrant.id).where(RewardGrant.status == "issued"))
    with pytest.raises(GrantDecisionError, match="not pending"):
        decide_grants(session, [issued], approve=False, who="ops", reason="oops")
    with pytest.raises(GrantDecisionError, match="no reward grant with id 999"):
        decide_grants(session, [999], approve=True, who="ops", reason="x")
    assert session.scalar(select(func.count()).select_from(Review)) == 0


def test_tiered_rewards_follow_the_advocates_count(session):
    tiers = [
        {"name": "bronze", "from_referral": 1, "referrer_reward": {"type": "cash", "amount": 5}},
        {"name": "silver", "from_referral": 2, "referrer_reward": {"type": "cash", "amount": 9}},
    ]
    _, code = advocate_with_code(
        session, reward_structure="tiered", tiers=tiers, referee_reward=None, referrer_reward=None
    )
    _refer(session, code, 3)
    run_pipeline(session)
    amounts = list(session.scalars(select(RewardGrant.amount_minor).order_by(RewardGrant.id)))
    assert amounts == [500, 900, 900]
    payouts = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "payout")
    )
    assert payouts == 3
