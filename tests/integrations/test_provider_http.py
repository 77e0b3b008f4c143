"""integrations/provider_http.py, the HTTP parts the mail, messaging and CRM connectors share,
and the Retry-After policy each family keeps on top of it."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integrations.crm.http import parse_retry_after
from integrations.mail._http import retry_after as mail_retry_after
from integrations.messaging._http import retry_after_seconds
from integrations.provider_http import (
    ClientOwner,
    http_date,
    json_body,
    json_object,
    read_retry_after,
    status_kind,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("Fri, 20 Nov 2026 12:00:30 GMT", 30.0),
        ("Fri, 20 Nov 2026 12:00:30 +0200", 30.0 - 2 * 3600),  # a zone is honoured
        ("Fri, 20 Nov 2026 12:00:30", 30.0),  # no zone: UTC, as HTTP dates are
        ("Fri, 20 Nov 2026 11:59:00 GMT", -60.0),  # passed: negative, the caller clamps
        ("-5", -5.0),
        ("inf", float("inf")),
    ],
)
def test_retry_after_is_read_as_delay_seconds_or_as_an_http_date(value, seconds):
    assert read_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "nan", "Fri, 99 Nov 2026 12:00 GMT"])
def test_an_absent_or_unreadable_retry_after_is_none(value):
    assert read_retry_after(value, now=NOW) is None


def test_without_a_now_the_date_is_measured_from_the_current_time():
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 3590 < read_retry_after(in_an_hour) <= 3600


def test_http_dates_are_aware_datetimes():
    assert http_date("Fri, 20 Nov 2026 12:00:30 GMT") == NOW + timedelta(seconds=30)
    assert http_date("Fri, 20 Nov 2026 12:00:30").tzinfo is UTC
    assert http_date("20 Nov") is None


@pytest.mark.parametrize(
    ("value", "crm", "messaging"),
    [
        ("7", 7.0, 7.0),
        ("-5", 0.0, 0.0),
        ("Fri, 20 Nov 2026 11:59:00 GMT", 0.0, 0.0),
        ("90000", 24 * 3600.0, 24 * 3600.0),  # a wait is capped at a day
        ("inf", None, None),  # only finite waits are trusted
        ("nan", None, None),
    ],
)
def test_crm_and_messaging_clamp_the_wait_alike(value, crm, messaging):
    assert parse_retry_after(value, now=NOW) == crm
    assert retry_after_seconds(value, now=NOW) == messaging


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        ("12", 12.0),
        ("Fri, 20 Nov 2026 12:00:30 GMT", 30.0),
        ("-5", 45.0),  # not digits: the X-RateLimit-Reset below says the wait
        ("", 45.0),
    ],
)
def test_mail_reads_digits_or_a_date_then_the_rate_limit_reset(retry_after, wait):
    response = httpx.Response(
        429,
        headers={"Retry-After": retry_after, "X-RateLimit-Reset": str(int(NOW.timestamp()) + 45)},
    )
    assert mail_retry_after(response, lambda: NOW.timestamp()) == wait


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "permanent"),
        (401, "auth"),
        (403, "auth"),
        (404, "permanent"),
        (408, "transient"),
        (409, "permanent"),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
        (200, "permanent"),  # a 200 carrying an error code: the code decides, not this
    ],
)
def test_a_status_alone_says_auth_transient_or_permanent(status, kind):
    assert status_kind(status) == kind


def test_the_auth_statuses_and_408_can_be_set_per_provider():
    assert status_kind(403, auth={401}) == "permanent"
    assert status_kind(404, auth=(401, 403, 404)) == "auth"
    assert status_kind(408, timeout_is_transient=False) == "permanent"
    assert status_kind(429, timeout_is_transient=False) == "transient"


class Connector(ClientOwner):
    def __init__(self, client=None, **options):
        self._use_client(client, **options)


def test_a_client_made_by_the_connector_is_closed_with_it():
    with Connector(timeout=httpx.Timeout(3.0), headers={"User-Agent": "test-agent"}) as connector:
        client = connector._client
        assert client.timeout == httpx.Timeout(3.0)
        assert client.headers["User-Agent"] == "test-agent"
        assert client.follow_redirects is False
    assert client.is_closed


def test_an_injected_client_is_left_open_for_its_owner():
    injected = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    connector = Connector(injected, timeout=1.0)
    connector.close()
    assert connector._client is injected and not injected.is_closed
    injected.close()


@pytest.mark.parametrize(
    ("content", "body", "obj"),
    [
        (b'{"error": {"code": 4}}', {"error": {"code": 4}}, {"error": {"code": 4}}),
        (b"[1, 2]", [1, 2], None),
        (b"<html>Bad gateway</html>", None, None),
        (b"", None, None),
        (b'{"cut off": ', None, None),
        (b'"\xff"', None, None),
    ],
)
def test_json_is_read_tolerantly(content, body, obj):
    response = httpx.Response(502, content=content)
    assert json_body(response) == body
    assert json_object(response) == obj
