"""The Salesforce connector against a fake org that answers as the REST API documentation
says.

The fake issues OAuth tokens (client credentials, or a JWT bearer assertion it verifies
with the connected app's certificate key), answers SOQL through a small parser of its own
(SELECT / FROM / WHERE with AND, OR and parentheses / ORDER BY / LIMIT; string literals
with backslash escapes, unquoted dateTime literals), pages results with `nextRecordsUrl`,
and writes sObject Collections with per-record SaveResults. Errors are Salesforce's own:
`[{"message": ..., "errorCode": ...}]` with 401 INVALID_SESSION_ID, 403
REQUEST_LIMIT_EXCEEDED (a rate limit that is a 403), 400 INVALID_QUERY_LOCATOR, and the
token endpoint's `{"error": ..., "error_description": ...}`.

What the connector promises:
- a pull hands on every record modified after the cursor exactly once, in (SystemModstamp,
  Id) order, across pages, query limits and records sharing a SystemModstamp (which has
  whole seconds only); each batch's cursor resumes exactly after that batch;
- a token is fetched once, reused, and fetched again once when a session is refused;
- nothing is put into SOQL except through soql_identifier and soql_literal.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from integrations.crm.base import CrmReadError, ReferredLead
from integrations.crm.http import (
    CrmAmbiguousError,
    CrmAuthError,
    CrmPermanentError,
    CrmTransientError,
)
from integrations.crm.salesforce import (
    ClientCredentials,
    JwtBearer,
    SalesforceConnector,
    SalesforceCursor,
    soql_identifier,
    soql_literal,
)
from tasks.crm import contact_row

LOGIN = "https://acme.my.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"
INSTANCE = "https://acme-instance.my.salesforce.com"
ORG = "00D5e000000ABCDEAA"
CLIENT_ID = "3MVG9fake.consumer.key"
SECRET = "C0nsumerS3cret-do-not-log"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BASE = NOW - timedelta(days=3)
V = "/services/data/v61.0"


def sf_time(moment: datetime) -> str:
    """How the REST API writes dateTime values."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def rest_error(status: int, code: str, message: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json=[{"message": message, "errorCode": code, **extra}])


# --- a small SOQL parser and evaluator, for the fake -----------------------------------------

TOKEN = re.compile(
    r"""\s*(?:
      (?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)
    | (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def tokenize(soql: str) -> list[tuple[str, Any]]:
    tokens, at = [], 0
    while at < len(soql.rstrip()):
        match = TOKEN.match(soql, at)
        if not match:
            raise SyntaxError(f"unexpected text at {at}")
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            body = text[1:-1]
            value, i = [], 0
            while i < len(body):
                if body[i] == "\\":
                    if body[i + 1] not in UNESCAPE:
                        raise SyntaxError("invalid escape")
                    value.append(UNESCAPE[body[i + 1]])
                    i += 2
                else:
                    value.append(body[i])
                    i += 1
            tokens.append(("value", "".join(value)))
        elif kind == "datetime":
            tokens.append(("value", datetime.fromisoformat(text)))
        elif kind == "number":
            tokens.append(("value", Decimal(text)))
        elif kind == "word" and text.upper() in ("NULL", "TRUE", "FALSE"):
            tokens.append(("value", {"NULL": None, "TRUE": True, "FALSE": False}[text.upper()]))
        elif kind == "word" and text.upper() in (
            "SELECT", "FROM", "WHERE", "AND", "OR", "ORDER", "BY", "ASC", "DESC", "LIMIT"
        ):  # fmt: skip
            tokens.append(("keyword", text.upper()))
        else:
            tokens.append((kind, text))
        at = match.end()
    return tokens


class Query:
    """SELECT fields FROM object [WHERE condition] [ORDER BY f [ASC|DESC], ...] [LIMIT n]"""

    def __init__(self, soql: str) -> None:
        self.tokens = tokenize(soql)
        self.at = 0
        self.expect("keyword", "SELECT")
        self.fields = [self.take("word")]
        while self.peek() == ("punct", ","):
            self.at += 1
            self.fields.append(self.take("word"))
        self.expect("keyword", "FROM")
        self.object = self.take("word")
        self.where = None
        self.order: list[tuple[str, bool]] = []
        self.limit = None
        if self.peek() == ("keyword", "WHERE"):
            self.at += 1
            self.where = self.condition()
        if self.peek() == ("keyword", "ORDER"):
            self.at += 1
            self.expect("keyword", "BY")
            while True:
                name = self.take("word")
                descending = False
                if self.peek() in (("keyword", "ASC"), ("keyword", "DESC")):
                    descending = self.tokens[self.at][1] == "DESC"
                    self.at += 1
                self.order.append((name, descending))
                if self.peek() != ("punct", ","):
                    break
                self.at += 1
        if self.peek() == ("keyword", "LIMIT"):
            self.at += 1
            self.limit = int(self.take("value"))
        if self.at != len(self.tokens):
            raise SyntaxError("unexpected text after the query")

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str) -> Any:
        token = self.peek()
        if token is None or token[0] != kind:
            raise SyntaxError(f"expected {kind}")
        self.at += 1
        return token[1]

    def expect(self, kind: str, value: str) -> None:
        if self.peek() != (kind, value):
            raise SyntaxError(f"expected {value}")
        self.at += 1

    def condition(self) -> Any:
        terms = [self.conjunction()]
        while self.peek() == ("keyword", "OR"):
            self.at += 1
            terms.append(self.conjunction())
        return ("or", terms) if len(terms) > 1 else terms[0]

    def conjunction(self) -> Any:
        terms = [self.atom()]
        while self.peek() == ("keyword", "AND"):
            self.at += 1
            terms.append(self.atom())
        return ("and", terms) if len(terms) > 1 else terms[0]

    def atom(self) -> Any:
        if self.peek() == ("punct", "("):
            self.at += 1
            inner = self.condition()
            self.expect("punct", ")")
            return inner
        return ("compare", self.take("word"), self.take("op"), self.take("value"))

    def matches(self, record: dict[str, Any], node: Any = None) -> bool:
        node = self.where if node is None else node
        if node is None:
            return True
        if node[0] == "or":
            return any(self.matches(record, n) for n in node[1])
        if node[0] == "and":
            return all(self.matches(record, n) for n in node[1])
        _, name, op, want = node
        have = record.get(name)
        if isinstance(want, datetime):
            have = datetime.fromisoformat(have) if have else None
        if op in ("=", "!="):
            return (have == want) == (op == "=")
        if have is None or want is None:
            return False
        return {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]


# --- the fake org ----------------------------------------------------------------------------


class FakeSalesforce:
    FIELDS = {
        "Id", "SystemModstamp", "Email", "FirstName", "LastName", "MobilePhone", "Phone",
        "MailingCountry", "CreatedDate", "OwnerId", "AccountId", "NPS_Score__c",
        "Referral_Status__c", "Status", "LeadSource", "Country", "Account.Name",
    }  # fmt: skip

    def __init__(self, public_key: rsa.RSAPublicKey | None = None) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {"Contact": {}, "Lead": {}}
        self.public_key = public_key
        self.page_size = 2000
        self.tokens: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.queries: list[str] = []
        self.requests: list[tuple[str, str, Any]] = []
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.script: list[httpx.Response | Exception] = []
        self.tasks: list[dict[str, Any]] = []
        self.locked: set[str] = set()

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def add(self, n: int, modstamp: datetime, sobject: str = "Contact", **fields: Any) -> str:
        prefix = "003" if sobject == "Contact" else "00Q"
        record_id = f"{prefix}5e{n:010d}AAA"
        self.records[sobject][record_id] = {
            "Email": f"person{n}@example.com",
            "FirstName": f"First{n}",
            "LastName": f"Last{n}",
            "CreatedDate": sf_time(BASE - timedelta(days=400)),
            "OwnerId": "0055e000001XYZAAA2",
            **fields,
            "Id": record_id,
            "SystemModstamp": sf_time(modstamp),
        }
        return record_id

    def expire_sessions(self) -> None:
        self.tokens.clear()

    # --- transport ----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.path == "/services/oauth2/token":
            return self.token(request)
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, url.path, body))
        if self.script:
            scripted = self.script.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            return scripted
        if f"{url.scheme}://{url.host}" != INSTANCE:
            return httpx.Response(404)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return rest_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        path = url.path
        if request.method == "GET" and path == f"{V}/query":
            return self.query(url.params["q"])
        if request.method == "GET" and path.startswith(f"{V}/query/"):
            return self.query_more(path.rsplit("/", 1)[1])
        if request.method == "GET" and path.startswith(f"{V}/sobjects/"):
            _, sobject, record_id = path.removeprefix(V).strip("/").split("/")
            return self.read(sobject, record_id, url.params.get("fields", ""))
        if request.method == "PATCH" and path == f"{V}/composite/sobjects":
            return self.update(body)
        if request.method == "POST" and path == f"{V}/sobjects/Task":
            return self.create_task(body)
        return rest_error(404, "NOT_FOUND", "The requested resource does not exist")

    def token(self, request: httpx.Request) -> httpx.Response:
        if f"{request.url.scheme}://{request.url.host}" not in (LOGIN, SANDBOX_LOGIN):
            return httpx.Response(404)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.token_requests.append(form)
        if form.get("grant_type") == "client_credentials":
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != SECRET:
                return httpx.Response(
                    400,
                    json={
                        "error": "invalid_client",
                        "error_description": "invalid client credentials",
                    },
                )
        elif form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self.check_assertion(form.get("assertion", ""))
            if problem:
                return httpx.Response(
                    400, json={"error": "invalid_grant", "error_description": problem}
                )
        else:
            return httpx.Response(
                400,
                json={
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        access = f"{ORG[:15]}!AQ0AQ.token-{len(self.token_requests)}"
        self.tokens.add(access)
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "signature": "dGVzdA==",
                "scope": "api",
                "instance_url": INSTANCE,
                "id": f"https://login.salesforce.com/id/{ORG}/0055e000001XYZAAA2",
                "token_type": "Bearer",
                "issued_at": str(int(NOW.timestamp() * 1000)),
            },
        )

    def check_assertion(self, assertion: str) -> str | None:
        def unpad(part: str) -> bytes:
            return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

        try:
            header, payload, signature = assertion.split(".")
            assert self.public_key is not None
            self.public_key.verify(
                unpad(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (ValueError, InvalidSignature):
            return "invalid assertion"
        if json.loads(unpad(header)) != {"alg": "RS256"}:
            return "invalid assertion"
        claims = json.loads(unpad(payload))
        self.claims = claims
        if claims.get("iss") != CLIENT_ID or claims.get("sub") != "integration@acme.com":
            return "user hasn't approved this consumer"
        if not 0 < claims["exp"] - NOW.timestamp() <= 180:
            return "expired authorization code"
        return None

    # --- API ----------------------------------------------------------------------------

    def query(self, soql: str) -> httpx.Response:
        self.queries.append(soql)
        try:
            query = Query(soql)
        except SyntaxError:
            return rest_error(400, "MALFORMED_QUERY", "unexpected token")
        unknown = [f for f in query.fields if f not in self.FIELDS]
        if unknown:
            return rest_error(
                400,
                "INVALID_FIELD",
                f"No such column '{unknown[0]}' on entity '{query.object}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the "
                "custom field name.",
            )
        rows = [r for r in self.records[query.object].values() if query.matches(r)]
        for name, descending in reversed(query.order):
            rows.sort(key=lambda r, name=name: r.get(name) or "", reverse=descending)
        rows = rows[: query.limit] if query.limit is not None else rows
        rows = [self.shape(query.object, r, query.fields) for r in rows]
        locator = f"01g5e00000Locat{len(self.locators):03d}"
        self.locators[locator] = rows
        return self.page(locator, 0)

    def query_more(self, position: str) -> httpx.Response:
        locator, _, offset = position.rpartition("-")
        if locator not in self.locators:
            return rest_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self.page(locator, int(offset))

    def page(self, locator: str, offset: int) -> httpx.Response:
        rows = self.locators[locator]
        chunk = rows[offset : offset + self.page_size]
        done = offset + self.page_size >= len(rows)
        answer: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": chunk}
        if not done:
            answer["nextRecordsUrl"] = f"{V}/query/{locator}-{offset + self.page_size}"
        return httpx.Response(200, json=answer)

    def shape(self, sobject: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        shaped: dict[str, Any] = {
            "attributes": {"type": sobject, "url": f"{V}/sobjects/{sobject}/{record['Id']}"}
        }
        for name in fields:
            if "." in name:
                relation, field = name.split(".")
                shaped[relation] = (
                    {"attributes": {"type": relation}, field: record[name]}
                    if record.get(name) is not None
                    else None
                )
            else:
                shaped[name] = record.get(name)
        return shaped

    def read(self, sobject: str, record_id: str, fields: str) -> httpx.Response:
        record = self.records.get(sobject, {}).get(record_id)
        if record is None:
            return rest_error(404, "NOT_FOUND", "The requested resource does not exist")
        names = fields.split(",") if fields else sorted(self.FIELDS - {"Account.Name"})
        return httpx.Response(200, json=self.shape(sobject, record, names))

    def update(self, body: dict[str, Any]) -> httpx.Response:
        records = body["records"]
        if len(records) > 200:
            return rest_error(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        results = []
        for record in records:
            record_id = record["id"]
            sobject = record["attributes"]["type"]
            fields = {k: v for k, v in record.items() if k not in ("attributes", "id")}
            target = self.records[sobject].get(record_id)
            if target is None:
                results.append(self.failure("ENTITY_IS_DELETED", "entity is deleted", []))
            elif record_id in self.locked:
                results.append(
                    self.failure(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", []
                    )
                )
            elif len(str(fields.get("Referral_Status__c") or "")) > 20:
                value = fields["Referral_Status__c"]
                results.append(
                    self.failure(
                        "STRING_TOO_LONG",
                        f"Referral Status: data value too large: {value} (max length=20)",
                        ["Referral_Status__c"],
                    )
                )
            else:
                target.update(fields)
                results.append({"id": record_id, "success": True, "errors": []})
        return httpx.Response(200, json=results)

    @staticmethod
    def failure(code: str, message: str, fields: list[str]) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": code, "message": message, "fields": fields}],
        }

    def create_task(self, body: dict[str, Any]) -> httpx.Response:
        if not any(body["WhoId"] in records for records in self.records.values()):
            return rest_error(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "Name ID: id value of incorrect type",
                fields=["WhoId"],
            )
        task_id = f"00T5e0000{len(self.tasks):06d}AAA"
        self.tasks.append({"Id": task_id, **body})
        return httpx.Response(201, json={"id": task_id, "success": True, "errors": []})


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def org(private_key) -> FakeSalesforce:
    return FakeSalesforce(private_key.public_key())


def connect(org: FakeSalesforce, **options: Any) -> SalesforceConnector:
    options.setdefault("clock", lambda: NOW)
    options.setdefault("login_url", LOGIN)
    credentials = options.pop("credentials", ClientCredentials(CLIENT_ID, SECRET))
    return SalesforceConnector(credentials, client=org.client(), **options)


def ids(batches: list[Any]) -> list[str]:
    return [record["external_id"] for batch in batches for record in batch.records]


def in_order(org: FakeSalesforce, sobject: str = "Contact") -> list[str]:
    records = org.records[sobject].values()
    return [r["Id"] for r in sorted(records, key=lambda r: (r["SystemModstamp"], r["Id"]))]


def crowd(org: FakeSalesforce, count: int, *, per_second: int) -> None:
    """`count` records, `per_second` of them sharing each SystemModstamp, ids out of order."""
    for n in range(count):
        org.add((n * 37) % count, BASE + timedelta(seconds=n // per_second))


# --- SOQL literals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("O'Brien", r"'O\'Brien'"),
        ("back\\slash", r"'back\\slash'"),
        ('say "hi"', r"'say \"hi\"'"),
        ("two\nlines\tand\r", r"'two\nlines\tand\r'"),
        ("%_ stay as they are", "'%_ stay as they are'"),
        ("Zoë 東京", "'Zoë 東京'"),
        (None, "null"),
        (True, "true"),
        (42, "42"),
        (Decimal("12.50"), "12.50"),
        (0.5, "0.5"),
        (date(2026, 11, 20), "2026-11-20"),
        (datetime(2026, 11, 20, 13, 0, tzinfo=UTC), "2026-11-20T13:00:00Z"),
        (
            datetime.fromisoformat("2026-11-20T14:00:00+01:00"),
            "2026-11-20T13:00:00Z",
        ),
    ],
)
def test_soql_literals_are_quoted_and_escaped_as_soql_wants(value, literal):
    assert soql_literal(value) == literal


@pytest.mark.parametrize(
    "text",
    ["x' OR Id != '", "\\' OR Name != '\\", "'; DELETE", "a\\\\'b", "\\", "'", "end\\"],
)
def test_any_string_stays_one_literal_and_reads_back_unchanged(org, text):
    [(kind, value)] = tokenize(soql_literal(text))
    assert (kind, value) == ("value", text)

    org.add(1, BASE, Email="ada@example.com")
    query = Query(f"SELECT Id FROM Contact WHERE Email = {soql_literal(text)}")
    assert [r for r in org.records["Contact"].values() if query.matches(r)] == []


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("bell\x07", ValueError),
        (datetime(2026, 11, 20, 13, 0), ValueError),  # no timezone
        (datetime(2026, 11, 20, 13, 0, 0, 500, tzinfo=UTC), ValueError),  # sub-second
        (float("nan"), ValueError),
        (Decimal("Infinity"), ValueError),
        (["a"], TypeError),
    ],
)
def test_values_soql_cannot_hold_are_refused(value, error):
    with pytest.raises(error):
        soql_literal(value)


@pytest.mark.parametrize(
    "name", ["Contact; DELETE", "Name'", "", "First Name", "1Field", "a.b.c.d.e.f"]
)
def test_names_that_are_not_api_names_are_refused(name):
    with pytest.raises(ValueError):
        soql_identifier(name)
    assert soql_identifier("NPS_Score__c") == "NPS_Score__c"
    assert soql_identifier("Account.Owner.Name") == "Account.Owner.Name"


# --- authentication --------------------------------------------------------------------------


def test_client_credentials_get_one_token_for_a_whole_pull_and_its_instance_url(org):
    crowd(org, 12, per_second=2)
    org.page_size = 5

    connector = connect(org)
    batches = list(connector.pull(None))

    assert ids(batches) == in_order(org)
    assert org.token_requests == [
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
    ]
    assert connector.organization_id == ORG
    assert {path for _, path, _ in org.requests} >= {f"{V}/query"}
    assert SECRET not in repr(connector) and SECRET not in repr(connector.credentials)


def test_jwt_bearer_sends_an_rs256_assertion_salesforce_can_verify(org, private_key):
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    org.add(1, BASE)
    credentials = JwtBearer(CLIENT_ID, "integration@acme.com", pem.decode())

    assert ids(list(connect(org, credentials=credentials).pull(None))) == in_order(org)
    assert org.token_requests[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert org.claims["aud"] == "https://login.salesforce.com"
    assert "integration@acme.com" not in repr(credentials)


def test_a_sandbox_jwt_is_meant_for_test_salesforce_com(org, private_key):
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    credentials = JwtBearer(CLIENT_ID, "integration@acme.com", pem)
    list(connect(org, credentials=credentials, login_url=SANDBOX_LOGIN).pull(None))
    assert org.claims["aud"] == "https://test.salesforce.com"


def test_an_assertion_signed_with_another_key_is_an_auth_error(org):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    credentials = JwtBearer(CLIENT_ID, "integration@acme.com", pem)
    with pytest.raises(CrmAuthError) as caught:
        list(connect(org, credentials=credentials).pull(None))
    assert caught.value.code == "invalid_grant"


def test_wrong_client_credentials_are_an_auth_error_that_never_shows_the_secret(org):
    connector = connect(org, credentials=ClientCredentials(CLIENT_ID, "wrong-secret-value"))
    with pytest.raises(CrmAuthError) as caught:
        list(connector.pull(None))
    assert caught.value.code == "invalid_client"
    assert "wrong-secret-value" not in str(caught.value)


def test_a_refused_session_gets_one_new_token_and_the_call_is_repeated(org):
    org.add(1, BASE)
    connector = connect(org)
    list(connector.pull(None))
    org.expire_sessions()  # e.g. an admin revoked it, or the org's timeout passed

    assert ids(list(connector.pull(None))) == in_order(org)
    assert len(org.token_requests) == 2


def test_a_session_refused_again_after_a_new_token_is_an_auth_error(org):
    connector = connect(org)
    unauthorized = rest_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
    org.script += [unauthorized, unauthorized]
    with pytest.raises(CrmAuthError) as caught:
        list(connector.pull(None))
    assert caught.value.code == "INVALID_SESSION_ID"
    assert len(org.token_requests) == 2


def test_a_token_is_fetched_again_once_its_time_is_up(org):
    org.add(1, BASE)
    now = [NOW]
    connector = connect(org, clock=lambda: now[0], token_ttl=timedelta(minutes=15))
    list(connector.pull(None))
    now[0] += timedelta(minutes=10)
    list(connector.pull(None))
    assert len(org.token_requests) == 1
    now[0] += timedelta(minutes=10)
    list(connector.pull(None))
    assert len(org.token_requests) == 2


# --- reading changes -------------------------------------------------------------------------


def test_a_pull_maps_records_onto_customer_columns(org):
    org.add(
        7,
        BASE,
        Email="ada@example.com",
        MobilePhone=None,
        Phone="(415) 555-0100",
        MailingCountry="US",
        AccountId="0015e00000ABCDEAAA",
    )
    org.add(8, BASE, MailingCountry="United States", LastName=None)

    [batch] = list(connect(org).pull(None))

    ada = batch.records[0]
    assert ada == {
        "external_id": ada["external_id"],
        "email": "ada@example.com",
        "name": "First7 Last7",
        "phone_e164": "(415) 555-0100",
        "country": "US",
        "customer_since": BASE - timedelta(days=400),
        "attributes": {"owner_id": "0055e000001XYZAAA2", "account_id": "0015e00000ABCDEAAA"},
    }
    assert batch.records[1]["country"] is None and batch.records[1]["name"] == "First8"
    assert contact_row(ada, source="salesforce", region="US")["phone_e164"] == "+14155550100"


def test_the_query_filters_on_the_cursor_with_an_id_tie_break_and_orders_by_both(org):
    org.add(1, BASE)
    cursor = "2026-11-17T12:00:00.000Z:0035e0000000001AAA"
    list(connect(org, query_limit=500).pull(cursor))

    [soql] = org.queries
    assert soql == (
        "SELECT Id, SystemModstamp, Email, FirstName, LastName, MobilePhone, Phone, "
        "MailingCountry, CreatedDate, OwnerId, AccountId FROM Contact "
        "WHERE SystemModstamp <= 2026-11-20T11:59:00Z AND "
        "(SystemModstamp > 2026-11-17T12:00:00Z OR "
        "(SystemModstamp = 2026-11-17T12:00:00Z AND Id > '0035e0000000001AAA')) "
        "ORDER BY SystemModstamp ASC, Id ASC LIMIT 500"
    )


def test_pages_and_query_limits_hand_on_every_record_once_in_order(org):
    crowd(org, 41, per_second=4)
    org.page_size = 5  # nextRecordsUrl every 5 records

    batches = list(connect(org, batch_size=6, query_limit=13).pull(None))

    assert ids(batches) == in_order(org)
    assert [len(b.records) for b in batches] == [6] * 6 + [5]
    assert len(org.queries) == 4  # 13 + 13 + 13 + 2: queried again from the cursor
    more = [path for method, path, _ in org.requests if path.startswith(f"{V}/query/")]
    assert more  # nextRecordsUrl was followed


def test_a_pull_resumed_from_any_cursor_returns_exactly_the_records_after_it(org):
    crowd(org, 30, per_second=5)  # batch boundaries fall inside equal SystemModstamps
    org.page_size = 4
    expected = in_order(org)
    batches = list(connect(org, batch_size=4, query_limit=9).pull(None))
    assert ids(batches) == expected

    done = 0
    for batch in batches:
        done += len(batch.records)
        rest = list(connect(org, batch_size=4, query_limit=9).pull(batch.cursor))
        assert ids(rest) == expected[done:], batch.cursor


def test_the_next_pull_brings_exactly_what_changed_since(org):
    crowd(org, 10, per_second=3)
    cursor = SalesforceCursor.parse(list(connect(org).pull(None))[-1].cursor)

    changed = in_order(org)[2]
    org.records["Contact"][changed]["SystemModstamp"] = sf_time(
        cursor.modstamp + timedelta(seconds=5)
    )
    same_second = org.add(99, cursor.modstamp)  # higher id, same second as the cursor
    new = org.add(100, cursor.modstamp + timedelta(seconds=5))

    batches = list(connect(org).pull(str(cursor)))

    assert same_second > cursor.record_id
    assert ids(batches) == [same_second, *sorted([changed, new])]
    assert list(connect(org).pull(batches[-1].cursor)) == []


def test_changes_inside_the_settle_window_wait_for_the_next_pull(org):
    old = org.add(1, BASE)
    fresh = org.add(2, NOW - timedelta(seconds=20))

    first = list(connect(org).pull(None))
    assert ids(first) == [old]
    later = list(connect(org, clock=lambda: NOW + timedelta(minutes=2)).pull(first[-1].cursor))
    assert ids(later) == [fresh]


def test_an_expired_query_locator_is_replaced_by_a_new_query_from_the_cursor(org):
    crowd(org, 12, per_second=2)
    org.page_size = 5
    pulled = connect(org, batch_size=5).pull(None)

    first = next(pulled)
    org.locators.clear()  # 15 minutes idle: Salesforce dropped the query locator
    rest = list(pulled)

    assert ids([first, *rest]) == in_order(org)
    assert len(org.queries) == 2


def test_a_lead_pull_uses_the_lead_fields_and_a_custom_map_may_reach_related_records(org):
    org.add(1, BASE, sobject="Lead", Status="Working - Contacted", Country="DE")
    [batch] = list(connect(org, object="Lead").pull(None))
    assert batch.records[0]["segment"] == "Working - Contacted"
    assert batch.records[0]["country"] == "DE"

    org.add(2, BASE, NPS_Score__c=9.0, **{"Account.Name": "Acme GmbH"})
    field_map = {
        "Email": "email",
        "NPS_Score__c": "nps_score",
        "Account.Name": "attributes.company",
    }
    [batch] = list(connect(org, field_map=field_map).pull(None))
    assert batch.records[0]["nps_score"] == 9
    assert batch.records[0]["attributes"] == {"company": "Acme GmbH"}


def test_a_field_the_org_does_not_have_is_a_permanent_error_naming_it(org):
    with pytest.raises(CrmPermanentError) as caught:
        list(connect(org, field_map={"Email": "email", "NPS__c": "nps_score"}).pull(None))
    assert caught.value.code == "INVALID_FIELD" and "NPS__c" in str(caught.value)


def test_a_cursor_that_is_not_ours_is_refused():
    with pytest.raises(CrmReadError):
        SalesforceCursor.parse("1700000000000:42")
    text = "2026-11-17T12:00:00.000Z:0035e0000000001AAA"
    assert str(SalesforceCursor.parse(text)) == text


# --- errors ----------------------------------------------------------------------------------


def test_the_api_request_limit_is_a_403_that_is_transient_and_never_waited_in_place(org):
    sleeps: list[float] = []
    org.script.append(rest_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
    with pytest.raises(CrmTransientError) as caught:
        list(connect(org, sleep=sleeps.append).pull(None))
    assert caught.value.status == 403 and caught.value.retry_after is None and sleeps == []


def test_other_403s_are_auth_errors(org):
    org.script.append(
        rest_error(
            403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."
        )
    )
    with pytest.raises(CrmAuthError) as caught:
        list(connect(org).pull(None))
    assert caught.value.code == "API_DISABLED_FOR_ORG"


def test_server_errors_and_connection_failures_are_transient(org):
    org.script.append(rest_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable."))
    with pytest.raises(CrmTransientError):
        list(connect(org).pull(None))
    org.script.append(httpx.ConnectError("connection refused"))
    with pytest.raises(CrmTransientError):
        list(connect(org).pull(None))


def test_a_malformed_answer_is_permanent_and_named_by_endpoint_not_by_content(org):
    org.script.append(httpx.Response(200, text='{"records": [{"Email": "ada@example.com"'))
    with pytest.raises(CrmPermanentError) as caught:
        list(connect(org).pull(None))
    assert str(caught.value) == "salesforce query: the answer is not valid JSON"


def test_a_next_records_url_elsewhere_is_refused(org):
    org.script.append(
        httpx.Response(
            200,
            json={"done": False, "records": [], "nextRecordsUrl": "https://evil.test/steal"},
        )
    )
    with pytest.raises(CrmPermanentError, match="nextRecordsUrl"):
        list(connect(org).pull(None))


# --- writing back ----------------------------------------------------------------------------


def test_fields_are_written_200_records_a_call(org):
    record_ids = [org.add(n, BASE) for n in range(450)]

    result = connect(org).update_records(
        "Contact", {r: {"Referral_Status__c": "signed_up"} for r in record_ids}
    )

    calls = [body for method, path, body in org.requests if method == "PATCH"]
    assert [len(call["records"]) for call in calls] == [200, 200, 50]
    assert all(call["allOrNone"] is False for call in calls)
    assert calls[0]["records"][0] == {
        "attributes": {"type": "Contact"},
        "id": record_ids[0],
        "Referral_Status__c": "signed_up",
    }
    assert result.updated == tuple(record_ids) and result.failed == {}


def test_refused_records_are_reported_by_id_with_codes_not_messages(org):
    ok, locked, long_value = (org.add(n, BASE) for n in (1, 2, 3))
    gone = "0035e0000009999AAA"
    org.locked.add(locked)

    result = connect(org).update_records(
        "Contact",
        {
            ok: {"Referral_Status__c": "signed_up", "Referral_Count__c": Decimal("3")},
            gone: {"Referral_Status__c": "signed_up"},
            locked: {"Referral_Status__c": "signed_up"},
            long_value: {"Referral_Status__c": "x" * 30 + " secret@example.com"},
        },
    )

    assert result.updated == (ok,)
    assert result.failed == {
        gone: "ENTITY_IS_DELETED",
        locked: "UNABLE_TO_LOCK_ROW",
        long_value: "STRING_TOO_LONG (Referral_Status__c)",
    }
    assert "secret@example.com" not in repr(result)


def test_write_back_values_are_json_salesforce_reads(org):
    record_id = org.add(1, BASE)
    connect(org).update_records(
        "Contact",
        {
            record_id: {
                "Referred_At__c": datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
                "Reward_Expires__c": date(2026, 12, 31),
                "Reward_Balance__c": Decimal("12.50"),
                "Is_Advocate__c": True,
                "Referred_By__c": None,
            }
        },
    )
    sent = org.requests[-1][2]["records"][0]
    assert sent["Referred_At__c"] == "2026-11-02T10:00:00.000Z"
    assert sent["Reward_Expires__c"] == "2026-12-31"
    assert sent["Reward_Balance__c"] == 12.5 and sent["Is_Advocate__c"] is True
    assert sent["Referred_By__c"] is None


def test_write_back_refuses_ids_and_names_before_sending(org):
    with pytest.raises(ValueError):
        connect(org).update_records("Contact", {"003/../../x": {"Email": "x"}})
    with pytest.raises(ValueError):
        connect(org).update_records("Contact", {"0035e0000000001AAA": {"Id": "x"}})
    with pytest.raises(ValueError):
        connect(org).update_records("Contact; x", {})
    assert org.requests == []


def test_a_task_is_created_for_the_sales_rep_when_a_referral_signs_up(org):
    lead = org.add(1, BASE, sobject="Lead")
    task_id = connect(org).create_task(
        lead,
        "0055e000001XYZAAA2",
        "Referred lead signed up",
        "Referred by an advocate of the spring program.",
        due=date(2026, 11, 23),
    )
    assert org.tasks == [
        {
            "Id": task_id,
            "WhoId": lead,
            "OwnerId": "0055e000001XYZAAA2",
            "Subject": "Referred lead signed up",
            "Description": "Referred by an advocate of the spring program.",
            "Status": "Not Started",
            "Priority": "Normal",
            "ActivityDate": "2026-11-23",
        }
    ]
    with pytest.raises(CrmPermanentError) as caught:
        connect(org).create_task("00Q5e0000099999AAA", "0055e000001XYZAAA2", "x")
    assert caught.value.code == "FIELD_INTEGRITY_EXCEPTION"


def test_the_crm_writer_makes_a_task_due_tomorrow_and_writes_fields_to_its_object(org):
    lead_id = org.add(1, BASE, sobject="Lead")
    connector = connect(org, object="Lead")
    lead = ReferredLead(
        referral_id=41, contact_id=lead_id, referrer_contact_id="0035e0000000007AAA",
        referrer_name="Ada Lovelace", program="friends", owner_id="0055e000001XYZAAA2",
    )  # fmt: skip

    task_id = connector.referred_lead(lead)
    written = connector.update_contacts({lead_id: {"Referral_Status__c": "pending"}})

    (task,) = org.tasks
    assert task["Id"] == task_id and task["WhoId"] == lead_id
    assert task["OwnerId"] == "0055e000001XYZAAA2"
    assert task["Subject"] == "Referred lead: follow up (referred by Ada Lovelace)"
    assert "friends" in task["Description"] and "referral 41" in task["Description"]
    assert task["ActivityDate"] == (NOW.date() + timedelta(days=1)).isoformat()
    assert written.updated == (lead_id,)
    assert org.records["Lead"][lead_id]["Referral_Status__c"] == "pending"


def test_a_task_whose_answer_never_came_is_ambiguous_not_retried(org):
    lead = org.add(1, BASE, sobject="Lead")
    connector = connect(org)
    list(connector.pull(None))  # a token first
    org.script.append(httpx.ReadTimeout("timed out"))
    with pytest.raises(CrmAmbiguousError):
        connector.create_task(lead, "0055e000001XYZAAA2", "Referred lead signed up")


def test_a_record_named_by_an_outbound_message_is_read_again(org):
    record_id = org.add(5, BASE, Email="grace@example.com", NPS_Score__c=10)
    connector = connect(org)

    record = connector.get_record("Contact", record_id, ["Email", "NPS_Score__c"])
    assert record == {"Email": "grace@example.com", "NPS_Score__c": 10}
    assert connector.get_record("Contact", "0035e0000009999AAA", ["Email"]) is None
    contact = connector.get_contact(record_id)
    assert contact is not None and contact["email"] == "grace@example.com"
    assert connector.get_contact("0035e0000009999AAA") is None

    org.records["Contact"][record_id]["Account.Name"] = "Acme GmbH"
    mapped = connect(
        org, field_map={"NPS_Score__c": "nps_score", "Account.Name": "attributes.company"}
    )
    assert mapped.get_contact(record_id) == {
        "external_id": record_id,
        "nps_score": 10,
        "attributes": {"company": "Acme GmbH"},
    }
    with pytest.raises(ValueError):
        connector.get_record("Contact", "../../limits", ["Email"])


def test_no_token_secret_email_or_phone_reaches_the_logs(caplog, org):
    record_id = org.add(1, BASE, Email="secret.person@example.com", Phone="+14155550199")
    with caplog.at_level(logging.DEBUG):
        connector = connect(org)
        list(connector.pull(None))
        org.expire_sessions()
        list(connector.pull(None))
        connector.update_records("Contact", {record_id: {"Referral_Status__c": "x" * 40}})
    text = caplog.text
    assert text
    for secret in (SECRET, "token-1", "token-2", "secret.person", "4155550199", "x" * 40):
        assert secret not in text
