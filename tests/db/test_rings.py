"""The ring sweep holds or rejects the open referrals of a cycle through aliases, once;
a person's later decision stands."""

from datetime import timedelta

from sqlalchemy import select, update

from db.models import Customer, FraudSignal, Referral
from db.programs import Programs
from tasks.rings import sweep_program
from tests.db.helpers import NOW, PROGRAM, add_customers, customer


def _ring(session):
    """Members M1..M3 each refer an alias of the next, at the next member's address."""
    add_customers(
        session,
        *(customer(f"M{i}", address_hash=f"home-{i}") for i in (1, 2, 3)),
        *(customer(f"ALIAS{i}", address_hash=f"home-{i}") for i in (1, 2, 3)),
    )
    ids = dict(session.execute(select(Customer.external_id, Customer.id)).tuples().all())
    loaded = Programs(session).create(**PROGRAM)
    for i, (member, alias) in enumerate((("M1", "ALIAS2"), ("M2", "ALIAS3"), ("M3", "ALIAS1"))):
        session.add(
            Referral(
                program_id=loaded.id,
                program_version_id=loaded.version_id,
                referrer_id=ids[member],
                referee_id=ids[alias],
                attribution_model="last_click",
                attributed_by="link",
                status="qualified" if i else "rewarded",
                referred_at=NOW + timedelta(hours=i),
            )
        )
    session.flush()
    return loaded


def test_the_open_referrals_of_a_ring_are_rejected_once(session):
    loaded = _ring(session)
    first = sweep_program(session, loaded)
    statuses = sorted(session.scalars(select(Referral.status)))
    assert first == {"ring_referrals": 2, "held": 0, "rejected": 2}
    assert statuses == ["rejected", "rejected", "rewarded"]  # paid ones are for refunds
    assert set(session.scalars(select(FraudSignal.reason_code))) == {"REFERRAL_CYCLE"}

    session.execute(
        update(Referral).where(Referral.status == "rejected").values(status="pending")
    )  # a reviewer let them through
    again = sweep_program(session, loaded)
    assert again == {"ring_referrals": 0, "held": 0, "rejected": 0}
    assert sorted(session.scalars(select(Referral.status))) == ["pending", "pending", "rewarded"]


def test_without_shared_attributes_there_is_no_ring(session):
    loaded = _ring(session)
    session.execute(update(Customer).values(address_hash=None))
    assert sweep_program(session, loaded)["ring_referrals"] == 0
