"""The HubSpot connector against a fake HubSpot that answers as the API documentation says.

The fake keeps contacts and deals in memory and answers CRM v3 search with filter groups,
one sort rule (more is a 400), `limit` up to 200, offset-style `after` paging and the
10,000-result cap (paging past it is a 400). Contacts modified at the same millisecond come
back in an order that is *not* their id order, as nothing documents one. Errors are
HubSpot's own JSON: 401 INVALID_AUTHENTICATION, 403 MISSING_SCOPES, 429 with
`policyName` and the X-HubSpot-RateLimit-* headers, 207 multi-status batch answers.

What the connector promises:
- a pull hands on every contact modified after the cursor exactly once, in (time, id)
  order, whatever the batch size, the 10,000 cap or the number of equal timestamps;
- each batch's cursor resumes exactly after that batch;
- errors come as CrmAuthError / CrmTransientError / CrmPermanentError, one short 429 is
  waited out in place, and no message or log line carries a token, email or phone.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import operator
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from integrations.crm import hubspot as hubspot_module
from integrations.crm.base import CrmReadError, ReferredLead
from integrations.crm.fields import HUBSPOT_CONTACT_FIELDS, FieldMap, FieldMapError
from integrations.crm.http import (
    CrmAmbiguousError,
    CrmAuthError,
    CrmHttp,
    CrmPermanentError,
    CrmTransientError,
    is_transient,
    parse_retry_after,
)
from integrations.crm.hubspot import SEARCH_CAP, HubSpotConnector, HubSpotCursor
from tasks.crm import contact_row

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BASE_MS = int((NOW - timedelta(days=30)).timestamp() * 1000)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ms(ms: int) -> str:
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@functools.cache
def ms_of(value: str) -> int:
    if value.lstrip("-").isdigit():
        return int(value)
    return (datetime.fromisoformat(value) - EPOCH) // timedelta(milliseconds=1)


def rendered(name: str, value: Any) -> str | None:
    """A property value as HubSpot answers it: a string; times as ISO 8601 with ms."""
    if isinstance(value, int) and name.endswith("lastmodifieddate"):
        return iso_ms(value)
    return None if value is None else str(value)


def error(status: int, category: str, message: str, **extra: Any) -> httpx.Response:
    body = {
        "status": "error",
        "message": message,
        "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        "category": category,
        **extra,
    }
    return httpx.Response(status, json=body)


class FakeHubSpot:
    """Contacts, deals, lists and owners as the CRM v3 API serves them."""

    def __init__(self) -> None:
        self.contacts: dict[int, dict[str, Any]] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.deal_contacts: dict[int, list[int]] = {}
        self.lists: dict[str, list[int]] = {}
        self.defined = set(HUBSPOT_CONTACT_FIELDS) | {
            "lastmodifieddate",
            "hs_object_id",
            "referral_status",
            "referred_by",
            "reward_balance",
            "hubspot_owner_id",
        }
        self.requests: list[tuple[str, str, Any]] = []
        self.script: list[httpx.Response | Exception] = []
        self.sleeps: list[float] = []
        self.cap = SEARCH_CAP

    # --- data ---------------------------------------------------------------------------

    def add(self, contact_id: int, modified_ms: int, **properties: str | None) -> None:
        self.contacts[contact_id] = {
            "email": f"person{contact_id}@example.com",
            "firstname": f"First{contact_id}",
            "lastname": f"Last{contact_id}",
            "createdate": "2024-01-15T09:30:00.000Z",
            **properties,
            # Kept as numbers here for speed; answers carry them as HubSpot does (strings).
            "hs_object_id": contact_id,
            "lastmodifieddate": modified_ms,
        }

    def touch(self, contact_id: int, modified_ms: int, **properties: str | None) -> None:
        self.contacts[contact_id].update(properties, lastmodifieddate=modified_ms)

    # --- transport ----------------------------------------------------------------------

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        if self.script:
            scripted = self.script.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            return scripted
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        path = request.url.path
        if request.method == "POST" and path == "/crm/v3/objects/contacts/search":
            return self.search(self.contacts, "lastmodifieddate", body)
        if request.method == "POST" and path == "/crm/v3/objects/deals/search":
            return self.search(self.deals, "hs_lastmodifieddate", body)
        if request.method == "POST" and path == "/crm/v3/objects/contacts/batch/update":
            return self.batch_update(body)
        if request.method == "POST" and path == "/crm/v4/associations/deals/contacts/batch/read":
            return self.associations(body)
        if request.method == "PATCH" and path.startswith("/crm/v3/objects/contacts/"):
            return self.patch(int(path.rsplit("/", 1)[1]), body)
        if request.method == "GET" and path.startswith("/crm/v3/lists/"):
            return self.memberships(path.split("/")[4], request.url.params)
        return error(404, "OBJECT_NOT_FOUND", "resource not found")

    # --- search -------------------------------------------------------------------------

    def search(
        self, store: dict[int, dict[str, Any]], modified: str, body: dict[str, Any]
    ) -> httpx.Response:
        sorts = body.get("sorts") or []
        limit = int(body.get("limit", 10))
        offset = int(body.get("after") or 0)
        groups = body.get("filterGroups") or []
        if len(sorts) > 1:
            return error(400, "VALIDATION_ERROR", "Only one sort is allowed per search")
        if limit > 200 or len(groups) > 5:
            return error(400, "VALIDATION_ERROR", "limit or filter groups over the maximum")
        if offset >= self.cap:
            return error(400, "VALIDATION_ERROR", "Search results are limited to 10,000 records")

        def value(record: dict[str, Any], name: str) -> int | str | None:
            raw = record.get(name)
            if name == "createdate" and raw is not None:
                return ms_of(raw)
            return raw

        def wanted_value(rule: dict[str, str]) -> int | str:
            name, raw = rule["propertyName"], rule["value"]
            if name in (modified, "createdate"):
                return ms_of(raw)
            return int(raw) if name == "hs_object_id" else raw

        # Filter groups are ORed, the filters of a group ANDed.
        matched: dict[int, dict[str, Any]] = {} if groups else dict(store)
        for group in groups:
            candidates = list(store.items())
            for rule in group["filters"]:
                compare = OPERATORS[rule["operator"]]
                want = wanted_value(rule)
                name = rule["propertyName"]
                if name in (modified, "hs_object_id"):  # numbers already: the fast way
                    candidates = [
                        (record_id, record)
                        for record_id, record in candidates
                        if compare(record[name], want)
                    ]
                else:
                    candidates = [
                        (record_id, record)
                        for record_id, record in candidates
                        if (have := value(record, name)) is not None and compare(have, want)
                    ]
            matched.update(candidates)
        hits = list(matched.items())
        if sorts:
            name = sorts[0]["propertyName"]
            # Equal values: an order that is stable but is not the id order.
            hits.sort(key=lambda hit: (value(hit[1], name), (hit[0] * 7919) % 10007))
        page = hits[offset : offset + limit]
        wanted = body.get("properties") or ["createdate", "email", "firstname", "lastname"]
        answer: dict[str, Any] = {
            "total": len(hits),
            "results": [
                {
                    "id": str(record_id),
                    "properties": {
                        name: rendered(name, record.get(name))
                        for name in {*wanted, "hs_object_id", "createdate", modified}
                    },
                    "createdAt": record.get("createdate"),
                    "updatedAt": rendered(modified, record[modified]),
                    "archived": False,
                }
                for record_id, record in page
            ],
        }
        if offset + limit < len(hits):
            after = str(offset + limit)
            answer["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return httpx.Response(200, json=answer)

    # --- writes -------------------------------------------------------------------------

    def batch_update(self, body: dict[str, Any]) -> httpx.Response:
        inputs = body["inputs"]
        if len(inputs) > 100:
            return error(400, "VALIDATION_ERROR", "Batch size exceeds the limit of 100")
        missing_props = {p for i in inputs for p in i["properties"] if p not in self.defined}
        if missing_props:
            details = [
                {
                    "isValid": False,
                    "message": f'Property "{p}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": p,
                }
                for p in sorted(missing_props)
            ]
            return error(400, "VALIDATION_ERROR", f"Property values were not valid: {details}")
        invalid = [
            i for i in inputs if i["properties"].get("referral_status") not in (None, *STATUSES)
        ]
        if invalid:  # one bad value refuses the whole batch, quoting the value
            value = invalid[0]["properties"]["referral_status"]
            message = f"Property values were not valid: {value} was not one of the allowed options"
            return error(400, "VALIDATION_ERROR", message)
        results, unknown = [], []
        for item in inputs:
            contact_id = int(item["id"])
            if contact_id not in self.contacts:
                unknown.append(item["id"])
                continue
            self.contacts[contact_id].update(item["properties"])
            results.append({"id": item["id"], "properties": item["properties"], "archived": False})
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2026-11-20T12:00:00.000Z",
            "completedAt": "2026-11-20T12:00:00.100Z",
        }
        if unknown:
            answer["numErrors"] = 1
            answer["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some CONTACT objects, they may be deleted or "
                    "not exist. Check that ids are valid.",
                    "context": {"ids": unknown},
                }
            ]
            return httpx.Response(207, json=answer)
        return httpx.Response(200, json=answer)

    def patch(self, contact_id: int, body: dict[str, Any]) -> httpx.Response:
        if contact_id not in self.contacts:
            return error(404, "OBJECT_NOT_FOUND", "resource not found")
        self.contacts[contact_id].update(body["properties"])
        return httpx.Response(200, json={"id": str(contact_id), "properties": body["properties"]})

    def associations(self, body: dict[str, Any]) -> httpx.Response:
        results, lonely = [], []
        for item in body["inputs"]:
            contacts = self.deal_contacts.get(int(item["id"]))
            if not contacts:
                lonely.append(item["id"])
                continue
            results.append(
                {
                    "from": {"id": item["id"]},
                    "to": [
                        {
                            "toObjectId": c,
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}
                            ],
                        }
                        for c in contacts
                    ],
                }
            )
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if lonely:
            answer["numErrors"] = len(lonely)
            answer["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": f"No contacts are associated with deal {d}.",
                    "context": {"fromObjectId": [d]},
                }
                for d in lonely
            ]
            return httpx.Response(207, json=answer)
        return httpx.Response(200, json=answer)

    def memberships(self, list_id: str, params: httpx.QueryParams) -> httpx.Response:
        members = self.lists.get(list_id)
        if members is None:
            return error(404, "OBJECT_NOT_FOUND", "list not found")
        limit = min(int(params.get("limit", 100)), 250)
        after = params.get("after")
        offset = int(base64.b64decode(after)) if after else 0  # opaque to clients
        answer: dict[str, Any] = {
            "results": [
                {"recordId": str(m), "membershipTimestamp": "2026-11-01T00:00:00.000Z"}
                for m in members[offset : offset + limit]
            ],
            "total": len(members),
        }
        if offset + limit < len(members):
            token = base64.b64encode(str(offset + limit).encode()).decode()
            answer["paging"] = {"next": {"after": token, "link": "..."}}
        return httpx.Response(200, json=answer)

    def searches(self) -> list[dict[str, Any]]:
        return [body for method, path, body in self.requests if path.endswith("/search")]


STATUSES = ("invited", "signed_up", "rewarded")
OPERATORS = {
    "EQ": operator.eq,
    "NEQ": operator.ne,
    "GT": operator.gt,
    "GTE": operator.ge,
    "LT": operator.lt,
    "LTE": operator.le,
}


@pytest.fixture
def hubspot() -> FakeHubSpot:
    return FakeHubSpot()


def connect(fake: FakeHubSpot, **options: Any) -> HubSpotConnector:
    options.setdefault("clock", lambda: NOW)
    return HubSpotConnector(TOKEN, client=fake.client(), sleep=fake.sleeps.append, **options)


def ids(batches: list[Any]) -> list[str]:
    return [record["external_id"] for batch in batches for record in batch.records]


def in_order(fake: FakeHubSpot) -> list[str]:
    """What every pull must hand on: contacts by (modification time, id)."""
    order = sorted(fake.contacts, key=lambda c: (fake.contacts[c]["lastmodifieddate"], c))
    return [str(c) for c in order]


def crowd(fake: FakeHubSpot, count: int, *, per_ms: int, start_id: int = 1) -> None:
    """`count` contacts, `per_ms` of them sharing each millisecond, ids not in time order."""
    for n in range(count):
        contact_id = start_id + (n * 37) % count
        fake.add(contact_id, BASE_MS + (n // per_ms))


# --- reading contacts ------------------------------------------------------------------------


def test_a_first_pull_maps_every_contact_onto_customer_columns(hubspot):
    hubspot.add(
        51,
        BASE_MS,
        email=" Ada@Example.com ",
        mobilephone=None,
        phone="+1 415 555 0100",
        lifecyclestage="customer",
        nps_score="9",
        total_revenue="1234.505",
        recent_deal_close_date="1767225600000",  # date properties may come as epoch ms
        hs_lead_status="CONNECTED",
        hubspot_owner_id="9001",
    )
    hubspot.add(52, BASE_MS + 1, nps_score="eleven", lastname=None)

    [batch] = list(connect(hubspot).pull(None))

    ada, other = batch.records
    assert ada == {
        "external_id": "51",
        "email": "Ada@Example.com",
        "name": "First51 Last51",
        "phone_e164": "+1 415 555 0100",
        "segment": "customer",
        "customer_since": datetime(2024, 1, 15, 9, 30, tzinfo=UTC),
        "nps_score": 9,
        "total_spend_minor": 123450,  # half to even, in cents
        "last_order_at": datetime(2026, 1, 1, tzinfo=UTC),
        "attributes": {"lead_status": "CONNECTED", "owner_id": "9001"},
    }
    assert other["nps_score"] is None and other["name"] == "First52"
    assert other["total_spend_minor"] == 0 and other["attributes"] is None
    assert batch.cursor == f"{BASE_MS + 1}:52"
    # tasks.crm.contact_row accepts them: every key is a customer column.
    row = contact_row(ada, source="hubspot", region="US")
    assert row["email_normalized"] == "ada@example.com" and row["phone_e164"] == "+14155550100"


def test_the_search_asks_for_mapped_properties_sorted_by_modification_time(hubspot):
    hubspot.add(1, BASE_MS)
    list(connect(hubspot).pull(f"{BASE_MS - 5}:0"))

    body = hubspot.searches()[-1]
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert body["limit"] == 100
    assert {"email", "firstname", "lastname", "lifecyclestage", "nps_score"} <= set(
        body["properties"]
    )
    assert "lastmodifieddate" in body["properties"]
    [group] = body["filterGroups"]
    settled = int((NOW - timedelta(seconds=60)).timestamp() * 1000)
    assert {"propertyName": "lastmodifieddate", "operator": "GT", "value": str(BASE_MS - 5)} in (
        group["filters"]
    )
    assert {"propertyName": "lastmodifieddate", "operator": "LTE", "value": str(settled)} in (
        group["filters"]
    )


def test_contacts_come_in_time_then_id_order_in_bounded_batches(hubspot):
    crowd(hubspot, 45, per_ms=4)

    batches = list(connect(hubspot, batch_size=10, page_size=7).pull(None))

    assert [len(b.records) for b in batches] == [10, 10, 10, 10, 5]
    assert ids(batches) == in_order(hubspot)
    last = ids(batches)[-1]
    assert batches[-1].cursor == f"{hubspot.contacts[int(last)]['lastmodifieddate']}:{last}"


def test_a_pull_resumed_from_any_cursor_returns_exactly_the_contacts_after_it(hubspot):
    crowd(hubspot, 60, per_ms=6)  # batch boundaries fall inside groups of equal times
    expected = in_order(hubspot)
    batches = list(connect(hubspot, batch_size=4, page_size=5).pull(None))
    assert ids(batches) == expected

    done = 0
    for batch in batches:
        done += len(batch.records)
        rest = list(connect(hubspot, batch_size=4, page_size=5).pull(batch.cursor))
        assert ids(rest) == expected[done:], batch.cursor


def test_the_next_pull_brings_exactly_what_changed_since_including_equal_times(hubspot):
    crowd(hubspot, 20, per_ms=5)
    cursor = list(connect(hubspot).pull(None))[-1].cursor
    last_ms = int(cursor.split(":")[0])

    hubspot.touch(3, last_ms + 10, lifecyclestage="evangelist")
    hubspot.add(999, last_ms)  # same millisecond as the cursor, higher id
    hubspot.add(1000, last_ms + 10)

    batches = list(connect(hubspot).pull(cursor))

    assert ids(batches) == ["999", "3", "1000"]
    assert batches[0].records[1]["segment"] == "evangelist"
    assert list(connect(hubspot).pull(batches[-1].cursor)) == []


def test_changes_inside_the_settle_window_wait_for_the_next_pull(hubspot):
    hubspot.add(1, BASE_MS)
    hubspot.add(2, int((NOW - timedelta(seconds=20)).timestamp() * 1000))

    first = list(connect(hubspot).pull(None))
    assert ids(first) == ["1"]

    later = list(connect(hubspot, clock=lambda: NOW + timedelta(minutes=2)).pull(first[-1].cursor))
    assert ids(later) == ["2"]


def test_more_than_10000_changes_are_read_past_the_search_cap(hubspot):
    crowd(hubspot, SEARCH_CAP + 120, per_ms=7)

    batches = list(connect(hubspot, batch_size=2500, page_size=200).pull(None))

    assert ids(batches) == in_order(hubspot)  # all, once each, in order
    offsets = [int(body.get("after") or 0) for body in hubspot.searches()]
    assert max(offsets) < SEARCH_CAP  # never asked past the cap (that is a 400)


def test_more_contacts_with_one_modification_time_than_the_cap_are_all_read(hubspot, monkeypatch):
    # A bulk import can stamp thousands of contacts with the same time. (A cap of 1,000
    # instead of 10,000 keeps the test fast; the logic does not depend on the number.)
    monkeypatch.setattr(hubspot_module, "SEARCH_CAP", 1000)
    hubspot.cap = 1000
    for contact_id in range(1, 1031):
        hubspot.add(contact_id, BASE_MS + 5)
    hubspot.add(20_001, BASE_MS)
    hubspot.add(20_002, BASE_MS + 9)

    batches = list(connect(hubspot, batch_size=500).pull(None))

    assert ids(batches) == in_order(hubspot)
    assert ids(batches)[:2] == ["20001", "1"] and ids(batches)[-1] == "20002"


def test_a_cursor_that_is_not_ours_is_refused():
    with pytest.raises(CrmReadError):
        HubSpotCursor.parse("2026-11-01T00:00:00Z:12")
    assert str(HubSpotCursor.parse("1700000000000:42")) == "1700000000000:42"


# --- errors ----------------------------------------------------------------------------------


def test_a_refused_token_is_an_auth_error_that_never_shows_the_token(hubspot):
    hubspot.add(1, BASE_MS)
    connector = HubSpotConnector("pat-na1-revoked", client=hubspot.client(), clock=lambda: NOW)

    with pytest.raises(CrmAuthError) as caught:
        list(connector.pull(None))

    assert caught.value.code == "INVALID_AUTHENTICATION" and caught.value.status == 401
    assert "revoked" not in str(caught.value) and "pat-na1" not in repr(connector)
    assert not is_transient(caught.value)


def test_missing_scopes_are_an_auth_error(hubspot):
    hubspot.script.append(
        error(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call.",
            errors=[{"message": "One or more of the following scopes are required."}],
        )
    )
    with pytest.raises(CrmAuthError) as caught:
        list(connect(hubspot).pull(None))
    assert caught.value.code == "MISSING_SCOPES"


def rate_limited(policy: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c1",
        "policyName": policy,
    }
    return httpx.Response(429, json=body, headers=headers or {})


def test_one_short_429_is_waited_out_in_place(hubspot):
    hubspot.add(1, BASE_MS)
    hubspot.script.append(rate_limited("TEN_SECONDLY_ROLLING", {"Retry-After": "2"}))

    assert ids(list(connect(hubspot).pull(None))) == ["1"]
    assert hubspot.sleeps == [2.0]


def test_hubspot_rate_limit_headers_give_the_wait_when_there_is_no_retry_after(hubspot):
    hubspot.add(1, BASE_MS)
    headers = {
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "0",
    }
    hubspot.script.append(rate_limited("TEN_SECONDLY_ROLLING", headers))

    assert ids(list(connect(hubspot).pull(None))) == ["1"]
    assert hubspot.sleeps == [10.0]


def test_search_429s_carry_no_headers_and_wait_a_second(hubspot):
    hubspot.add(1, BASE_MS)
    hubspot.script.append(rate_limited("SECONDLY"))

    assert ids(list(connect(hubspot).pull(None))) == ["1"]
    assert hubspot.sleeps == [1.0]


def test_a_long_or_second_429_is_raised_with_its_wait_for_the_caller(hubspot):
    hubspot.script.append(rate_limited("TEN_SECONDLY_ROLLING", {"Retry-After": "30"}))
    with pytest.raises(CrmTransientError) as caught:
        list(connect(hubspot).pull(None))
    assert caught.value.retry_after == 30.0 and hubspot.sleeps == []
    assert is_transient(caught.value)

    hubspot.script += [rate_limited("SECONDLY", {"Retry-After": "1"})] * 2
    with pytest.raises(CrmTransientError) as caught:
        list(connect(hubspot).pull(None))
    assert hubspot.sleeps == [1.0] and caught.value.retry_after == 1.0


def test_the_daily_limit_is_transient_but_never_waited_in_place(hubspot):
    hubspot.script.append(
        rate_limited("DAILY", {"X-HubSpot-RateLimit-Daily-Remaining": "0", "Retry-After": "5"})
    )
    with pytest.raises(CrmTransientError) as caught:
        list(connect(hubspot).pull(None))
    assert "daily" in str(caught.value) and hubspot.sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(hubspot, status):
    hubspot.script.append(httpx.Response(status, text="<html>Bad gateway</html>"))
    with pytest.raises(CrmTransientError) as caught:
        list(connect(hubspot).pull(None))
    assert caught.value.status == status


def test_connection_failures_and_timeouts_of_reads_are_transient(hubspot):
    hubspot.script.append(httpx.ConnectError("connection refused"))
    with pytest.raises(CrmTransientError):
        list(connect(hubspot).pull(None))
    hubspot.script.append(httpx.ReadTimeout("read timed out"))
    with pytest.raises(CrmTransientError):
        list(connect(hubspot).pull(None))


def test_a_malformed_answer_is_permanent_and_named_by_endpoint_not_by_content(hubspot):
    hubspot.script.append(
        httpx.Response(200, text='{"results": [{"id": "1", "properties": {"email": "ada@exa')
    )
    with pytest.raises(CrmPermanentError) as caught:
        list(connect(hubspot).pull(None))
    assert str(caught.value) == "hubspot contacts search: the answer is not valid JSON"

    hubspot.script.append(httpx.Response(200, json={"status": "ok"}))
    with pytest.raises(CrmPermanentError, match="contacts search: unexpected answer shape"):
        list(connect(hubspot).pull(None))


def test_other_client_errors_are_permanent(hubspot):
    hubspot.script.append(error(400, "VALIDATION_ERROR", "There was a problem with the request."))
    with pytest.raises(CrmPermanentError) as caught:
        list(connect(hubspot).pull(None))
    assert not isinstance(caught.value, CrmAuthError) and caught.value.code == "VALIDATION_ERROR"


def test_a_pull_that_fails_midway_resumes_from_its_last_batch(hubspot):
    crowd(hubspot, 30, per_ms=3)
    connector = connect(hubspot, batch_size=10, page_size=10)
    pulled = connector.pull(None)
    first = next(pulled)
    hubspot.script.append(httpx.Response(503))
    with pytest.raises(CrmTransientError):
        list(pulled)

    rest = list(connect(hubspot, batch_size=10).pull(first.cursor))
    assert ids([first, *rest]) == in_order(hubspot)


def test_non_idempotent_requests_that_time_out_are_ambiguous():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    http = CrmHttp(httpx.Client(transport=httpx.MockTransport(handler)), provider="x")
    with pytest.raises(CrmAmbiguousError):
        http.request("POST", "https://x.test/a", endpoint="create", idempotent=False)
    with pytest.raises(CrmTransientError):
        http.request("POST", "https://x.test/a", endpoint="search", idempotent=True)


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Fri, 20 Nov 2026 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# --- write-back ------------------------------------------------------------------------------


def test_referral_properties_are_written_back_100_contacts_a_call(hubspot):
    for contact_id in range(1, 251):
        hubspot.add(contact_id, BASE_MS)
    updates = {
        str(c): {
            "referral_status": "signed_up",
            "referred_by": "77",
            "reward_balance": Decimal("12.50"),
        }
        for c in range(1, 251)
    }

    result = connect(hubspot).update_contacts(updates)

    calls = [b for m, p, b in hubspot.requests if p.endswith("/batch/update")]
    assert [len(call["inputs"]) for call in calls] == [100, 100, 50]
    assert calls[0]["inputs"][0] == {
        "id": "1",
        "properties": {
            "referral_status": "signed_up",
            "referred_by": "77",
            "reward_balance": "12.50",
        },
    }
    assert sorted(result.updated, key=int) == [str(c) for c in range(1, 251)]
    assert result.failed == {}
    assert hubspot.contacts[250]["referral_status"] == "signed_up"


def test_values_are_sent_as_hubspot_reads_them(hubspot):
    hubspot.add(1, BASE_MS)
    hubspot.defined |= {"is_advocate", "referred_at", "reward_expires"}
    connect(hubspot).update_contacts(
        {
            "1": {
                "is_advocate": True,
                "referred_at": datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
                "reward_expires": datetime(2026, 12, 31, tzinfo=UTC).date(),
                "referred_by": None,
            }
        }
    )
    assert hubspot.requests[-1][2]["inputs"][0]["properties"] == {
        "is_advocate": "true",
        "referred_at": "2026-11-02T10:00:00.000Z",
        "reward_expires": "2026-12-31",
        "referred_by": "",  # clears the property
    }


def test_unknown_contacts_are_reported_from_the_207_answer(hubspot):
    for contact_id in (1, 2, 3):
        hubspot.add(contact_id, BASE_MS)

    result = connect(hubspot).update_contacts(
        {c: {"referral_status": "invited"} for c in ("1", "404", "2", "405", "3")}
    )

    assert result.updated == ("1", "2", "3")
    assert result.failed == {"404": "OBJECT_NOT_FOUND", "405": "OBJECT_NOT_FOUND"}


def test_a_batch_refused_for_one_bad_value_is_split_until_the_bad_contacts_are_found(hubspot):
    for contact_id in range(1, 101):
        hubspot.add(contact_id, BASE_MS)
    updates = {str(c): {"referral_status": "invited"} for c in range(1, 101)}
    updates["17"] = {"referral_status": "not-a-status"}
    updates["64"] = {"referral_status": "also-wrong"}

    result = connect(hubspot).update_contacts(updates)

    assert result.failed == {"17": "VALIDATION_ERROR", "64": "VALIDATION_ERROR"}
    assert len(result.updated) == 98 and hubspot.contacts[18]["referral_status"] == "invited"
    calls = [b for m, p, b in hubspot.requests if p.endswith("/batch/update")]
    assert len(calls) <= 2 * 7 * 2 + 1  # two bisections of depth 7, not 100 calls


def test_a_property_that_does_not_exist_fails_the_write_at_once(hubspot):
    hubspot.add(1, BASE_MS)
    hubspot.add(2, BASE_MS)
    with pytest.raises(CrmPermanentError) as caught:
        connect(hubspot).update_contacts(
            {"1": {"referal_status": "x"}, "2": {"referal_status": "x"}}
        )
    assert caught.value.code == "PROPERTY_DOESNT_EXIST"
    assert len(hubspot.requests) == 1


def test_write_back_refuses_ids_and_names_that_are_not_hubspot_ones_before_sending(hubspot):
    with pytest.raises(ValueError):
        connect(hubspot).update_contacts({"1/../../owners": {"referral_status": "x"}})
    with pytest.raises(ValueError):
        connect(hubspot).update_contacts({"1": {"Referral Status": "x"}})
    assert hubspot.requests == []


def test_a_referred_lead_is_assigned_to_an_owner(hubspot):
    hubspot.add(7, BASE_MS)
    connect(hubspot).assign_owner("7", "9001")

    method, path, body = hubspot.requests[-1]
    assert (method, path) == ("PATCH", "/crm/v3/objects/contacts/7")
    assert body == {"properties": {"hubspot_owner_id": "9001"}}
    with pytest.raises(CrmPermanentError) as caught:
        connect(hubspot).assign_owner("8", "9001")
    assert caught.value.status == 404


def test_the_crm_writer_hands_a_referred_lead_to_its_owner(hubspot):
    hubspot.add(7, BASE_MS)
    lead = ReferredLead(
        referral_id=41, contact_id="7", referrer_contact_id="3", referrer_name=None,
        program="friends", owner_id="9001",
    )  # fmt: skip

    assert connect(hubspot).referred_lead(lead) is None

    assert hubspot.requests[-1][1:] == (
        "/crm/v3/objects/contacts/7",
        {"properties": {"hubspot_owner_id": "9001"}},
    )


# --- segments and deals ----------------------------------------------------------------------


def test_list_memberships_page_through_the_whole_list(hubspot):
    hubspot.lists["123"] = list(range(1000, 1600))

    members = list(connect(hubspot).list_memberships("123"))

    assert members == [str(m) for m in range(1000, 1600)]
    pages = [p for m, p, b in hubspot.requests if p == "/crm/v3/lists/123/memberships"]
    assert len(pages) == 3


def test_closed_won_deals_become_purchases_of_their_contact(hubspot):
    def deal(deal_id: int, ms: int, **props: str | None) -> None:
        hubspot.deals[deal_id] = {
            "amount": "99.999",
            "closedate": "2026-11-02T15:00:00.000Z",
            "dealstage": "closedwon",
            "hs_is_closed_won": "true",
            **props,
            "hs_object_id": deal_id,
            "hs_lastmodifieddate": ms,
        }

    deal(1, BASE_MS)
    deal(2, BASE_MS + 1, deal_currency_code="JPY", amount="1200")
    deal(3, BASE_MS + 2, dealstage="appointmentscheduled", hs_is_closed_won="false")
    deal(4, BASE_MS + 3)  # no contact
    hubspot.deal_contacts = {1: [502, 501], 2: [600], 3: [700]}

    feed = connect(hubspot).deal_feed(currency="EUR")
    batches = list(feed.pull(None))

    assert feed.name == "hubspot-deals" and feed.customer_source == "hubspot"
    events = [event for batch in batches for event in batch.events]
    assert [(e.id, e.customer.external_id, e.amount_minor, e.currency) for e in events] == [
        ("hubspot-deal-1", "501", 10000, "EUR"),
        ("hubspot-deal-2", "600", 1200, "JPY"),
    ]
    assert events[0].type == "purchase" and events[0].order_id == "1"
    assert batches[-1].cursor == f"{BASE_MS + 3}:4"


# --- field mapping ---------------------------------------------------------------------------


def test_a_field_map_converts_numbers_booleans_dates_and_consent():
    field_map = FieldMap(
        {
            "email": "email",
            "hs_email_optout": "consent_email:optout",
            "sms_ok": "consent_sms",
            "orders": "orders_count",
            "spend_cents": "total_spend_minor",
            "first_order": "first_order_at",
            "nps_time": "nps_at",
            "country_code": "country",
            "tier_name": "tier",
            "vip": "attributes.vip:bool",
        }
    )
    contact = field_map.to_contact(
        "9",
        {
            "email": "a@b.co",
            "hs_email_optout": "false",
            "sms_ok": "Yes",
            "orders": "3.0",
            "spend_cents": 4599,
            "first_order": "2025-03-01",
            "nps_time": "2026-11-01T10:00:00+01:00",
            "country_code": "de",
            "tier_name": "gold",
            "vip": "1",
        },
    )
    assert contact == {
        "external_id": "9",
        "email": "a@b.co",
        "consent_email": True,
        "consent_sms": True,
        "orders_count": 3,
        "total_spend_minor": 4599,
        "first_order_at": datetime(2025, 3, 1, tzinfo=UTC),
        "nps_at": datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        "country": "DE",
        "tier": "gold",
        "attributes": {"vip": True},
    }


def test_unreadable_values_become_empty_and_are_counted_by_property_only(caplog, hubspot):
    problems: Counter[str] = Counter()
    field_map = FieldMap(
        {"email": "email", "country": "country", "ok": "consent_sms", "n": "orders_count"}
    )
    contact = field_map.to_contact(
        "1",
        {"email": "not an email", "country": "Germany", "ok": "perhaps", "n": "2.5"},
        problems=problems,
    )
    assert contact == {
        "external_id": "1",
        "email": None,
        "country": None,
        "consent_sms": False,  # NOT NULL columns get their default
        "orders_count": 0,
    }
    assert problems == Counter({"email": 1, "country": 1, "ok": 1, "n": 1})

    hubspot.add(1, BASE_MS, nps_score="very high", email="grace@example.com")
    with caplog.at_level(logging.DEBUG):
        list(connect(hubspot).pull(None))
    assert "nps_score" in caplog.text and "very high" not in caplog.text


def test_a_wrong_field_map_is_refused_when_built():
    with pytest.raises(FieldMapError, match="no customer column"):
        FieldMap({"email": "mail"})
    with pytest.raises(FieldMapError, match="consent_email takes"):
        FieldMap({"hs_email_optout": "consent_email:int"})
    with pytest.raises(FieldMapError, match="unknown converter"):
        FieldMap({"x": "attributes.x:float"})
    with pytest.raises(FieldMapError, match="empty"):
        FieldMap({})


def test_a_custom_field_map_decides_what_is_asked_for_and_filled(hubspot):
    hubspot.add(5, BASE_MS, nps_score="10", lifecyclestage="lead")
    connector = connect(hubspot, field_map={"email": "email", "nps_score": "nps_score"})

    [batch] = list(connector.pull(None))

    assert batch.records[0] == {"external_id": "5", "email": "person5@example.com", "nps_score": 10}
    props = set(hubspot.searches()[-1]["properties"])
    assert props == {"email", "nps_score", "lastmodifieddate", "hs_object_id"}


def test_no_token_email_or_phone_reaches_the_logs(caplog, hubspot):
    hubspot.add(1, BASE_MS, email="secret.person@example.com", phone="+14155550199")
    hubspot.script.append(rate_limited("SECONDLY", {"Retry-After": "1"}))
    with caplog.at_level(logging.DEBUG):
        list(connect(hubspot).pull(None))
        connect(hubspot).update_contacts({"1": {"referral_status": "bogus"}})
        hubspot.script.append(httpx.Response(200, text="secret.person@example.com"))
        with pytest.raises(CrmPermanentError):
            list(connect(hubspot).pull(None))
    text = caplog.text
    assert text  # something was logged
    for secret in (TOKEN, "secret.person", "4155550199", "bogus"):
        assert secret not in text
