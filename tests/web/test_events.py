"""POST /v1/events and /v1/events:batch: stored before the answer, once, with clear errors."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from db.engine import transaction
from db.models import InboxEvent
from tests.web.conftest import OTHER_KEY

PURCHASE = {
    "id": "evt-1001",
    "type": "purchase",
    "occurred_at": "2026-11-20T10:00:00Z",
    "customer": {"external_id": "C-1", "email": "ana@example.com"},
    "order_id": "O-1",
    "amount": "40.00",
    "currency": "EUR",
    "shop_note": "kept, not rejected",
}


def inbox_rows(web):
    with transaction(web.engine) as session:
        return session.execute(
            select(InboxEvent.source, InboxEvent.event_id, InboxEvent.payload)
        ).all()


def test_an_accepted_event_is_in_the_inbox_before_the_answer(web):
    with web.api() as client:
        answer = client.post("/v1/events", json=PURCHASE)
    assert answer.status_code == 202
    assert answer.json() == {"status": "accepted", "id": "evt-1001"}
    [(source, event_id, payload)] = inbox_rows(web)
    assert (source, event_id) == ("api", "evt-1001")
    assert payload["shop_note"] == "kept, not rejected"
    assert payload["amount"] == "40.00"
    assert len(web.trigger.notified) == 1


def test_a_repeated_event_answers_200_and_changes_nothing(web):
    with web.api() as client:
        client.post("/v1/events", json=PURCHASE)
        again = client.post("/v1/events", json=PURCHASE)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(inbox_rows(web)) == 1
    assert len(web.trigger.notified) == 1


def test_the_same_event_sent_concurrently_is_stored_once(web):
    def send(_: int) -> int:
        with web.api() as client:
            return client.post("/v1/events", json=PURCHASE).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(send, range(16)))
    assert sorted(codes) == [200] * 15 + [202]
    assert len(inbox_rows(web)) == 1
    assert len(web.trigger.notified) == 1


def test_a_batch_reports_each_event_and_stores_the_new_ones(web):
    second = {**PURCHASE, "id": "evt-1002", "order_id": "O-2"}
    with web.api() as client:
        client.post("/v1/events", json=PURCHASE)
        answer = client.post("/v1/events:batch", json=[PURCHASE, second])
    assert answer.status_code == 202
    body = answer.json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert [r["status"] for r in body["results"]] == ["duplicate", "accepted"]
    assert len(inbox_rows(web)) == 2


def test_a_batch_with_one_bad_event_stores_none_and_names_the_field(web):
    bad = {**PURCHASE, "id": "evt-2", "amount": 12.5}
    with web.api() as client:
        answer = client.post("/v1/events:batch", json=[PURCHASE, bad])
    assert answer.status_code == 422
    fields = [f["field"] for f in answer.json()["fields"]]
    assert any(f.startswith("1.") and "amount" in f for f in fields), fields
    assert inbox_rows(web) == []


def test_a_batch_over_1000_events_is_refused(web):
    events = [{**PURCHASE, "id": f"e{i}"} for i in range(1001)]
    with web.api() as client:
        answer = client.post("/v1/events:batch", json=events)
    assert answer.status_code in (413, 422)
    assert inbox_rows(web) == []


def test_missing_fields_get_422_naming_them_without_echoing_values(web):
    event = {**PURCHASE, "customer": {"email": "secret@example.com"}}
    del event["currency"]
    with web.api() as client:
        answer = client.post("/v1/events", json=event)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid"
    assert "customer.external_id" in [f["field"] for f in body["fields"]]
    assert "secret@example.com" not in answer.text


def test_malformed_json_gets_400(web):
    with web.api() as client:
        answer = client.post(
            "/v1/events", content=b'{"id": "x",', headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed_json"


def test_a_body_that_is_not_json_gets_415(web):
    with web.api() as client:
        answer = client.post("/v1/events", content=b"id=x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_media_type"


def test_a_declared_body_over_the_cap_is_refused_before_it_is_read(web):
    big = json.dumps({**PURCHASE, "pad": "x" * (70 * 1024)}).encode()
    with web.api() as client:
        answer = client.post(
            "/v1/events", content=big, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"
    assert inbox_rows(web) == []


def test_a_streamed_body_over_the_cap_is_refused_as_it_arrives(web):
    def chunks():
        yield b'{"id": "big", "pad": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    with web.api() as client:
        answer = client.post(
            "/v1/events", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413
    assert inbox_rows(web) == []


def test_requests_without_a_valid_key_get_401(web):
    with web.client() as client:
        missing = client.post("/v1/events", json=PURCHASE)
        wrong = client.post(
            "/v1/events", json=PURCHASE, headers={"Authorization": "Bearer not-a-key"}
        )
        basic = client.post("/v1/events", json=PURCHASE, headers={"Authorization": "Basic eA=="})
    assert [r.status_code for r in (missing, wrong, basic)] == [401, 401, 401]
    assert all(r.json()["error"] == "unauthorized" for r in (missing, wrong, basic))
    assert inbox_rows(web) == []


def test_every_configured_key_is_accepted_so_keys_can_be_rotated(web):
    with web.client(headers={"Authorization": f"Bearer {OTHER_KEY}"}) as client:
        assert client.post("/v1/events", json=PURCHASE).status_code == 202


def test_unknown_paths_and_methods_answer_json(web):
    with web.api() as client:
        missing = client.get("/v1/nothing-here")
        wrong_method = client.get("/v1/events")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


def test_inbox_counts_one_row_per_event(web):
    with web.api() as client:
        client.post("/v1/events:batch", json=[{**PURCHASE, "id": f"b{i}"} for i in range(50)])
    with transaction(web.engine) as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 50
