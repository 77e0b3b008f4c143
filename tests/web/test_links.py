"""GET /r/{code}: every click is counted once and lands somewhere useful, never on an error."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from db.advocates import issue_code
from db.engine import transaction
from db.models import Customer, ReferralCode, Touch
from db.programs import Programs
from referral.programs import ProgramConfig
from tests.db.helpers import add_customers, customer, event
from tests.web.conftest import FALLBACK

LANDING = "https://shop.example/welcome?lang=en"


@pytest.fixture
def code(web) -> str:
    with transaction(web.engine) as session:
        add_customers(session, customer("ADV-1"))
        program = Programs(session).create(
            name="Friends",
            reward_structure="referrer_only",
            referrer_reward={"type": "credit", "amount": "10.00"},
            links={
                "landing_url": LANDING,
                "self_referral_url": "https://shop.example/your-own-link",
                "fallback_url": "https://shop.example/offers",
            },
        )
        customer_id = session.scalar(select(Customer.id).where(Customer.external_id == "ADV-1"))
        return issue_code(session, program.id, customer_id, length=8).code


def touches(web):
    with transaction(web.engine) as session:
        return session.execute(
            select(Touch.channel, Touch.visitor_id, Touch.utm, Touch.ip_hash, Touch.device_id)
        ).all()


def test_a_click_is_recorded_and_redirected_to_the_landing_page_with_the_code(web, code):
    with web.client() as client:
        answer = client.get(
            f"/r/{code.lower()}",
            params={"ch": "whatsapp", "utm_campaign": "spring", "device_id": "dev-12345678"},
            headers={
                "User-Agent": "Mozilla/5.0",
                "Referer": "https://Mail.Example.com/inbox?q=ada@example.org",
            },
        )
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert target.netloc == "shop.example" and target.path == "/welcome"
    assert parse_qs(target.query) == {"lang": ["en"], "ref": [code]}
    visitor = answer.cookies["rvid"]
    cookie = answer.headers["set-cookie"]
    assert "Max-Age=2592000" in cookie  # the program's 30-day attribution window
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    [(channel, visitor_id, utm, ip_hash, device)] = touches(web)
    assert (channel, visitor_id, device) == ("whatsapp", visitor, "dev-12345678")
    assert utm == {"utm_campaign": "spring"}
    assert ip_hash and "127.0.0.1" not in ip_hash  # stored hashed, never as is
    with transaction(web.engine) as session:
        assert session.scalar(select(Touch.referrer_host)) == "mail.example.com"  # host only


def test_a_returning_visitor_keeps_their_cookie(web, code):
    with web.client() as client:
        first = client.get(f"/r/{code}")
        client.cookies.set("rvid", first.cookies["rvid"])
        client.get(f"/r/{code}")
    visitors = {t.visitor_id for t in touches(web)}
    assert visitors == {first.cookies["rvid"]}


def test_an_unknown_code_goes_to_the_fallback_and_counts_nothing(web, code):
    with web.client() as client:
        answer = client.get("/r/NOSUCHCODE")
    assert answer.status_code == 302
    assert answer.headers["location"] == FALLBACK
    assert touches(web) == []


def test_a_revoked_code_goes_to_the_programs_fallback(web, code):
    with transaction(web.engine) as session:
        session.execute(update(ReferralCode).values(revoked_at=ReferralCode.created_at))
    with web.client() as client:
        answer = client.get(f"/r/{code}")
    assert answer.headers["location"] == "https://shop.example/offers"
    assert touches(web) == []


def test_the_advocate_clicking_their_own_link_counts_nothing(web, code):
    with web.client() as client:
        visitor = client.get(f"/r/{code}").cookies["rvid"]
    with transaction(web.engine) as session:
        event(
            session,
            id="own-signup",
            type="signup",
            occurred_at="2026-11-20T10:00:00Z",
            visitor_id=visitor,
            customer={"external_id": "ADV-1"},
        )
    with web.client(cookies={"rvid": visitor}) as client:
        answer = client.get(f"/r/{code}")
    assert answer.headers["location"] == "https://shop.example/your-own-link"
    assert len(touches(web)) == 1  # only the first, anonymous click


def test_an_odd_visitor_cookie_is_replaced_not_stored(web, code):
    with web.client(cookies={"rvid": "<script>"}) as client:
        answer = client.get(f"/r/{code}")
    [touch] = touches(web)
    assert touch.visitor_id == answer.cookies["rvid"] != "<script>"


def test_qr_codes_render_as_svg_and_png(web, code):
    with web.client() as client:
        svg = client.get(f"/r/{code}/qr.svg")
        png = client.get(f"/r/{code}/qr.png")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.startswith(b"<?xml")
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


def test_odd_query_values_are_cleaned_never_refused(web, code):
    with web.client() as client:
        answer = client.get(
            f"/r/{code}", params={"ch": "x" * 500, "utm_source": "a\x00b", "device_id": "\x00"}
        )
        nul_code = client.get("/r/AB%00CD")
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("https://shop.example/welcome")
    [touch] = touches(web)
    assert touch.channel == "x" * 32 and touch.utm is None and touch.device_id is None
    assert (nul_code.status_code, nul_code.headers["location"]) == (302, FALLBACK)


def test_a_click_from_a_blocked_network_goes_to_the_fallback_and_counts_nothing(web, code):
    with transaction(web.engine) as session:
        programs = Programs(session)
        rules = programs.get("friends").config.model_dump(mode="json")
        blocked = {**rules, "fraud": {"blocklists": {"ips": ["127.0.0.0/8"]}}}
        programs.apply(ProgramConfig.model_validate(blocked))
    with web.client() as client:
        answer = client.get(f"/r/{code}")
    assert answer.headers["location"] == "https://shop.example/offers"
    assert touches(web) == []
