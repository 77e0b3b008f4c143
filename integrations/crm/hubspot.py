"""HubSpot as a CRM connector: contacts since a cursor, list memberships, closed-won deals
as purchases, and writing referral properties back.

Reading changes. The CRM v3 search API (`POST /crm/v3/objects/contacts/search`) is asked
for contacts whose `lastmodifieddate` is after the cursor, sorted ascending, a page of 100
at a time with `after` paging. Four documented limits shape the code:

- Search allows one sort rule, so the order of contacts with the same modification time
  is not defined. Contacts are therefore handed on in (modification time, id) order: the
  contacts of one millisecond are held until a later time shows up (or the results end)
  and then sorted by id. The cursor `<lastmodifieddate ms>:<id>` then means exactly
  "everything before this time, and everything at this time up to this id, is in".
- A query returns at most 10,000 results; paging past that is answered 400. Before the
  page that would cross it, the query starts again with the filter moved to the last
  modification time seen. The contacts at that very time (possibly cut in two by the cap)
  are read on their own, filtered on that time and sorted by `hs_object_id` with
  keyset paging (`hs_object_id > last`), which no cap can cut; so is the rest of the
  cursor's own millisecond when a pull resumes.
- Search is eventually consistent: a change can take a few seconds to become searchable.
  A contact modified at t but indexed after a later contact was read would fall behind
  the cursor for good, so a pull only reads contacts modified more than `settle` (60 s)
  before it started; later ones come with the next pull.
- Search is rate limited per second (and its 429s carry no rate-limit headers): one short
  429 is waited out in place (see integrations.crm.http), longer waits are raised.

Archived (deleted) contacts never appear in search, so deletions are not mirrored.
Tokens (a private app token, or a callable returning a fresh OAuth token) are sent per
request and never logged; logs carry counts, ids and property names only.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final

import httpx

from integrations.crm.base import CrmBatch, CrmReadError, ReferredLead
from integrations.crm.fields import HUBSPOT_CONTACT_FIELDS, FieldMap, parse_datetime
from integrations.crm.http import (
    DEFAULT_TIMEOUT,
    CrmAuthError,
    CrmError,
    CrmHttp,
    CrmPermanentError,
    CrmTransientError,
    WriteResult,
    parse_retry_after,
)
from integrations.provider_http import ClientOwner, json_body
from referral.events import Event
from referral.money import exponent

log = logging.getLogger("integrations.crm.hubspot")

HUBSPOT_API: Final = "https://api.hubapi.com"
SEARCH_CAP: Final = 10_000  # results one search query can page through
SEARCH_PAGE_MAX: Final = 200
BATCH_WRITE_MAX: Final = 100
LIST_PAGE_MAX: Final = 250
CONTACT_MODIFIED: Final = "lastmodifieddate"
DEAL_MODIFIED: Final = "hs_lastmodifieddate"
DEAL_PROPERTIES: Final = (
    "amount",
    "closedate",
    "dealstage",
    "deal_currency_code",
    "hs_is_closed_won",
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ID: Final = re.compile(r"^[0-9]{1,20}$")
_PROPERTY: Final = re.compile(r"^[a-z0-9_]{1,100}$")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, order=True)
class HubSpotCursor:
    """`<modification time, epoch ms>:<record id>`: all changes up to here are in."""

    modified_ms: int
    record_id: int

    def __str__(self) -> str:
        return f"{self.modified_ms}:{self.record_id}"

    @classmethod
    def parse(cls, text: str) -> HubSpotCursor:
        ms, _, record = text.partition(":")
        if not ms.isdigit() or not record.isdigit():
            raise CrmReadError(f"cursor {text!r} is not <lastmodifieddate ms>:<record id>")
        return cls(int(ms), int(record))


@dataclass(frozen=True, slots=True)
class _Hit:
    modified_ms: int
    record_id: int
    properties: Mapping[str, Any]

    @property
    def cursor(self) -> HubSpotCursor:
        return HubSpotCursor(self.modified_ms, self.record_id)


@dataclass(frozen=True, slots=True)
class Deal:
    id: str
    amount: Decimal | None
    currency: str | None
    closed_at: datetime | None
    stage: str | None
    won: bool
    contact_ids: tuple[str, ...]
    modified_ms: int

    def purchase(self, *, default_currency: str) -> Event | None:
        """A closed-won deal with an amount, a close date and a contact as a purchase by
        the contact with the lowest id; None for any other deal."""
        if not (self.won and self.amount is not None and self.closed_at and self.contact_ids):
            return None
        currency = (self.currency or default_currency).upper()
        places = Decimal(1).scaleb(-exponent(currency))
        amount = self.amount.quantize(places, rounding=ROUND_HALF_EVEN)
        return Event.model_validate(
            {
                "id": f"hubspot-deal-{self.id}",
                "type": "purchase",
                "occurred_at": self.closed_at,
                "customer": {"external_id": min(self.contact_ids, key=int)},
                "order_id": self.id,
                "amount": str(amount),
                "currency": currency,
            }
        )


class HubSpotConnector(ClientOwner):
    """HubSpot contacts as a `CrmConnector`, plus segments, deals and write-back."""

    def __init__(
        self,
        access_token: str | Callable[[], str],
        *,
        client: httpx.Client | None = None,
        base_url: str = HUBSPOT_API,
        field_map: FieldMap | Mapping[str, str] | None = None,
        batch_size: int = 100,
        page_size: int = 100,
        customer_source: str = "hubspot",
        name: str = "hubspot",
        settle: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] | None = None,
        max_inline_wait: float = 10.0,
    ) -> None:
        if not 1 <= page_size <= SEARCH_PAGE_MAX:
            raise ValueError(f"page_size must be 1..{SEARCH_PAGE_MAX}")
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._token = access_token
        self._use_client(client, timeout=DEFAULT_TIMEOUT)
        self._http = CrmHttp(
            self._client,
            provider="hubspot",
            classify=_classify,
            max_inline_wait=max_inline_wait,
            sleep=sleep or time.sleep,
        )
        self.base_url = base_url.rstrip("/")
        self.field_map = FieldMap.of(field_map, HUBSPOT_CONTACT_FIELDS)
        self.batch_size = batch_size
        self.page_size = page_size
        self.customer_source = customer_source
        self.name = name
        self.settle = settle
        self._clock = clock

    def __repr__(self) -> str:  # never the token
        return f"HubSpotConnector(name={self.name!r}, base_url={self.base_url!r})"

    # --- CrmConnector -------------------------------------------------------------------

    def pull(self, since: str | None) -> Iterator[CrmBatch]:
        start = HubSpotCursor.parse(since) if since else None
        properties = (*self.field_map.sources, CONTACT_MODIFIED, "hs_object_id")
        hits = self._changes("contacts", CONTACT_MODIFIED, properties, start, self._until_ms())
        for chunk in _chunks(hits, self.batch_size):
            problems: Counter[str] = Counter()
            records = tuple(
                self.field_map.to_contact(str(hit.record_id), hit.properties, problems=problems)
                for hit in chunk
            )
            if problems:
                log.warning(
                    "hubspot contacts: values that could not be read, by property: %s",
                    dict(problems),
                )
            yield CrmBatch(cursor=str(chunk[-1].cursor), records=records)

    # --- segments and deals -------------------------------------------------------------

    def list_memberships(self, list_id: str) -> Iterator[str]:
        """The record ids in a list (segment), in the order the lists API pages them."""
        _check_id(list_id, "list id")
        after: str | None = None
        while True:
            params = {"limit": str(LIST_PAGE_MAX), **({"after": after} if after else {})}
            page = self._call(
                "GET",
                f"/crm/v3/lists/{list_id}/memberships",
                endpoint="list memberships",
                params=params,
            )
            results = _results(page, "list memberships")
            for item in results:
                record = item.get("recordId") if isinstance(item, dict) else item
                if not isinstance(record, str | int) or isinstance(record, bool):
                    raise CrmPermanentError("hubspot list memberships: a result without recordId")
                yield str(record)
            after = _next_after(page)
            if not after or not results:
                return

    def deals_since(self, since: str | None, *, currency: str = "USD") -> Iterator[CrmBatch]:
        """Deals modified after `since` as batches of purchase events (closed-won deals
        with an amount, close date and contact; other deals only move the cursor).
        `currency` is for deals without `deal_currency_code` (single-currency accounts).
        A deal edited after it was first read keeps its first purchase: conversions are
        unique by (source, external id)."""
        start = HubSpotCursor.parse(since) if since else None
        properties = (*DEAL_PROPERTIES, DEAL_MODIFIED, "hs_object_id")
        hits = self._changes("deals", DEAL_MODIFIED, properties, start, self._until_ms())
        for chunk in _chunks(hits, self.batch_size):
            contacts = self._deal_contacts([hit.record_id for hit in chunk])
            events = []
            for hit in chunk:
                deal = _deal(hit, contacts.get(str(hit.record_id), ()))
                event = deal.purchase(default_currency=currency)
                if event is not None:
                    events.append(event)
            yield CrmBatch(cursor=str(chunk[-1].cursor), events=tuple(events))

    def deal_feed(self, *, currency: str = "USD", name: str | None = None) -> HubSpotDeals:
        """Deals as a `CrmConnector` of their own (its own watermark, `<name>-deals`)."""
        return HubSpotDeals(self, currency=currency, name=name or f"{self.name}-deals")

    def _deal_contacts(self, deal_ids: Sequence[int]) -> dict[str, tuple[str, ...]]:
        """Each deal's associated contact ids (v4 associations, 100 deals a call)."""
        contacts: dict[str, tuple[str, ...]] = {}
        for start in range(0, len(deal_ids), BATCH_WRITE_MAX):
            answer = self._call(
                "POST",
                "/crm/v4/associations/deals/contacts/batch/read",
                endpoint="deal associations",
                json_data={
                    "inputs": [{"id": str(i)} for i in deal_ids[start : start + BATCH_WRITE_MAX]]
                },
            )
            # A 207 lists deals without contacts under "errors": they simply have none.
            for item in _results(answer, "deal associations"):
                origin = item.get("from") if isinstance(item, dict) else None
                source = origin.get("id") if isinstance(origin, dict) else None
                to = item.get("to") if isinstance(item, dict) else None
                if source is None or not isinstance(to, list):
                    raise CrmPermanentError("hubspot deal associations: unexpected answer shape")
                contacts[str(source)] = tuple(
                    str(t["toObjectId"]) for t in to if isinstance(t, dict) and "toObjectId" in t
                )
        return contacts

    # --- write-back ---------------------------------------------------------------------

    def update_contacts(self, updates: Mapping[str, Mapping[str, Any]]) -> WriteResult:
        """Set contact properties (referral status, referrer, reward balance, ...), 100
        contacts a call. Values: str, int, Decimal, bool, date, aware datetime, or None
        (clears the property). Refused contacts are reported, not raised; a refusal of the
        whole call (credentials, a property that does not exist, rate limits) is raised."""
        inputs = []
        for contact_id, properties in updates.items():
            _check_id(contact_id, "contact id")
            for name in properties:
                _check_property(name)
            inputs.append(
                {"id": contact_id, "properties": {k: _value(v) for k, v in properties.items()}}
            )
        updated: list[str] = []
        failed: dict[str, str] = {}
        for start in range(0, len(inputs), BATCH_WRITE_MAX):
            self._update_chunk(inputs[start : start + BATCH_WRITE_MAX], updated, failed)
        return WriteResult(tuple(updated), failed)

    def _update_chunk(
        self, inputs: list[dict[str, Any]], updated: list[str], failed: dict[str, str]
    ) -> None:
        try:
            answer = self._call(
                "POST",
                "/crm/v3/objects/contacts/batch/update",
                endpoint="contacts batch update",
                json_data={"inputs": inputs},
            )
        except CrmPermanentError as error:
            # One invalid value makes HubSpot refuse the whole batch (400): halve it until
            # the refused contacts are alone. Never for errors that hit every contact.
            if isinstance(error, CrmAuthError) or error.status != 400:
                raise
            if error.code == "PROPERTY_DOESNT_EXIST":
                raise
            if len(inputs) == 1:
                failed[inputs[0]["id"]] = error.code or "VALIDATION_ERROR"
                return
            middle = len(inputs) // 2
            self._update_chunk(inputs[:middle], updated, failed)
            self._update_chunk(inputs[middle:], updated, failed)
            return
        done = {str(r.get("id")) for r in _results(answer, "contacts batch update")}
        errors = answer.get("errors") if isinstance(answer, dict) else None
        for item in errors if isinstance(errors, list) else ():
            if not isinstance(item, dict):
                continue
            code = str(item.get("category") or item.get("status") or "error")
            ids = (item.get("context") or {}).get("ids") or ()
            for contact_id in ids:
                failed[str(contact_id)] = code
        for entry in inputs:
            contact_id = entry["id"]
            if contact_id in done and contact_id not in failed:
                updated.append(contact_id)
            elif contact_id not in failed:
                failed[contact_id] = "NOT_IN_ANSWER"

    def assign_owner(self, contact_id: str, owner_id: str) -> None:
        """Make `owner_id` (a HubSpot owner, i.e. a sales rep) the contact's owner."""
        _check_id(contact_id, "contact id")
        _check_id(owner_id, "owner id")
        self._call(
            "PATCH",
            f"/crm/v3/objects/contacts/{contact_id}",
            endpoint="contact update",
            json_data={"properties": {"hubspot_owner_id": owner_id}},
        )

    def referred_lead(self, lead: ReferredLead) -> str | None:
        """A referred lead goes to its owner (the rep named by REFERRAL_CRM__LEAD_OWNER_ID);
        setting an owner twice is harmless, so a retry needs no reconciliation."""
        self.assign_owner(lead.contact_id, lead.owner_id)
        return None

    # --- search -------------------------------------------------------------------------

    def _until_ms(self) -> int:
        return _ms(self._clock() - self.settle)

    def _changes(
        self,
        object_type: str,
        modified: str,
        properties: Sequence[str],
        start: HubSpotCursor | None,
        until_ms: int,
    ) -> Iterator[_Hit]:
        """Records modified after `start` (up to `until_ms`), in (time, id) order."""
        floor: int | None = None
        if start is not None:
            yield from self._same_time(
                object_type, modified, properties, start.modified_ms, start.record_id
            )
            floor = start.modified_ms
        while True:
            filters = [_filter(modified, "LTE", until_ms)]
            if floor is not None:
                filters.append(_filter(modified, "GT", floor))
            group: list[_Hit] = []
            fetched = 0
            after: str | None = None
            while True:
                page = self._search(object_type, filters, modified, properties, after)
                hits = [_hit(r, modified, object_type) for r in page[0]]
                for hit in hits:
                    if group and hit.modified_ms < group[0].modified_ms:
                        raise CrmPermanentError(
                            f"hubspot {object_type} search: results not sorted by {modified}"
                        )
                    if group and hit.modified_ms != group[0].modified_ms:
                        yield from sorted(group, key=_by_id)
                        group = []
                    group.append(hit)
                fetched += len(hits)
                after = page[1]
                if not after or not hits:
                    yield from sorted(group, key=_by_id)
                    return
                if fetched + self.page_size > SEARCH_CAP:
                    # The next page would cross the cap. The last time's records may go on
                    # past it: read them on their own, then go on after that time.
                    last_ms = group[0].modified_ms
                    log.info(
                        "hubspot %s search: 10,000-result cap reached, restarting", object_type
                    )
                    yield from self._same_time(object_type, modified, properties, last_ms, None)
                    floor = last_ms
                    break

    def _same_time(
        self,
        object_type: str,
        modified: str,
        properties: Sequence[str],
        at_ms: int,
        after_id: int | None,
    ) -> Iterator[_Hit]:
        """Records modified at exactly `at_ms` with an id above `after_id`, by id."""
        last = after_id
        while True:
            filters = [_filter(modified, "GTE", at_ms), _filter(modified, "LTE", at_ms)]
            if last is not None:
                filters.append(_filter("hs_object_id", "GT", last))
            results, after = self._search(object_type, filters, "hs_object_id", properties, None)
            hits = sorted((_hit(r, modified, object_type) for r in results), key=_by_id)
            yield from hits
            if not after or not hits:
                return
            last = hits[-1].record_id

    def _search(
        self,
        object_type: str,
        filters: list[dict[str, str]],
        sort: str,
        properties: Sequence[str],
        after: str | None,
    ) -> tuple[list[Any], str | None]:
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(dict.fromkeys(properties)),
            "limit": self.page_size,
        }
        if after is not None:
            body["after"] = after
        endpoint = f"{object_type} search"
        answer = self._call(
            "POST", f"/crm/v3/objects/{object_type}/search", endpoint=endpoint, json_data=body
        )
        return _results(answer, endpoint), _next_after(answer)

    def _call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        json_data: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        token = self._token() if callable(self._token) else self._token
        return self._http.request(
            method,
            self.base_url + path,
            endpoint=endpoint,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            json_data=json_data,
            params=params,
        )


@dataclass(frozen=True, slots=True)
class HubSpotDeals:
    """A HubSpot account's deals as a CrmConnector: batches of purchase events."""

    hubspot: HubSpotConnector
    currency: str
    name: str

    @property
    def customer_source(self) -> str:
        return self.hubspot.customer_source

    def pull(self, since: str | None) -> Iterator[CrmBatch]:
        return self.hubspot.deals_since(since, currency=self.currency)


# --- helpers ---------------------------------------------------------------------------------


def _classify(response: httpx.Response, endpoint: str) -> CrmError | None:
    """HubSpot's error JSON: {"status": "error", "message": ..., "category": ...,
    "correlationId": ...}; 429s add "policyName" and, outside search, X-HubSpot-RateLimit-*
    headers. The message may quote submitted values, so only the category is kept."""
    status = response.status_code
    body = json_body(response)
    body = body if isinstance(body, dict) else {}
    category = body.get("category") if isinstance(body.get("category"), str) else None
    where = f"hubspot {endpoint}"
    if status == 429:
        policy = str(body.get("policyName") or "")
        headers = response.headers
        daily = (
            "DAILY" in policy.upper() or headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0"
        )
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is None and not daily:
            interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
            if interval and headers.get("X-HubSpot-RateLimit-Remaining") == "0":
                retry_after = _seconds(interval)
            elif "TEN_SECONDLY" in policy.upper():
                retry_after = 10.0
            elif "SECONDLY" in policy.upper() or endpoint.endswith("search"):
                retry_after = 1.0  # search's limit is per second and says nothing more
        return CrmTransientError(
            f"{where}: rate limited ({'daily limit' if daily else policy or 429})",
            retry_after=retry_after,
            status=status,
            code=policy or None,
            rate_limited=not daily,
        )
    if status in (401, 403):
        reason = f"{where}: {category or 'credentials refused'} ({status})"
        return CrmAuthError(reason, status=status, code=category)
    if 400 <= status < 500 and status != 408:
        code = category
        if status == 400 and "PROPERTY_DOESNT_EXIST" in response.text:
            code = "PROPERTY_DOESNT_EXIST"
        return CrmPermanentError(
            f"{where}: {code or 'refused'} ({status})", status=status, code=code
        )
    return None


def _seconds(milliseconds: str) -> float | None:
    try:
        return max(0.0, float(milliseconds) / 1000)
    except ValueError:
        return None


def _results(answer: Any, endpoint: str) -> list[Any]:
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise CrmPermanentError(f"hubspot {endpoint}: unexpected answer shape (no results)")
    return results


def _next_after(answer: Any) -> str | None:
    paging = answer.get("paging") if isinstance(answer, dict) else None
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    return str(after) if after not in (None, "") else None


def _hit(result: Any, modified: str, object_type: str) -> _Hit:
    properties = result.get("properties") if isinstance(result, dict) else None
    record = result.get("id") if isinstance(result, dict) else None
    if not isinstance(properties, dict) or not isinstance(record, str | int):
        raise CrmPermanentError(f"hubspot {object_type} search: a result without id or properties")
    when = properties.get(modified) or result.get("updatedAt")
    try:
        record_id = int(record)
        modified_ms = _ms(parse_datetime(when))
    except (TypeError, ValueError):
        raise CrmPermanentError(
            f"hubspot {object_type} search: a result without a readable id or {modified}"
        ) from None
    return _Hit(modified_ms, record_id, properties)


def _by_id(hit: _Hit) -> int:
    return hit.record_id


def _chunks(hits: Iterable[_Hit], size: int) -> Iterator[list[_Hit]]:
    chunk: list[_Hit] = []
    for hit in hits:
        chunk.append(hit)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _filter(name: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


def _ms(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(milliseconds=1)


def _deal(hit: _Hit, contact_ids: tuple[str, ...]) -> Deal:
    p = hit.properties
    amount: Decimal | None
    try:
        amount = Decimal(str(p["amount"]).strip()) if p.get("amount") not in (None, "") else None
    except InvalidOperation:
        amount = None
    if amount is not None and not amount.is_finite():
        amount = None
    try:
        closed_at = parse_datetime(p["closedate"]) if p.get("closedate") else None
    except ValueError:
        closed_at = None
    won = (
        str(p.get("hs_is_closed_won") or "").lower() == "true" or p.get("dealstage") == "closedwon"
    )
    currency = p.get("deal_currency_code") or None
    return Deal(
        id=str(hit.record_id),
        amount=amount,
        currency=str(currency) if currency else None,
        closed_at=closed_at,
        stage=p.get("dealstage"),
        won=won,
        contact_ids=contact_ids,
        modified_ms=hit.modified_ms,
    )


def _value(value: Any) -> str:
    """A property value as HubSpot takes it: strings, "true"/"false", ISO 8601 times,
    dates as YYYY-MM-DD; "" clears a property."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("property times must be timezone-aware")
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int | Decimal):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} as a HubSpot property value")


def _check_id(value: str, what: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"a HubSpot {what} is a string of digits")


def _check_property(name: str) -> None:
    if not isinstance(name, str) or not _PROPERTY.match(name):
        raise ValueError(f"{name!r} is not a HubSpot property name")
