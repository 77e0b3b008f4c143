"""A program's fraud settings: which rules run, how much each weighs, limits and lists.

Lives under `fraud:` in a program file. Every section has defaults that suit a consumer
program, so `fraud: {}` (or no key at all) is a complete configuration. Unknown keys are
errors that name the key, so a misspelt limit cannot silently fall back to its default.
"""

from __future__ import annotations

import ipaddress
import re
from difflib import get_close_matches
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from referral.fraud import Severity
from referral.fraud.catalog import CATALOG, SHARED_CONTEXT
from referral.fraud.normalize import normalize_email

Score = Annotated[int, Field(ge=0, le=1000)]
Limit = Annotated[int, Field(ge=1)]
AttributeKind = Literal["device", "payment", "address"]

DEFAULT_COUPON_SITES: Final[tuple[str, ...]] = (
    "retailmenot.com",
    "retailmenot.ca",
    "joinhoney.com",
    "slickdeals.net",
    "couponfollow.com",
    "dealspotr.com",
    "knoji.com",
    "groupon.com",
    "coupons.com",
    "couponcabin.com",
    "couponbirds.com",
    "offers.com",
    "wethrift.com",
    "savings.com",
    "dealnews.com",
    "hotdeals.com",
    "promocodes.com",
    "vouchercodes.co.uk",
    "myvouchercodes.co.uk",
    "vouchercloud.com",
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, use_attribute_docstrings=True
    )


class RuleSettings(_Strict):
    """Overrides for one rule: `{enabled: false}`, `{score: 60}`, `{severity: soft}`."""

    enabled: bool = True
    score: Score | None = None
    severity: Severity | None = None


class Velocity(_Strict):
    """The largest count still allowed; one more is flagged. Counts include the referral
    being checked."""

    referrals_per_hour: Limit = 10
    referrals_per_day: Limit = 25
    accounts_per_device_per_day: Limit = 3
    # Offices, campuses and mobile carriers put many people behind one address.
    accounts_per_ip_per_day: Limit = 20
    rewards_per_30_days: Limit = 30


class Identity(_Strict):
    name_similarity: Annotated[int, Field(ge=50, le=100)] = 90
    """rapidfuzz ratio (0-100) of the sorted name words at which two names count as similar."""


class Rings(_Strict):
    """Groups of customers joined by shared attributes, as
    `referral.fraud.rings.shared_attribute_components` builds them."""

    min_component_size: Annotated[int, Field(ge=2)] = 3
    """Customers in a component before it counts as a ring: three accounts on one phone or
    one card are a farm far more often than a family."""
    attribute_kinds: tuple[AttributeKind, ...] = ("device", "payment")
    """What joins customers into a group. Not the address by default: a household shares
    one, and every member may have an account. (Referral cycles always merge aliases by
    all three kinds: a household refers outward, not round in a circle.)"""
    max_customers_per_attribute: Annotated[int, Field(ge=2)] = 200
    """An attribute shared by more customers than this is a placeholder or a public place
    (a shop's card reader, a library PC) and joins nobody."""


class Coupons(_Strict):
    window_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 48
    """Redemptions of the code this many hours either side of the referral are counted: a
    code posted on a deals site is used by strangers within a day or two."""
    max_redemptions: Limit = 4
    """Distinct unrelated referees per code in the window before the code counts as leaked;
    a personal code is typed by a friend or two, not by a crowd."""
    sites: tuple[str, ...] = DEFAULT_COUPON_SITES
    """Registrable domains of coupon sites; listing any replaces the defaults."""

    @field_validator("sites")
    @classmethod
    def _domains(cls, sites: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_domain(site) for site in sites)


class Blocklists(_Strict):
    """Operator lists: a match is a hard signal. Emails are matched after normalization,
    domains on the address's domain or any parent, IPs by address or CIDR range."""

    emails: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @field_validator("emails")
    @classmethod
    def _emails(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        normalized = []
        for position, email in enumerate(emails):
            key = normalize_email(email)
            if not key:
                raise ValueError(f"entry {position} is not an email address")
            normalized.append(key)
        return tuple(normalized)

    @field_validator("domains")
    @classmethod
    def _domains(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_domain(domain) for domain in domains)

    @field_validator("ips")
    @classmethod
    def _networks(cls, ips: tuple[str, ...]) -> tuple[str, ...]:
        networks = []
        for entry in ips:
            try:
                networks.append(str(ipaddress.ip_network(entry, strict=False)))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None
        return tuple(networks)

    @field_validator("countries")
    @classmethod
    def _countries(cls, countries: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(country.upper() for country in countries)
        for code in codes:
            if not _COUNTRY.match(code):
                raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 country code")
        return codes


class Allowlists(_Strict):
    disposable_domains: tuple[str, ...] = ()
    """Domains the disposable-domain rule must accept (and their subdomains)."""

    @field_validator("disposable_domains")
    @classmethod
    def _domains(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_domain(domain) for domain in domains)


class FraudConfig(_Strict):
    """A program's fraud settings (`fraud:` in its file).

    Decision: any hard signal rejects; otherwise soft scores add up, with the signals that
    households, offices and friends produce capped at `shared_context_cap` together, and the
    total reaching `review_score` flags the referral, `reject_score` rejects it.
    """

    review_score: Score = 40
    reject_score: Score = 80
    shared_context_cap: Score = 60
    rules: dict[str, RuleSettings] = {}
    """Per-rule overrides by rule name (referral.fraud.catalog.CATALOG)."""
    velocity: Velocity = Velocity()
    identity: Identity = Identity()
    rings: Rings = Rings()
    coupons: Coupons = Coupons()
    blocklists: Blocklists = Blocklists()
    allowlists: Allowlists = Allowlists()

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: dict[str, RuleSettings]) -> dict[str, RuleSettings]:
        for name, settings in rules.items():
            if name not in CATALOG:
                close = get_close_matches(name, CATALOG, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown rule {name!r}{hint}")
            if name in SHARED_CONTEXT and settings.severity is Severity.HARD:
                raise ValueError(
                    f"rule {name!r} cannot be hard: families, offices and friends share it"
                )
        return rules

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.review_score > self.reject_score:
            raise ValueError("review_score must not exceed reject_score")
        if self.shared_context_cap >= self.reject_score:
            raise ValueError(
                "shared_context_cap must stay below reject_score, or households and offices "
                "could be rejected on what they legitimately share"
            )
        return self

    def enabled(self, rule: str) -> bool:
        settings = self.rules.get(rule)
        return settings is None or settings.enabled

    def severity(self, rule: str) -> Severity:
        settings = self.rules.get(rule)
        if settings is not None and settings.severity is not None:
            return settings.severity
        return CATALOG[rule].severity

    def score(self, rule: str) -> int:
        settings = self.rules.get(rule)
        if settings is not None and settings.score is not None:
            return settings.score
        return CATALOG[rule].score


def _domain(raw: str) -> str:
    domain = raw.strip().rstrip(".").lower()
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{raw!r} is not a domain name") from None
    if not _DOMAIN.match(domain):
        raise ValueError(f"{raw!r} is not a domain name")
    return domain
