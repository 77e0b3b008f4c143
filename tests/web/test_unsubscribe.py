"""One-click unsubscribe: a POST to the link opts the customer out of that channel at once;
opening the link only shows a page with the button; a forged link changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import transaction
from db.models import Customer, Suppression
from referral.unsubscribe import link_key, unsubscribe_token
from tests.db.helpers import add_customers, customer
from tests.web.conftest import PEPPER


def _customer(web) -> int:
    with transaction(web.engine) as session:
        add_customers(session, customer("C1", "Ada@Example.com", consent_email=True))
        return session.scalar(select(Customer.id))


def _state(web):
    with transaction(web.engine) as session:
        consent = session.scalar(select(Customer.consent_email))
        suppressed = session.execute(select(Suppression.channel, Suppression.address)).all()
    return consent, suppressed


def test_one_click_post_unsubscribes_at_once(web):
    token = unsubscribe_token(_customer(web), "email", link_key(PEPPER.encode()))
    with web.client() as client:
        answer = client.post(
            f"/u/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200 and "no more emails" in answer.text
    assert _state(web) == (False, [("email", "ada@example.com")])


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(web):
    token = unsubscribe_token(_customer(web), "email", link_key(PEPPER.encode()))
    with web.client() as client:
        page = client.get(f"/u/{token}")
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert _state(web) == (True, [])


def test_a_forged_link_changes_nothing(web):
    customer_id = _customer(web)
    forged = unsubscribe_token(customer_id, "email", link_key(b"someone else"))
    with web.client() as client:
        answer = client.post(f"/u/{forged}")
        odd = client.post("/u/not-a-token")
    assert (answer.status_code, odd.status_code) == (404, 404)
    assert _state(web) == (True, [])
