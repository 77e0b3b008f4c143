"""What the rules may know about one customer, built once per customer per batch.

A batch of referrals names far fewer customers than it has fields to fill, and an advocate
appears in many referrals: building these once and sharing them between referrals keeps the
per-referral work to comparisons. Everything here is normalized, hashed or an id; raw names
are the one exception (compared in memory, never written into evidence).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from referral.fraud.normalize import (
    EmailKeys,
    email_keys,
    name_key,
    normalize_email,
    normalize_phone,
)

_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """One side of a referral. Hashes are whatever the database stores (HMAC under the pepper);
    the rules only test them for equality, so any stable hash works.

    - `external_id`: the CRM identity, qualified by its source ("hubspot:123"), so two
      customer rows for one CRM record match.
    - `email`: `email_keys(customers.email_normalized)`.
    - `name_key`: `name_key(full name)`; "" when unknown.
    - `ip_ua_hashes`: one hash per (IP, user agent) pair seen for the customer, e.g. the two
      stored hashes joined with ":".
    - `country`: ISO 3166 alpha-2, upper case.
    """

    customer_id: int
    external_id: str | None = None
    email: EmailKeys | None = None
    phone_e164: str | None = None
    name_key: str = ""
    device_ids: frozenset[str] = _EMPTY
    payment_fingerprints: frozenset[str] = _EMPTY
    address_hashes: frozenset[str] = _EMPTY
    ip_hashes: frozenset[str] = _EMPTY
    ip_ua_hashes: frozenset[str] = _EMPTY
    country: str | None = None
    markers: frozenset[str] = field(init=False, repr=False, compare=False)
    """Every identity key, tagged by kind. Two customers with disjoint markers share nothing
    the pairwise identity rules look for, so the engine skips those rules in one set test;
    nearly every referral is such a pair."""

    def __post_init__(self) -> None:
        markers = set(map("p".__add__, self.payment_fingerprints))
        markers.update(map("d".__add__, self.device_ids))
        markers.update(map("a".__add__, self.address_hashes))
        markers.update(map("i".__add__, self.ip_hashes))
        markers.update(map("u".__add__, self.ip_ua_hashes))
        if self.external_id:
            markers.add("x" + self.external_id)
        if self.email is not None:
            markers.add("e" + self.email.similarity)
            markers.add("k" + self.email.skeleton)
        if self.phone_e164:
            markers.add("t" + self.phone_e164)
        object.__setattr__(self, "markers", frozenset(markers))

    @classmethod
    def build(
        cls,
        customer_id: int,
        *,
        external_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        device_ids: Iterable[str] = (),
        payment_fingerprints: Iterable[str] = (),
        address_hashes: Iterable[str] = (),
        ip_hashes: Iterable[str] = (),
        ip_ua_hashes: Iterable[str] = (),
        country: str | None = None,
        default_region: str = "US",
    ) -> CustomerFacts:
        """Normalize raw-ish values into facts: `email` may be raw or already normalized (the
        normalization is idempotent), `phone` in any form phonenumbers reads for
        `default_region`. Empty strings in the collections are dropped: a blank device id must
        not join every customer who lacks one."""
        keys = email_keys(normalize_email(email)) if email else None
        return cls(
            customer_id=customer_id,
            external_id=external_id or None,
            email=keys,
            phone_e164=normalize_phone(phone, default_region),
            name_key=name_key(name),
            device_ids=_present(device_ids),
            payment_fingerprints=_present(payment_fingerprints),
            address_hashes=_present(address_hashes),
            ip_hashes=_present(ip_hashes),
            ip_ua_hashes=_present(ip_ua_hashes),
            country=country.strip().upper() if country else None,
        )


def _present(values: Iterable[str]) -> frozenset[str]:
    found = frozenset(values)
    if "" in found:
        found = found - {""}
    return found or _EMPTY
