"""The program's fraud rules judge each new referral on facts read from the database: what
the two customers share, and how busy the advocate, the device and the promo code have been."""

from datetime import timedelta

from sqlalchemy import select, update

from db.models import Customer, FraudSignal, Referral, Touch
from tasks.conversions import process_batch
from tests.db.helpers import NOW, advocate_with_code, click, event


def _sign_up(session, code, referee, *, at=NOW, via="link", purchase=None, **seen):
    """A referee who arrives by the advocate's link (or types the code) and signs up."""
    visitor = f"v-{referee}"
    if via == "link":
        click(session, code, visitor=visitor, at=at - timedelta(minutes=5))
    event(
        session,
        id=f"su-{referee}",
        type="signup",
        occurred_at=at,
        visitor_id=visitor if via == "link" else None,
        referral_code=code if via == "promo" else None,
        customer={"external_id": referee, "email": f"{referee.lower()}@example.org"},
        **seen,
    )
    if purchase:
        event(
            session,
            id=f"po-{referee}",
            type="purchase",
            occurred_at=at + timedelta(minutes=10),
            order_id=f"O-{referee}",
            amount="40.00",
            currency="USD",
            customer={"external_id": referee},
            payment_fingerprint=purchase,
        )


def _status(session, referee):
    return session.scalar(
        select(Referral.status)
        .join(Customer, Customer.id == Referral.referee_id)
        .where(Customer.external_id == referee)
    )


def _reasons(session, referee):
    return set(
        session.scalars(
            select(FraudSignal.reason_code)
            .join(Referral, Referral.id == FraudSignal.referral_id)
            .join(Customer, Customer.id == Referral.referee_id)
            .where(Customer.external_id == referee)
        )
    )


def _advocates_card(session, card):
    event(
        session,
        id="po-ADV",
        type="purchase",
        occurred_at=NOW - timedelta(days=30),
        order_id="O-ADV",
        amount="20.00",
        currency="USD",
        customer={"external_id": "ADV"},
        payment_fingerprint=card,
    )


def test_a_referee_paying_with_the_advocates_card_is_rejected(session):
    _, code = advocate_with_code(session)
    _advocates_card(session, "pf_ada")
    _sign_up(session, code, "NEW1", purchase="pf_ada")
    process_batch(session, 1000)
    assert _status(session, "NEW1") == "rejected"
    assert "SHARED_PAYMENT_FINGERPRINT" in _reasons(session, "NEW1")


def test_a_referee_on_the_advocates_device_is_rejected(session):
    _, code = advocate_with_code(session)
    event(
        session, id="su-old", type="signup", occurred_at=NOW - timedelta(days=40),
        customer={"external_id": "ADV"}, device_id="dev-ada",
    )  # fmt: skip
    _sign_up(session, code, "NEW1", device_id="dev-ada")
    process_batch(session, 1000)
    assert _status(session, "NEW1") == "rejected"


def test_a_family_member_at_the_advocates_address_is_not_rejected(session):
    _, code = advocate_with_code(session)
    session.execute(update(Customer).values(address_hash="addr-1", name="Ada Lovelace"))
    _sign_up(session, code, "NEW1")
    session.execute(
        update(Customer)
        .where(Customer.external_id == "NEW1")
        .values(address_hash="addr-1", name="Byron Lovelace")
    )
    process_batch(session, 1000)
    assert _status(session, "NEW1") in ("pending", "flagged")


def test_an_advocate_recruiting_faster_than_the_hourly_limit_is_held_for_review(session):
    _, code = advocate_with_code(session)
    for i in range(12):
        _sign_up(session, code, f"F{i:02d}", at=NOW + timedelta(minutes=4 * i))
    process_batch(session, 1000)
    statuses = [_status(session, f"F{i:02d}") for i in range(12)]
    assert statuses[:10] == ["pending"] * 10  # the default limit is 10 an hour
    assert statuses[10:] == ["flagged", "flagged"]
    assert "VELOCITY_REFERRALS_HOUR" in _reasons(session, "F11")


def test_the_limit_counts_referrals_of_earlier_batches_too(session):
    _, code = advocate_with_code(session)
    for i in range(12):
        _sign_up(session, code, f"F{i:02d}", at=NOW + timedelta(minutes=4 * i))
        process_batch(session, 1000)
    assert _status(session, "F11") == "flagged"


def test_a_promo_code_used_by_many_strangers_at_once_is_held_for_review(session):
    _, code = advocate_with_code(session, fraud={"coupons": {"max_redemptions": 3}})
    for i in range(5):
        _sign_up(session, code, f"P{i}", at=NOW + timedelta(minutes=i), via="promo")
    process_batch(session, 1000)
    # Every use sees the others within the window, before and after: the first strangers
    # of a leak are held with the rest.
    assert [_status(session, f"P{i}") for i in range(5)] == ["flagged"] * 5


def test_the_coupon_window_holds_uses_exactly_its_length_away(session):
    _, code = advocate_with_code(
        session, fraud={"coupons": {"max_redemptions": 3, "window_hours": 1}}
    )
    for i in range(4):  # the first and the last are exactly an hour apart
        _sign_up(session, code, f"P{i}", at=NOW + timedelta(minutes=20 * i), via="promo")
    process_batch(session, 1000)
    assert _status(session, "P0") == "flagged"


def test_a_fourth_new_account_on_one_device_within_a_day_is_flagged(session):
    _, code = advocate_with_code(session)
    # Exactly a day before D2: outside D2's window, which would otherwise count four.
    _sign_up(session, code, "D-OLD", at=NOW - timedelta(hours=20), device_id="dev-farm")
    for i in range(5):
        _sign_up(session, code, f"D{i}", at=NOW + timedelta(hours=2 * i), device_id="dev-farm")
    process_batch(session, 1000)
    flagged = ["VELOCITY_DEVICE_ACCOUNTS" in _reasons(session, f"D{i}") for i in range(5)]
    assert flagged == [False, False, False, True, True]  # the default limit is 3 a day


def test_a_couple_of_friends_typing_the_code_is_no_leak(session):
    _, code = advocate_with_code(session)
    for i in range(2):
        _sign_up(session, code, f"P{i}", at=NOW + timedelta(minutes=i), via="promo")
    process_batch(session, 1000)
    assert [_status(session, f"P{i}") for i in range(2)] == ["pending"] * 2


def test_a_program_can_turn_a_rule_off(session):
    _, code = advocate_with_code(session, fraud={"rules": {"same_payment": {"enabled": False}}})
    _advocates_card(session, "pf_ada")
    _sign_up(session, code, "NEW1", purchase="pf_ada")
    process_batch(session, 1000)
    assert _status(session, "NEW1") == "qualified"  # and its purchase counted


def test_a_click_from_a_coupon_site_is_held_and_only_the_host_is_kept(session):
    _, code = advocate_with_code(session)
    click(
        session,
        code,
        visitor="v-NEW1",
        at=NOW - timedelta(minutes=5),
        referrer="https://www.retailmenot.com/view/shop.example?email=someone@example.org",
    )
    event(
        session, id="su-NEW1", type="signup", occurred_at=NOW, visitor_id="v-NEW1",
        customer={"external_id": "NEW1", "email": "new1@example.org"},
    )  # fmt: skip
    process_batch(session, 1000)
    assert _status(session, "NEW1") == "flagged"
    assert _reasons(session, "NEW1") == {"COUPON_SITE_REFERRER"}
    assert session.scalar(select(Touch.referrer_host)) == "www.retailmenot.com"
