"""Field mapping: which CRM property fills which customer column, and how it is read.

A mapping is configuration, e.g. from settings as JSON:

    {"email": "email", "firstname": "name", "lastname": "name", "nps_score": "nps_score",
     "lifecyclestage": "segment", "hs_lead_status": "attributes.lead_status",
     "hs_email_optout": "consent_email:optout", "total_revenue": "total_spend_minor:major"}

Keys are the provider's property or field names (HubSpot internal names, Salesforce API
names, `Account.Name` for a Salesforce relationship field). A value is a customer column,
optionally followed by `:converter`; `attributes.<key>` keeps the value in the customer's
`attributes` JSON under `<key>`.

- Several properties onto `name` are joined with a space in mapping order (first name,
  last name); onto any other column, the first one with a value wins (mobile, then phone).
- Converters: `text`, `email`, `country` (ISO 3166 alpha-2 only), `currency`, `int`, `nps`
  (an int from 0 to 10), `bool`, `optout` (a boolean that means "opted out", so consent is
  its negation), `datetime` (ISO 8601 with or without offset, a date, or epoch
  milliseconds; always an aware UTC datetime; no offset means UTC), `minor` (integer minor
  units) and `major` (a decimal amount like "1234.50", turned into minor units of the
  record's currency, or the map's `currency`, rounded half to even).
- Each column has a default converter (consent columns `bool`, times `datetime`, counts
  `int`, ...). The defaults grant no consent: a consent column is only filled when mapped.
- A value that cannot be converted becomes empty (NOT NULL columns get their default: 0 or
  false) and is counted by field name in `problems`; the value itself is never logged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

from referral.money import exponent


class FieldMapError(ValueError):
    """The mapping configuration is wrong (names the entry, never data)."""


class _Unconvertible(Exception):
    pass


# column -> (default converter, converters allowed, longest text kept)
_COLUMNS: Final[dict[str, tuple[str, frozenset[str], int | None]]] = {
    "email": ("email", frozenset({"email"}), 320),
    "name": ("text", frozenset({"text"}), 200),
    "segment": ("text", frozenset({"text"}), 64),
    "country": ("country", frozenset({"country"}), 2),
    "timezone": ("text", frozenset({"text"}), 64),
    "currency": ("currency", frozenset({"currency"}), 3),
    "preferred_channel": ("text", frozenset({"text"}), 16),
    "tier": ("text", frozenset({"text"}), 32),
    # Raw; tasks.crm.contact_row turns it into E.164 (or None).
    "phone_e164": ("text", frozenset({"text"}), 64),
    "customer_since": ("datetime", frozenset({"datetime"}), None),
    "nps_at": ("datetime", frozenset({"datetime"}), None),
    "first_order_at": ("datetime", frozenset({"datetime"}), None),
    "last_order_at": ("datetime", frozenset({"datetime"}), None),
    "nps_score": ("nps", frozenset({"nps", "int"}), None),
    "orders_count": ("int", frozenset({"int"}), None),
    "support_positive": ("int", frozenset({"int"}), None),
    "support_negative": ("int", frozenset({"int"}), None),
    "email_opens_90d": ("int", frozenset({"int"}), None),
    "email_clicks_90d": ("int", frozenset({"int"}), None),
    "reviews_count": ("int", frozenset({"int"}), None),
    "total_spend_minor": ("minor", frozenset({"minor", "major"}), None),
    "consent_email": ("bool", frozenset({"bool", "optout"}), None),
    "consent_sms": ("bool", frozenset({"bool", "optout"}), None),
    "consent_whatsapp": ("bool", frozenset({"bool", "optout"}), None),
}
# Columns that may not be NULL: an empty or unreadable value gets the column's default.
_NOT_NULL: Final[dict[str, object]] = {
    "orders_count": 0,
    "total_spend_minor": 0,
    "support_positive": 0,
    "support_negative": 0,
    "email_opens_90d": 0,
    "email_clicks_90d": 0,
    "reviews_count": 0,
    "consent_email": False,
    "consent_sms": False,
    "consent_whatsapp": False,
}
CONVERTERS: Final = frozenset(
    {
        "text",
        "email",
        "country",
        "currency",
        "int",
        "nps",
        "bool",
        "optout",
        "datetime",
        "minor",
        "major",
    }
)
_ATTRIBUTE_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+$")
_LETTERS2: Final = re.compile(r"^[A-Za-z]{2}$")
_LETTERS3: Final = re.compile(r"^[A-Za-z]{3}$")
_EPOCH_MS: Final = re.compile(r"^-?\d{1,15}$")
_TRUE: Final = frozenset({"true", "yes", "y", "1", "on", "t"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "off", "f"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

HUBSPOT_CONTACT_FIELDS: Final[Mapping[str, str]] = {
    "email": "email",
    "firstname": "name",
    "lastname": "name",
    "mobilephone": "phone_e164",
    "phone": "phone_e164",
    "lifecyclestage": "segment",
    "createdate": "customer_since",
    # A custom contact property (HubSpot has no numeric NPS property of its own); a
    # property that does not exist is simply not returned.
    "nps_score": "nps_score",
    "total_revenue": "total_spend_minor:major",
    "recent_deal_close_date": "last_order_at",
    "hs_lead_status": "attributes.lead_status",
    "hubspot_owner_id": "attributes.owner_id",
}
# Only standard fields every org has: SOQL refuses a query naming a field that does not
# exist (INVALID_FIELD), so custom fields such as NPS_Score__c are added by configuration.
SALESFORCE_CONTACT_FIELDS: Final[Mapping[str, str]] = {
    "Email": "email",
    "FirstName": "name",
    "LastName": "name",
    "MobilePhone": "phone_e164",
    "Phone": "phone_e164",
    "MailingCountry": "country",
    "CreatedDate": "customer_since",
    "OwnerId": "attributes.owner_id",
    "AccountId": "attributes.account_id",
}
SALESFORCE_LEAD_FIELDS: Final[Mapping[str, str]] = {
    "Email": "email",
    "FirstName": "name",
    "LastName": "name",
    "MobilePhone": "phone_e164",
    "Phone": "phone_e164",
    "Country": "country",
    "CreatedDate": "customer_since",
    "Status": "segment",
    "LeadSource": "attributes.lead_source",
    "OwnerId": "attributes.owner_id",
}


@dataclass(frozen=True, slots=True)
class FieldRule:
    source: str
    column: str  # a customer column, or "attributes"
    convert: str
    attribute: str | None = None


class FieldMap:
    """Provider property -> customer column, with conversion. Immutable once built."""

    __slots__ = ("currency", "rules")

    def __init__(self, mapping: Mapping[str, str], *, currency: str | None = None) -> None:
        if not mapping:
            raise FieldMapError("the field map is empty")
        self.rules: tuple[FieldRule, ...] = tuple(
            _rule(source, target) for source, target in mapping.items()
        )
        self.currency = currency.upper() if currency else None

    @classmethod
    def of(cls, value: FieldMap | Mapping[str, str] | None, default: Mapping[str, str]) -> FieldMap:
        if isinstance(value, FieldMap):
            return value
        return cls(default if value is None else value)

    def __repr__(self) -> str:
        inner = ", ".join(f"{r.source}->{_target(r)}" for r in self.rules)
        return f"FieldMap({inner})"

    @property
    def sources(self) -> tuple[str, ...]:
        """The provider fields to ask for, in mapping order."""
        return tuple(dict.fromkeys(rule.source for rule in self.rules))

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(rule.column for rule in self.rules)

    def to_contact(
        self,
        external_id: str,
        values: Mapping[str, Any],
        *,
        problems: Counter[str] | None = None,
    ) -> dict[str, Any]:
        """A `Contact` (customer columns) from one record's values by provider field name.
        Fields absent from `values` count as empty. `problems` counts, by provider field
        name, the values that could not be converted."""
        contact: dict[str, Any] = {"external_id": external_id}
        names: list[str] = []
        attributes: dict[str, Any] = {}
        money: list[tuple[FieldRule, Any]] = []
        for rule in self.rules:
            raw = values.get(rule.source)
            if rule.convert == "major":  # needs the record's currency, read below
                money.append((rule, raw))
                contact.setdefault(rule.column, None)
                continue
            value = self._convert(rule, raw, problems)
            if rule.column == "attributes":
                if value is not None and rule.attribute is not None:
                    attributes.setdefault(rule.attribute, _jsonable(value))
            elif rule.column == "name":
                if value:
                    names.append(value)
            elif contact.get(rule.column) is None:
                contact[rule.column] = value
        currency = contact.get("currency") or self.currency or "USD"
        for rule, raw in money:
            try:
                value = _major(raw, currency)
            except _Unconvertible:
                _count(problems, rule.source)
                value = None
            if rule.column == "attributes" and rule.attribute is not None:
                if value is not None:
                    attributes.setdefault(rule.attribute, value)
            elif contact.get(rule.column) is None:
                contact[rule.column] = value
        contact.pop("attributes", None)
        if any(rule.column == "name" for rule in self.rules):
            contact["name"] = " ".join(names)[:200] or None
        if any(rule.column == "attributes" for rule in self.rules):
            contact["attributes"] = attributes or None
        for column, default in _NOT_NULL.items():
            if column in contact and contact[column] is None:
                contact[column] = default
        return contact

    def _convert(self, rule: FieldRule, raw: Any, problems: Counter[str] | None) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        limit = _COLUMNS[rule.column][2] if rule.column in _COLUMNS else 500
        try:
            return _CONVERT[rule.convert](raw, limit)
        except _Unconvertible:
            _count(problems, rule.source)
            return None


def _rule(source: str, target: str) -> FieldRule:
    if not isinstance(source, str) or not source.strip():
        raise FieldMapError("a field map key (provider field name) is empty")
    if not isinstance(target, str) or not target.strip():
        raise FieldMapError(f"field map entry {source!r} has no target column")
    column, _, convert = target.strip().partition(":")
    if column.startswith("attributes."):
        key = column.removeprefix("attributes.")
        if not _ATTRIBUTE_KEY.match(key):
            raise FieldMapError(f"field map entry {source!r}: bad attribute key {key!r}")
        convert = convert or "text"
        if convert not in CONVERTERS:
            raise FieldMapError(f"field map entry {source!r}: unknown converter {convert!r}")
        return FieldRule(source, "attributes", convert, key)
    if column not in _COLUMNS:
        raise FieldMapError(
            f"field map entry {source!r}: {column!r} is no customer column; columns: "
            + ", ".join(sorted(_COLUMNS))
            + ", attributes.<key>"
        )
    default, allowed, _ = _COLUMNS[column]
    convert = convert or default
    if convert not in allowed:
        raise FieldMapError(
            f"field map entry {source!r}: {column} takes {', '.join(sorted(allowed))}, "
            f"not {convert!r}"
        )
    return FieldRule(source, column, convert)


def _target(rule: FieldRule) -> str:
    column = f"attributes.{rule.attribute}" if rule.column == "attributes" else rule.column
    return f"{column}:{rule.convert}"


def _count(problems: Counter[str] | None, source: str) -> None:
    if problems is not None:
        problems[source] += 1


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# --- converters: (raw value, longest text) -> value; raise _Unconvertible -------------


def _text(raw: Any, limit: int | None) -> str | None:
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, str | int | float | Decimal):
        text = str(raw).strip()
    else:
        raise _Unconvertible
    return (text[:limit] if limit else text) or None


def _email(raw: Any, limit: int | None) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not _EMAIL.match(text) or len(text) > (limit or 320):
        raise _Unconvertible
    return text


def _country(raw: Any, limit: int | None) -> str:
    if not isinstance(raw, str) or not _LETTERS2.match(raw.strip()):
        raise _Unconvertible
    return raw.strip().upper()


def _currency(raw: Any, limit: int | None) -> str:
    if not isinstance(raw, str) or not _LETTERS3.match(raw.strip()):
        raise _Unconvertible
    return raw.strip().upper()


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise _Unconvertible
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise _Unconvertible from None
    if not value.is_finite():
        raise _Unconvertible
    return value


def _int(raw: Any, limit: int | None) -> int:
    value = _decimal(raw)
    if value != value.to_integral_value():
        raise _Unconvertible
    return int(value)


def _nps(raw: Any, limit: int | None) -> int:
    value = _int(raw, limit)
    if not 0 <= value <= 10:
        raise _Unconvertible
    return value


def _bool(raw: Any, limit: int | None) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Unconvertible


def _optout(raw: Any, limit: int | None) -> bool:
    return not _bool(raw, limit)


def parse_datetime(raw: Any) -> datetime:
    """An aware UTC datetime from ISO 8601 (with or without offset; none means UTC), a date,
    or epoch milliseconds (a number or a string of digits). Raises ValueError."""
    try:
        return _datetime(raw, None)
    except _Unconvertible:
        raise ValueError("not a date or time") from None


def _datetime(raw: Any, limit: int | None) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, bool):
        raise _Unconvertible
    elif isinstance(raw, int | float) or (isinstance(raw, str) and _EPOCH_MS.match(raw.strip())):
        try:
            value = _EPOCH + timedelta(milliseconds=int(raw))
        except (OverflowError, ValueError):
            raise _Unconvertible from None
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise _Unconvertible from None
    else:
        raise _Unconvertible
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _minor(raw: Any, limit: int | None) -> int:
    return _int(raw, limit)


def _major(raw: Any, currency: str) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value = _decimal(raw)
    places = exponent(currency)
    return int(value.scaleb(places).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _major_only_with_currency(raw: Any, limit: int | None) -> int:
    raise _Unconvertible  # pragma: no cover - "major" is converted in to_contact


_CONVERT: Final[dict[str, Callable[[Any, int | None], Any]]] = {
    "text": _text,
    "email": _email,
    "country": _country,
    "currency": _currency,
    "int": _int,
    "nps": _nps,
    "bool": _bool,
    "optout": _optout,
    "datetime": _datetime,
    "minor": _minor,
    "major": _major_only_with_currency,
}


# Write-back: referral.crm_profile's logical properties -> the provider's names. They are
# custom properties (fields) an admin creates once; REFERRAL_CRM__WRITEBACK_PROPERTIES
# renames them, and an empty name leaves one out.
HUBSPOT_WRITEBACK_PROPERTIES: Mapping[str, str] = MappingProxyType(
    {
        "referral_status": "referral_status",
        "referred_by": "referral_referred_by",
        "referral_code": "referral_code",
        "successful_referrals": "referral_successful_referrals",
        "reward_balance": "referral_reward_balance",
        "reward_currency": "referral_reward_currency",
        "reward_points": "referral_reward_points",
    }
)
SALESFORCE_WRITEBACK_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "referral_status": "Referral_Status__c",
        "referred_by": "Referred_By__c",
        "referral_code": "Referral_Code__c",
        "successful_referrals": "Successful_Referrals__c",
        "reward_balance": "Referral_Reward_Balance__c",
        "reward_currency": "Referral_Reward_Currency__c",
        "reward_points": "Referral_Reward_Points__c",
    }
)
