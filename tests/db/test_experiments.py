"""A/B tests of reward structures: each advocate's arm decides what their referrals pay,
exposure is logged at the first invitation, the holdout is never invited, and the report
compares the arms."""

from datetime import timedelta

from sqlalchemy import func, select

from db.advocates import issue_code
from db.models import Customer, ExperimentExposure, Invitation, Referral, RewardGrant
from db.programs import Programs
from db.report import report
from referral.experiments.assignment import assign
from tasks.invitations import invitation_batch
from tests.db.helpers import (
    NOW,
    PROGRAM,
    add_customers,
    click,
    customer,
    event,
    run_pipeline,
)

EXPERIMENT = {
    "key": "double-credit",
    "arms": [
        {"name": "control"},
        {"name": "double", "referrer_reward": {"type": "credit", "amount": "20.00"}},
    ],
    "holdout_percent": "20",
}


def _program_with_advocates(session, advocates=40):
    add_customers(session, *(customer(f"A{i:03d}", consent_email=True) for i in range(advocates)))
    loaded = Programs(session).create(**{**PROGRAM, "experiment": EXPERIMENT})
    codes = {}
    for cid in session.scalars(select(Customer.id)):
        codes[cid] = issue_code(session, loaded.id, cid, length=8).code
    return loaded, codes


def _refer(session, code, referee):
    click(session, code, visitor=f"v-{referee}", at=NOW - timedelta(hours=2))
    event(
        session, id=f"su-{referee}", type="signup", occurred_at=NOW - timedelta(hours=1),
        visitor_id=f"v-{referee}", customer={"external_id": referee},
    )  # fmt: skip
    event(
        session, id=f"po-{referee}", type="purchase", occurred_at=NOW, order_id=f"O-{referee}",
        amount="40.00", currency="USD", customer={"external_id": referee},
    )  # fmt: skip


def _invite_everyone(session, loaded):
    """One scheduled invitation round: it is what exposes advocates to their arm."""
    invitation_batch(
        session, loaded.slug, "scheduled", after_customer=0, batch_size=100,
        public_base_url="https://r.example",
    )  # fmt: skip


def test_the_arm_decides_the_reward_and_the_holdout_is_never_invited(session):
    loaded, codes = _program_with_advocates(session)
    spec = loaded.config.experiment.spec()
    _invite_everyone(session, loaded)
    arms = {cid: assign(spec, cid) for cid in codes}
    held = {cid for cid, a in arms.items() if a.holdout}
    invited = set(session.scalars(select(Invitation.customer_id)))
    assert held and invited == set(codes) - held
    exposures = dict(
        session.execute(select(ExperimentExposure.customer_id, ExperimentExposure.arm))
        .tuples()
        .all()
    )
    assert exposures == {cid: a.arm for cid, a in arms.items()}

    doubled = next(cid for cid, a in arms.items() if a.arm == "double")
    control = next(cid for cid, a in arms.items() if a.arm == "control")
    _refer(session, codes[doubled], "F-DOUBLE")
    _refer(session, codes[control], "F-CONTROL")
    run_pipeline(session)
    paid = dict(
        session.execute(
            select(RewardGrant.beneficiary_id, RewardGrant.amount_minor).where(
                RewardGrant.role == "referrer"
            )
        )
        .tuples()
        .all()
    )
    assert paid == {doubled: 2000, control: 1000}


def test_the_report_compares_the_arms_and_the_holdout(session):
    loaded, codes = _program_with_advocates(session)
    _invite_everyone(session, loaded)
    spec = loaded.config.experiment.spec()
    doubled = [cid for cid in codes if assign(spec, cid).arm == "double"]
    for i, cid in enumerate(doubled[:3]):
        _refer(session, codes[cid], f"F{i}")
    run_pipeline(session)
    (section,) = report(session, NOW - timedelta(days=30))["programs"]
    trial = section["experiment"]
    arms = {a["arm"]: a for a in trial["arms"]["arms"]}
    exposed = dict(
        session.execute(
            select(ExperimentExposure.arm, func.count()).group_by(ExperimentExposure.arm)
        )
        .tuples()
        .all()
    )
    assert arms["double"]["advocates"] == exposed["double"]
    assert (arms["double"]["converted"], arms["control"]["converted"]) == (3, 0)
    assert arms["double"]["versus_control"]["absolute_uplift"] > 0
    assert trial["holdout"]["advocates"] == exposed[None]
    assert session.scalar(select(func.count()).select_from(Referral)) == 3


def test_the_html_report_draws_each_arm_with_its_interval(session):
    from cli.html_report import render_html

    loaded, codes = _program_with_advocates(session)
    _invite_everyone(session, loaded)
    spec = loaded.config.experiment.spec()
    control = next(cid for cid in codes if assign(spec, cid).arm == "control")
    _refer(session, codes[control], "F0")
    run_pipeline(session)
    page = render_html(report(session, NOW - timedelta(days=30)), NOW)
    assert 'data-arm="double"' in page and 'data-arm="control"' in page
    assert 'class="interval"' in page and "Held out (never invited)" in page
