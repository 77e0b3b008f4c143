"""Salesforce as a CRM connector: Contacts (or Leads) since a cursor over SOQL, re-reading a
record, writing fields back, and a Task for the sales rep.

Authentication is OAuth 2.0 at `{login_url}/services/oauth2/token`, either the client
credentials flow (a connected app's key and secret, with a "run as" user; Salesforce only
accepts it at the org's My Domain URL, not at login.salesforce.com) or the JWT bearer flow
(an RS256 assertion signed with the connected app's certificate key: `iss` the consumer
key, `sub` the username, `aud` login.salesforce.com or test.salesforce.com, `exp` within
three minutes). The token answer names the `instance_url` every API call goes to. It says
nothing about expiry (the session timeout is an org setting), so a token is kept for
`token_ttl` (15 minutes, the shortest timeout an org can set) and, should Salesforce
answer 401 (INVALID_SESSION_ID) before that, fetched again once and the call repeated.

Reading changes. `SELECT ... FROM Contact WHERE SystemModstamp <= :until AND
(SystemModstamp > :t OR (SystemModstamp = :t AND Id > :id)) ORDER BY SystemModstamp, Id
LIMIT :n`, following `nextRecordsUrl` from page to page, and querying again from the last
record once `n` records came (query locators expire after 15 minutes idle, and an expired
one is answered INVALID_QUERY_LOCATOR: the query is then made again from the last record
read). SystemModstamp has whole seconds only, so records share times all the time (a data
load, a flow updating many records); the cursor `<SystemModstamp ISO>:<Id>` with the Id
tie-break loses none of them. `settle` (60 s) leaves the newest changes for the next pull,
since a long transaction can commit records stamped before ones already read.

Every value put into SOQL goes through `soql_literal` and every name through
`soql_identifier`; nothing else is formatted into a query. Limits: 403 REQUEST_LIMIT_EXCEEDED
is the org's rolling 24-hour API allowance (or too many long-running requests), raised as
`CrmTransientError` without a wait, since Salesforce does not say when it resets.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from integrations.crm.base import Contact, CrmBatch, CrmReadError, ReferredLead
from integrations.crm.fields import (
    SALESFORCE_CONTACT_FIELDS,
    SALESFORCE_LEAD_FIELDS,
    FieldMap,
    parse_datetime,
)
from integrations.crm.http import (
    DEFAULT_TIMEOUT,
    CrmAuthError,
    CrmError,
    CrmHttp,
    CrmPermanentError,
    CrmTransientError,
    WriteResult,
)
from integrations.provider_http import ClientOwner, json_body

log = logging.getLogger("integrations.crm.salesforce")

SALESFORCE_LOGIN: Final = "https://login.salesforce.com"
SALESFORCE_TEST_LOGIN: Final = "https://test.salesforce.com"
API_VERSION: Final = "v61.0"
COLLECTION_MAX: Final = 200
JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ID: Final = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_IDENTIFIER: Final = re.compile(
    r"^[A-Za-z][A-Za-z0-9_]{0,79}(?:\.[A-Za-z][A-Za-z0-9_]{0,79}){0,4}$"
)
_VERSION: Final = re.compile(r"^v[0-9]{2,3}\.0$")
_ESCAPES: Final = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
# Codes whose message quotes only our own query (field names, cursor values), not data.
_SAFE_MESSAGES: Final = frozenset(
    {"MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "INVALID_QUERY_FILTER_OPERATOR"}
)
_TRANSIENT_CODES: Final = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})


# --- SOQL ------------------------------------------------------------------------------------


def soql_literal(value: object) -> str:
    """A value as a SOQL literal. Strings are quoted with backslash escapes (SOQL does not
    double quotes: O'Brien is 'O\\'Brien'); line breaks and tabs become \\n \\r \\t \\b \\f and
    any other control character is refused. Dates and times are unquoted, as SOQL wants
    them; times must be aware and are written in UTC with whole seconds, the only precision
    SOQL dateTime literals have."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        decimal = Decimal(str(value)) if isinstance(value, float) else value
        if not decimal.is_finite():
            raise ValueError("SOQL has no literal for NaN or infinity")
        return format(decimal, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a SOQL dateTime literal needs a timezone-aware datetime")
        if value.microsecond:
            raise ValueError("SOQL dateTime literals have whole seconds")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        out = []
        for char in value:
            if char in _ESCAPES:
                out.append(_ESCAPES[char])
            elif ord(char) < 0x20 or ord(char) == 0x7F:
                raise ValueError("control characters cannot be put in a SOQL string")
            else:
                out.append(char)
        return "'" + "".join(out) + "'"
    raise TypeError(f"no SOQL literal for a {type(value).__name__}")


def soql_identifier(name: str) -> str:
    """An object or field API name (`Contact`, `NPS_Score__c`, `Account.Name`), checked."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a Salesforce API name")
    return name


def sign_jwt_rs256(claims: Mapping[str, Any], private_key_pem: bytes) -> str:
    """A compact JWS (RS256) of `claims`, signed with `cryptography` (PyJWT is not needed)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the JWT bearer flow needs an RSA private key")
    header = _b64url(json.dumps({"alg": "RS256"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- credentials and cursor ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """OAuth 2.0 client credentials of a connected app (login_url must be the My Domain)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class JwtBearer:
    """OAuth 2.0 JWT bearer: the connected app's consumer key, the user to act as, and the
    PEM private key whose certificate the app holds. `audience` defaults from login_url:
    test.salesforce.com for sandboxes, login.salesforce.com otherwise."""

    client_id: str
    username: str = field(repr=False)
    private_key_pem: bytes | str = field(repr=False)
    audience: str | None = None


Credentials = ClientCredentials | JwtBearer


@dataclass(frozen=True, slots=True)
class SalesforceCursor:
    """`<SystemModstamp, ISO 8601 UTC>:<Id>`: all changes up to here are in."""

    modstamp: datetime
    record_id: str

    def __str__(self) -> str:
        stamp = self.modstamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        return f"{stamp}Z:{self.record_id}"

    @classmethod
    def parse(cls, text: str) -> SalesforceCursor:
        stamp, _, record = text.rpartition(":")
        try:
            when = parse_datetime(stamp) if stamp else None
        except ValueError:
            when = None
        if when is None or not _ID.match(record):
            raise CrmReadError(f"cursor {text!r} is not <SystemModstamp>:<Id>")
        return cls(when, record)


@dataclass(frozen=True, slots=True)
class _Token:
    access_token: str = field(repr=False)
    instance_url: str
    organization_id: str | None
    expires_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- the connector ---------------------------------------------------------------------------


class SalesforceConnector(ClientOwner):
    """Salesforce Contacts (or Leads, or any object with a field map) as a CrmConnector,
    plus record re-reads, field write-back and Tasks."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        login_url: str = SALESFORCE_LOGIN,
        client: httpx.Client | None = None,
        api_version: str = API_VERSION,
        field_map: FieldMap | Mapping[str, str] | None = None,
        object: str = "Contact",
        customer_source: str = "salesforce",
        name: str = "salesforce",
        batch_size: int = 200,
        query_limit: int = 10_000,
        settle: timedelta = timedelta(seconds=60),
        token_ttl: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] | None = None,
        max_inline_wait: float = 10.0,
    ) -> None:
        if not _VERSION.match(api_version):
            raise ValueError("api_version looks like v61.0")
        if batch_size < 1 or query_limit < 1:
            raise ValueError("batch_size and query_limit must be positive")
        if field_map is None and object not in ("Contact", "Lead"):
            raise ValueError(f"{object} has no default field map: pass field_map")
        _check_https(login_url, "login_url")
        self.credentials = credentials
        self.login_url = login_url.rstrip("/")
        self._use_client(client, timeout=DEFAULT_TIMEOUT)
        self._http = CrmHttp(
            self._client,
            provider="salesforce",
            classify=_classify,
            max_inline_wait=max_inline_wait,
            sleep=sleep or time.sleep,
        )
        self.api_version = api_version
        _check_sobject(object)
        self.object = object
        default = SALESFORCE_LEAD_FIELDS if object == "Lead" else SALESFORCE_CONTACT_FIELDS
        self.field_map = FieldMap.of(field_map, default)
        for source in self.field_map.sources:
            soql_identifier(source)
        self.customer_source = customer_source
        self.name = name
        self.batch_size = batch_size
        self.query_limit = query_limit
        self.settle = settle
        self.token_ttl = token_ttl
        self._clock = clock
        self._token: _Token | None = None

    def __repr__(self) -> str:  # never a token or secret
        return f"SalesforceConnector(name={self.name!r}, object={self.object!r})"

    @property
    def organization_id(self) -> str | None:
        """The org's id (from the token answer): what outbound messages must carry."""
        return self._current_token().organization_id

    # --- CrmConnector -------------------------------------------------------------------

    def pull(self, since: str | None) -> Iterator[CrmBatch]:
        start = SalesforceCursor.parse(since) if since else None
        until = (self._clock() - self.settle).replace(microsecond=0)
        fields = list(dict.fromkeys(["Id", "SystemModstamp", *self.field_map.sources]))
        for chunk in _chunks(self._changes(fields, start, until), self.batch_size):
            problems: Counter[str] = Counter()
            records = tuple(self._contact(record, problems) for record, _ in chunk)
            if problems:
                log.warning(
                    "salesforce %s: values that could not be read, by field: %s",
                    self.object,
                    dict(problems),
                )
            yield CrmBatch(cursor=str(chunk[-1][1]), records=records)

    def _contact(self, record: Mapping[str, Any], problems: Counter[str]) -> Contact:
        values = {source: _walk(record, source) for source in self.field_map.sources}
        return self.field_map.to_contact(str(record["Id"]), values, problems=problems)

    def _changes(
        self, fields: Sequence[str], start: SalesforceCursor | None, until: datetime
    ) -> Iterator[tuple[Mapping[str, Any], SalesforceCursor]]:
        cursor = start
        while True:
            soql = self._changes_query(fields, cursor, until)
            returned = 0
            try:
                for record in self.query(soql):
                    position = _cursor(record)
                    if cursor is not None and position.modstamp < cursor.modstamp:
                        raise CrmPermanentError(
                            "salesforce query: records not in SystemModstamp order"
                        )
                    yield record, position
                    cursor = position
                    returned += 1
            except CrmPermanentError as error:
                if error.code == "INVALID_QUERY_LOCATOR" and returned:
                    log.info("salesforce query locator expired: querying again from the cursor")
                    continue
                raise
            if returned < self.query_limit:
                return

    def _changes_query(
        self, fields: Sequence[str], cursor: SalesforceCursor | None, until: datetime
    ) -> str:
        where = f"SystemModstamp <= {soql_literal(until)}"
        if cursor is not None:
            stamp = soql_literal(cursor.modstamp.astimezone(UTC))
            where += (
                f" AND (SystemModstamp > {stamp} OR "
                f"(SystemModstamp = {stamp} AND Id > {soql_literal(cursor.record_id)}))"
            )
        # Names are checked by soql_identifier and values written by soql_literal.
        select = ", ".join(soql_identifier(f) for f in fields)
        order = f"ORDER BY SystemModstamp ASC, Id ASC LIMIT {int(self.query_limit)}"
        return f"SELECT {select} FROM {self.object} WHERE {where} {order}"  # noqa: S608

    # --- API ----------------------------------------------------------------------------

    def query(self, soql: str) -> Iterator[Mapping[str, Any]]:
        """The records of a SOQL query, page after page (`nextRecordsUrl`). Build `soql`
        with `soql_identifier` and `soql_literal` only."""
        base = f"/services/data/{self.api_version}/query"
        answer = self._call("GET", base, endpoint="query", params={"q": soql})
        while True:
            records = answer.get("records") if isinstance(answer, dict) else None
            if not isinstance(records, list):
                raise CrmPermanentError("salesforce query: unexpected answer shape (no records)")
            for record in records:
                if not isinstance(record, dict):
                    raise CrmPermanentError("salesforce query: a record is not an object")
                yield record
            following = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not following:
                return
            if not isinstance(following, str) or not following.startswith(base + "/"):
                raise CrmPermanentError("salesforce query: nextRecordsUrl outside the query API")
            answer = self._call("GET", following, endpoint="query more")

    def get_record(
        self, sobject: str, record_id: str, fields: Sequence[str]
    ) -> dict[str, Any] | None:
        """A record's current fields, or None when it does not exist (any more). For
        re-reading a record an outbound message named, before acting on it."""
        _check_sobject(sobject)
        _check_id(record_id)
        names = ",".join(soql_identifier(f) for f in fields)
        try:
            answer = self._call(
                "GET",
                f"/services/data/{self.api_version}/sobjects/{sobject}/{record_id}",
                endpoint="record read",
                params={"fields": names} if names else None,
            )
        except CrmPermanentError as error:
            if error.status == 404:
                return None
            raise
        if not isinstance(answer, dict):
            raise CrmPermanentError("salesforce record read: unexpected answer shape")
        return {k: v for k, v in answer.items() if k != "attributes"}

    def get_contact(self, record_id: str) -> Contact | None:
        """A record of this connector's object, mapped like a pulled one (by SOQL, so
        relationship fields such as `Account.Name` work too); None when it is gone."""
        _check_id(record_id)
        fields = ", ".join(
            soql_identifier(f) for f in dict.fromkeys(["Id", *self.field_map.sources])
        )
        soql = f"SELECT {fields} FROM {self.object} WHERE Id = {soql_literal(record_id)}"  # noqa: S608
        for record in self.query(soql):
            return self._contact(record, Counter())
        return None

    def update_records(self, sobject: str, updates: Mapping[str, Mapping[str, Any]]) -> WriteResult:
        """Set fields on records of one object, 200 a call (sObject Collections, allOrNone
        false): refused records are reported by id with their status codes, never raised.
        Values: str, int, Decimal, float, bool, date, aware datetime, or None (clears)."""
        _check_sobject(sobject)
        records = []
        for record_id, values in updates.items():
            _check_id(record_id)
            for name in values:
                if "." in soql_identifier(name) or name.lower() in ("id", "attributes"):
                    raise ValueError(f"{name!r} cannot be updated through a record")
            records.append(
                {
                    "attributes": {"type": sobject},
                    "id": record_id,
                    **{k: _json_value(v) for k, v in values.items()},
                }
            )
        updated: list[str] = []
        failed: dict[str, str] = {}
        path = f"/services/data/{self.api_version}/composite/sobjects"
        for start in range(0, len(records), COLLECTION_MAX):
            chunk = records[start : start + COLLECTION_MAX]
            answer = self._call(
                "PATCH",
                path,
                endpoint="composite sobjects update",
                json_data={"allOrNone": False, "records": chunk},
            )
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise CrmPermanentError("salesforce composite sobjects update: unexpected answer")
            # Results come in request order; a failed one may carry no id.
            for record, result in zip(chunk, answer, strict=True):
                record_id = str(record["id"])
                if isinstance(result, dict) and result.get("success") is True:
                    updated.append(record_id)
                else:
                    failed[record_id] = _save_errors(result)
        return WriteResult(tuple(updated), failed)

    def update_contacts(self, updates: Mapping[str, Mapping[str, Any]]) -> WriteResult:
        """CrmWriter: the fields go onto records of this connector's object."""
        return self.update_records(self.object, updates)

    def referred_lead(self, lead: ReferredLead) -> str | None:
        """CrmWriter: a Task for the lead's owner, due tomorrow."""
        referrer = lead.referrer_name or f"contact {lead.referrer_contact_id}"
        return self.create_task(
            lead.contact_id,
            lead.owner_id,
            f"Referred lead: follow up (referred by {referrer})",
            f"Signed up through the {lead.program} referral program "
            f"(referral {lead.referral_id}, referrer {lead.referrer_contact_id}).",
            due=self._clock().date() + timedelta(days=1),
        )

    def create_task(
        self,
        who_id: str,
        owner_id: str,
        subject: str,
        description: str = "",
        *,
        what_id: str | None = None,
        due: date | None = None,
        status: str = "Not Started",
        priority: str = "Normal",
    ) -> str:
        """A Task for the sales rep `owner_id` about the Lead or Contact `who_id`; returns
        its id. Creating is not idempotent: a timeout after sending raises
        CrmAmbiguousError, to be reconciled rather than sent again."""
        _check_id(who_id)
        _check_id(owner_id)
        if what_id is not None:
            _check_id(what_id)
        body: dict[str, Any] = {
            "WhoId": who_id,
            "OwnerId": owner_id,
            "Subject": subject[:255],
            "Description": description[:32000],
            "Status": status,
            "Priority": priority,
        }
        if what_id is not None:
            body["WhatId"] = what_id
        if due is not None:
            body["ActivityDate"] = due.isoformat()
        answer = self._call(
            "POST",
            f"/services/data/{self.api_version}/sobjects/Task",
            endpoint="task create",
            json_data=body,
            idempotent=False,
        )
        task_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(task_id, str) or answer.get("success") is False:
            raise CrmPermanentError("salesforce task create: " + _save_errors(answer))
        return task_id

    # --- auth and requests --------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        json_data: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        token = self._current_token()
        for attempt in (1, 2):
            try:
                return self._http.request(
                    method,
                    token.instance_url + path,
                    endpoint=endpoint,
                    headers={
                        "Authorization": f"Bearer {token.access_token}",
                        "Accept": "application/json",
                    },
                    json_data=json_data,
                    params=params,
                    idempotent=idempotent,
                )
            except CrmAuthError as error:
                if attempt == 1 and error.status == 401:
                    log.info("salesforce session refused (%s): authenticating again", error.code)
                    self._token = None
                    token = self._current_token()
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _current_token(self) -> _Token:
        token = self._token
        if token is None or self._clock() >= token.expires_at:
            token = self._token = self._authenticate()
        return token

    def _authenticate(self) -> _Token:
        credentials = self.credentials
        if isinstance(credentials, ClientCredentials):
            form = {
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            }
        else:
            form = {"grant_type": JWT_BEARER, "assertion": self._assertion(credentials)}
        answer = self._http.request(
            "POST",
            f"{self.login_url}/services/oauth2/token",
            endpoint="token",
            headers={"Accept": "application/json"},
            form=form,
        )
        access = answer.get("access_token") if isinstance(answer, dict) else None
        instance = answer.get("instance_url") if isinstance(answer, dict) else None
        if not isinstance(access, str) or not access or not isinstance(instance, str):
            raise CrmPermanentError("salesforce token: unexpected answer shape")
        _check_https(instance, "instance_url")
        ttl = self.token_ttl
        expires_in = answer.get("expires_in")
        if isinstance(expires_in, int | str) and str(expires_in).isdigit():
            ttl = min(ttl, timedelta(seconds=int(expires_in)))
        log.info("salesforce token obtained")
        return _Token(
            access_token=access,
            instance_url=instance.rstrip("/"),
            organization_id=_organization(answer.get("id")),
            expires_at=self._clock() + ttl - timedelta(seconds=30),
        )

    def _assertion(self, credentials: JwtBearer) -> str:
        audience = credentials.audience or (
            SALESFORCE_TEST_LOGIN
            if "test.salesforce.com" in self.login_url or ".sandbox." in self.login_url
            else SALESFORCE_LOGIN
        )
        key = credentials.private_key_pem
        claims = {
            "iss": credentials.client_id,
            "sub": credentials.username,
            "aud": audience,
            "exp": int(self._clock().timestamp()) + 150,  # Salesforce allows 3 minutes
        }
        return sign_jwt_rs256(claims, key.encode() if isinstance(key, str) else key)


# --- helpers ---------------------------------------------------------------------------------


def _classify(response: httpx.Response, endpoint: str) -> CrmError | None:
    """Salesforce errors: REST answers `[{"message": ..., "errorCode": ...}]`; the token
    endpoint answers `{"error": ..., "error_description": ...}`. Only codes are kept (and
    the message of query errors, which quotes our query, not data)."""
    status = response.status_code
    body = json_body(response)
    where = f"salesforce {endpoint}"
    if endpoint == "token":
        if 400 <= status < 500 and status not in (408, 429):
            code = body.get("error") if isinstance(body, dict) else None
            code = code if isinstance(code, str) else None
            return CrmAuthError(
                f"{where}: {code or 'refused'} ({status})", status=status, code=code
            )
        return None
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    code = first.get("errorCode") if isinstance(first.get("errorCode"), str) else None
    if status == 401:
        return CrmAuthError(f"{where}: {code or 'session refused'} (401)", status=401, code=code)
    if status == 403:
        if code == "REQUEST_LIMIT_EXCEEDED":
            return CrmTransientError(
                f"{where}: API request limit exceeded (403 REQUEST_LIMIT_EXCEEDED)",
                status=403,
                code=code,
            )
        return CrmAuthError(f"{where}: {code or 'forbidden'} (403)", status=403, code=code)
    if code in _TRANSIENT_CODES:
        return CrmTransientError(f"{where}: {code} ({status})", status=status, code=code)
    if 400 <= status < 500 and status not in (408, 429):
        reason = f"{where}: {code or 'refused'} ({status})"
        message = first.get("message")
        if code in _SAFE_MESSAGES and isinstance(message, str):
            reason += f": {message[:300]}"
        return CrmPermanentError(reason, status=status, code=code)
    return None


def _save_errors(result: Any) -> str:
    errors = result.get("errors") if isinstance(result, dict) else None
    parts = []
    for error in errors if isinstance(errors, list) else ():
        if not isinstance(error, dict):
            continue
        code = str(error.get("statusCode") or error.get("errorCode") or "ERROR")
        fields = [f for f in error.get("fields") or () if isinstance(f, str)]
        parts.append(f"{code} ({', '.join(fields)})" if fields else code)
    return "; ".join(parts) or "UNKNOWN_ERROR"


def _cursor(record: Mapping[str, Any]) -> SalesforceCursor:
    record_id = record.get("Id")
    try:
        stamp = parse_datetime(record.get("SystemModstamp"))
    except ValueError:
        stamp = None
    if stamp is None or not isinstance(record_id, str) or not _ID.match(record_id):
        raise CrmPermanentError("salesforce query: a record without Id or SystemModstamp")
    return SalesforceCursor(stamp, record_id)


def _walk(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("field times must be timezone-aware")
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as a Salesforce field value")


def _organization(identity: Any) -> str | None:
    """The org id from the token answer's identity URL (.../id/<org id>/<user id>)."""
    if not isinstance(identity, str):
        return None
    parts = urlsplit(identity).path.strip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "id" and _ID.match(parts[-2]):
        return parts[-2]
    return None


def _check_id(value: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError("a Salesforce id has 15 or 18 letters and digits")


def _check_sobject(name: str) -> None:
    if "." in soql_identifier(name):
        raise ValueError(f"{name!r} is not an object API name")


def _check_https(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise CrmPermanentError(f"salesforce {what} must be an https URL")


def _chunks(
    items: Iterable[tuple[Mapping[str, Any], SalesforceCursor]], size: int
) -> Iterator[list[tuple[Mapping[str, Any], SalesforceCursor]]]:
    chunk: list[tuple[Mapping[str, Any], SalesforceCursor]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
