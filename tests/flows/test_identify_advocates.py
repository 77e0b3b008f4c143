"""identify-advocates on a real Prefect API: it enrols whom the program's selection names
(segment first, then top N or threshold), gives each one code, publishes its summary, and a
second run enrols nobody."""

import asyncio
from datetime import timedelta

from prefect.client.orchestration import get_client
from sqlalchemy import func, select

from db.advocates import score_expression
from db.engine import transaction
from db.models import Advocate, Customer, ReferralCode
from db.programs import Programs
from flows.identify_advocates import identify_advocates
from referral.scoring import ScoreWeights
from tests.db.helpers import NOW, add_customers, customer

SEGMENTS = ("vip", "loyal", "new")


def _shop(engine, n=240, **selection):
    with transaction(engine) as session:
        add_customers(
            session,
            *[
                customer(
                    f"C{i:03d}",
                    segment=SEGMENTS[i % 3],
                    nps_score=i % 11,
                    orders_count=i % 9,
                    email_opens_90d=i % 17,
                    total_spend_minor=i * 613,
                    customer_since=NOW - timedelta(days=i * 7),
                )
                for i in range(n)
            ],
        )
        Programs(session).create(
            slug="friends",
            name="Friends",
            referrer_reward={"type": "credit", "amount": "10.00"},
            referee_reward={"type": "credit", "amount": "5.00"},
            advocates=selection,
        )


def _enrolled(engine):
    """External ids of the advocates, and whether each has exactly one live code."""
    with transaction(engine) as session:
        ids = set(
            session.scalars(
                select(Customer.external_id).join(Advocate, Advocate.customer_id == Customer.id)
            )
        )
        codes = session.execute(
            select(ReferralCode.advocate_id, func.count())
            .where(ReferralCode.revoked_at.is_(None))
            .group_by(ReferralCode.advocate_id)
        ).all()
    return ids, len(codes) == len(ids) and all(n == 1 for _, n in codes)


def _ranked(engine, *conditions):
    """External ids by score, best first, ties by id: the order enrolment uses."""
    score = score_expression(ScoreWeights())
    with transaction(engine) as session:
        rows = session.execute(
            select(Customer.external_id, score)
            .where(*conditions)
            .order_by(score.desc(), Customer.id)
        ).all()
    return [(external_id, int(points)) for external_id, points in rows]


def test_only_the_programs_segment_is_enrolled(engine, flow_env, monkeypatch):
    monkeypatch.setenv("REFERRAL_BATCH_SIZE", "100")  # several code batches
    _shop(
        engine, segment=[{"field": "segment", "op": "in", "value": ["vip", "loyal"]}], min_score=0
    )
    summary = identify_advocates("friends")
    ids, one_code_each = _enrolled(engine)
    assert ids == {f"C{i:03d}" for i in range(240) if SEGMENTS[i % 3] != "new"}
    assert one_code_each
    assert summary == {
        "top": None,
        "min_score": 0,
        "scored": 240,
        "eligible": 160,
        "enrolled": 160,
        "already_enrolled": 0,
        "codes_issued": 160,
    }


def test_top_n_takes_the_best_scores(engine, flow_env):
    _shop(engine, segment=[{"field": "segment", "value": "vip"}])
    summary = identify_advocates("friends", top=7)
    best = [external_id for external_id, _ in _ranked(engine, Customer.segment == "vip")[:7]]
    assert _enrolled(engine) == (set(best), True)
    # A top N alone ignores the program's default threshold.
    assert (summary["top"], summary["min_score"], summary["enrolled"]) == (7, None, 7)


def test_a_threshold_enrols_everyone_at_or_above_it(engine, flow_env):
    _shop(engine, min_score=450)
    summary = identify_advocates("friends")
    above = {external_id for external_id, points in _ranked(engine) if points >= 450}
    assert 0 < len(above) < 240
    assert _enrolled(engine) == (above, True)
    assert summary["eligible"] == summary["enrolled"] == len(above)


def test_top_and_threshold_together_take_the_best_above_it(engine, flow_env):
    _shop(engine, top=1000)
    summary = identify_advocates("friends", min_score=500)
    above = {external_id for external_id, points in _ranked(engine) if points >= 500}
    assert _enrolled(engine)[0] == above and summary["enrolled"] == len(above) < 1000
    few = identify_advocates("friends", top=len(above) + 2, min_score=0)
    assert few["enrolled"] == 2  # the program fills up to N, counting who is there already


def test_a_second_run_enrols_nobody_and_issues_no_codes(engine, flow_env):
    _shop(engine, top=25)
    first = identify_advocates("friends")
    again = identify_advocates("friends")
    assert (first["enrolled"], first["codes_issued"]) == (25, 25)
    assert (again["enrolled"], again["already_enrolled"], again["codes_issued"]) == (0, 25, 0)
    assert len(_enrolled(engine)[0]) == 25


def test_the_run_publishes_its_summary(engine, flow_env):
    _shop(engine, n=6, min_score=0)
    identify_advocates("friends")

    async def latest():
        async with get_client() as client:
            artifacts = await client.read_artifacts()
        return [a for a in artifacts if a.key == "identify-advocates"]

    (artifact, *_) = asyncio.run(latest())
    text = str(artifact.data)
    for measure in (
        "customers scored",
        "eligible",
        "enrolled now",
        "already enrolled",
        "codes issued",
    ):
        assert measure in text
