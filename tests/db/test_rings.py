"""The ring sweep holds or rejects the open referrals of a cycle through aliases, once;
a person's later decision stands."""

from datetime import timedelta

from sqlalchemy import select, update

from db.models import Conversion, Customer, FraudSignal, Referral
from db.programs import Programs
from db.rings import shared_attributes
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


def test_shared_attributes_are_those_two_to_the_limit_of_the_programs_customers_hold(session):
    """M1..M3 and ALIAS1..ALIAS3 are in the program's referrals; OUTSIDER is not. Repeated
    orders on one device or card are one holder; a value only one of the program's
    customers holds merges nobody, however many outsiders hold it too; one that more than
    the limit hold is a public kiosk."""
    loaded = _ring(session)  # M<n> and ALIAS<n> live at home-<n>
    add_customers(session, customer("OUTSIDER", address_hash="home-3"))
    ids = dict(session.execute(select(Customer.external_id, Customer.id)).tuples().all())
    session.execute(update(Customer).where(Customer.external_id == "M3").values(address_hash=None))
    orders = [
        ("M1", "phone-1", "card-1"),
        ("M1", "phone-1", "card-1"),  # a second order on the same device and card
        ("ALIAS2", "phone-1", "card-2"),
        ("M2", "tablet", "card-2"),
        ("ALIAS3", "kiosk", "card-3"),
        ("ALIAS1", "kiosk", "card-9"),
        ("M2", "kiosk", None),
        ("OUTSIDER", "phone-1", "card-3"),
    ]
    for n, (who, device, card) in enumerate(orders):
        session.add(
            Conversion(
                source="shop",
                external_id=f"o-{n}",
                kind="purchase",
                customer_id=ids[who],
                device_id=device,
                payment_fingerprint=card,
                occurred_at=NOW,
            )
        )
    session.flush()

    found = shared_attributes(session, loaded.id, max_holders=2)

    by_id = {v: k for k, v in ids.items()}
    assert sorted((kind, value, by_id[c]) for c, kind, value in found) == [
        ("address", "home-1", "ALIAS1"),
        ("address", "home-1", "M1"),
        ("address", "home-2", "ALIAS2"),
        ("address", "home-2", "M2"),
        ("device", "phone-1", "ALIAS2"),
        ("device", "phone-1", "M1"),
        ("payment", "card-2", "ALIAS2"),
        ("payment", "card-2", "M2"),
    ]  # not home-3, card-3 (one holder in the program each), nor kiosk (three)
