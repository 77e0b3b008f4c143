"""The advocate's dashboard behind a magic link: their numbers, rewards, share buttons and
place on the leaderboard; an expired or edited link gets a friendly page, never an error."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.engine import transaction
from db.models import Advocate, Customer
from referral.portal import portal_token
from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline

FUTURE = datetime.now(UTC) + timedelta(days=7)


@pytest.fixture
def advocate(web):
    """ADV referred two friends who bought; each reward was issued."""
    with transaction(web.engine) as session:
        _, code = advocate_with_code(
            session, milestones=[{"name": "Five friends", "referrals": 5, "tier_upgrade": "gold"}]
        )
        referred_purchase(session, code, referee="NEW1")
        referred_purchase(session, code, referee="NEW2")
        run_pipeline(session)
        session.execute(
            Customer.__table__.update()
            .where(Customer.external_id == "ADV")
            .values(name="Ada Lovelace")
        )
        advocate_id = session.scalar(
            select(Advocate.id).join(Customer, Customer.id == Advocate.customer_id)
        )
    return advocate_id, code


def _token(web, advocate_id, expires=FUTURE):
    return portal_token(advocate_id, expires, web.settings.portal_key)


def test_the_dashboard_json_has_the_advocates_numbers(web, advocate):
    advocate_id, code = advocate
    with web.client() as client:
        answer = client.get(f"/v1/advocates/{_token(web, advocate_id)}/dashboard")
    assert answer.status_code == 200
    board = answer.json()
    assert board["code"] == code
    assert board["stats"] == {"clicks": 2, "signups": 2, "successful": 2}
    assert [b["amount"] for b in board["balances"] if b["kind"] == "credit"] == ["20.00 USD"]
    assert {r["status"] for r in board["rewards"]} == {"issued"}
    assert set(board["share"]) == {"email", "sms", "whatsapp", "x", "facebook", "linkedin"}
    assert board["milestones"] == [
        {"name": "Five friends", "referrals": 5, "reached": False, "remaining": 3}
    ]
    assert board["leaderboard"] == {"position": 1, "advocates": 1, "referrals_to_next": None}


def test_the_page_greets_the_advocate_and_shows_their_link(web, advocate):
    advocate_id, code = advocate
    with web.client() as client:
        page = client.get(f"/portal/{_token(web, advocate_id)}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Hi Ada" in page.text and code in page.text
    assert 'data-stat="successful">2<' in page.text
    assert "Lovelace" not in page.text  # the first name is enough


def test_an_expired_link_gets_a_friendly_page_and_a_410_for_scripts(web, advocate):
    advocate_id, _ = advocate
    old = _token(web, advocate_id, datetime.now(UTC) - timedelta(minutes=1))
    with web.client() as client:
        page = client.get(f"/portal/{old}")
        data = client.get(f"/v1/advocates/{old}/dashboard")
    assert page.status_code == 200 and "This link has expired" in page.text
    assert (data.status_code, data.json()) == (410, {"detail": "this dashboard link has expired"})


@pytest.mark.parametrize("edit", ["other-advocate", "later-expiry", "garbage"])
def test_an_edited_link_opens_nothing(web, advocate, edit):
    advocate_id, _ = advocate
    token = _token(web, advocate_id)
    body, expires, signature = token.split(".")
    forged = {
        "other-advocate": f"{int(body) + 1}.{expires}.{signature}",
        "later-expiry": f"{body}.{int(expires) + 86400}.{signature}",
        "garbage": "x<script>alert(1)<script>",
    }[edit]
    with web.client() as client:
        page = client.get(f"/portal/{forged}")
        data = client.get(f"/v1/advocates/{forged}/dashboard")
    assert page.status_code == 200 and "We could not open this page" in page.text
    assert "<script>alert" not in page.text
    assert data.status_code == 404
