"""POST /v1/advocates, and the health checks operators and load balancers poll."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.engine import transaction
from db.models import Advocate
from db.programs import Programs
from tests.web.conftest import RecordingTrigger, serve, web_settings
from web.app import create_app


@pytest.fixture
def program(web) -> str:
    with transaction(web.engine) as session:
        Programs(session).create(
            name="Friends",
            reward_structure="referrer_only",
            referrer_reward={"type": "credit", "amount": "10.00"},
        )
    return "friends"


def test_enrolling_a_customer_returns_their_code_link_qr_and_share_urls(web, program):
    person = {"external_id": "C-9", "email": "bo@example.com", "name": "Bo"}
    with web.api() as client:
        first = client.post("/v1/advocates", json={"program": program, "customer": person})
        again = client.post("/v1/advocates", json={"program": program, "customer": person})
    assert first.status_code == 200
    body = first.json()
    assert again.json()["code"] == body["code"]
    assert body["link"].startswith(f"{web.settings.web.public_base_url}/r/{body['code']}?")
    assert body["qr_svg_url"].endswith(f"/r/{body['code']}/qr.svg")
    assert set(body["share"]) == {"email", "sms", "whatsapp", "x", "facebook", "linkedin"}
    with transaction(web.engine) as session:
        assert session.scalar(select(func.count()).select_from(Advocate)) == 1


def test_enrolling_into_an_unknown_program_is_a_404(web):
    with web.api() as client:
        answer = client.post(
            "/v1/advocates", json={"program": "nope", "customer": {"external_id": "C-1"}}
        )
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "reason": "no program 'nope'"}


def test_a_taken_vanity_code_is_a_clear_409(web, program):
    with web.api() as client:
        client.post(
            "/v1/advocates",
            json={"program": program, "customer": {"external_id": "A"}, "vanity_code": "ANNA10"},
        )
        answer = client.post(
            "/v1/advocates",
            json={"program": program, "customer": {"external_id": "B"}, "vanity_code": "ANNA10"},
        )
    assert answer.status_code == 409
    assert answer.json()["error"] == "code_taken"


def test_health_and_readiness(web):
    with web.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_not_ready_while_the_schema_is_behind(tmp_path):
    settings = web_settings(f"sqlite:///{tmp_path / 'empty.db'}")
    for base_url in serve(create_app(settings, trigger=RecordingTrigger())):
        import httpx

        answer = httpx.get(f"{base_url}/readyz")
        assert answer.status_code == 503
        assert "migrations not current" in answer.json()["reason"]


def test_the_openapi_document_lists_every_endpoint(web):
    with web.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    for path in ("/r/{code}", "/v1/events", "/v1/events:batch", "/v1/advocates", "/readyz"):
        assert path in paths
