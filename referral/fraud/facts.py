"""What the rules may know about one customer, built once per customer per batch.

A batch of referrals names far fewer customers than it has fields to fill, and an advocate
appears in many referrals: building these once and sharing them between referrals keeps the
per-referral work to comparisons. Everything here is normalized, hashed or an id; raw names
are the one exception (compared in memory, never written into evidence).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

from referral.fraud.normalize import (
    EmailKeys,
    email_keys,
    name_key,
    normalize_email,
    normalize_phone,
)

_EMPTY: frozenset[str] = frozenset()


class CustomerFacts(NamedTuple):
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

    def may_match(self, other: CustomerFacts) -> bool:
        """Whether the two share any key the pairwise identity rules compare. Nearly every
        referral is a pair of strangers, which this rules out in a few set tests before any
        pairwise rule runs."""
        return (
            not self.device_ids.isdisjoint(other.device_ids)
            or not self.payment_fingerprints.isdisjoint(other.payment_fingerprints)
            or not self.address_hashes.isdisjoint(other.address_hashes)
            or not self.ip_hashes.isdisjoint(other.ip_hashes)
            or not self.ip_ua_hashes.isdisjoint(other.ip_ua_hashes)
            or (self.external_id is not None and self.external_id == other.external_id)
            or (self.phone_e164 is not None and self.phone_e164 == other.phone_e164)
            or (
                self.email is not None
                and other.email is not None
                and (
                    self.email.similarity == other.email.similarity
                    or self.email.skeleton == other.email.skeleton
                )
            )
        )

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
        return cls.stored(
            customer_id,
            external_id=external_id,
            email_normalized=normalize_email(email) if email else None,
            phone_e164=normalize_phone(phone, default_region),
            name=name,
            device_ids=_present(device_ids),
            payment_fingerprints=_present(payment_fingerprints),
            address_hashes=_present(address_hashes),
            ip_hashes=_present(ip_hashes),
            ip_ua_hashes=_present(ip_ua_hashes),
            country=country,
        )

    @classmethod
    def stored(
        cls,
        customer_id: int,
        *,
        external_id: str | None,
        email_normalized: str | None,
        phone_e164: str | None,
        name: str | None,
        device_ids: Collection[str],
        payment_fingerprints: Collection[str],
        address_hashes: Collection[str],
        ip_hashes: Collection[str],
        ip_ua_hashes: Collection[str],
        country: str | None,
    ) -> CustomerFacts:
        """Facts from values as the customers and conversions tables keep them: the email
        already through `normalize_email`, the phone already E.164, no blanks among the
        hashes. What `build` would normalize again is taken as it is: a fifth of its cost,
        paid for every customer of every batch. (`frozenset` of a frozenset is the same
        object, so `build` hands its cleaned sets over without a copy.)"""
        return cls(
            customer_id,
            external_id or None,
            email_keys(email_normalized) if email_normalized else None,
            phone_e164 or None,
            name_key(name),
            frozenset(device_ids) if device_ids else _EMPTY,
            frozenset(payment_fingerprints) if payment_fingerprints else _EMPTY,
            frozenset(address_hashes) if address_hashes else _EMPTY,
            frozenset(ip_hashes) if ip_hashes else _EMPTY,
            frozenset(ip_ua_hashes) if ip_ua_hashes else _EMPTY,
            country.strip().upper() if country else None,
        )


def _present(values: Iterable[str]) -> frozenset[str]:
    if not values:  # most customers have no cards or addresses on file: skip the copy
        return _EMPTY
    found = frozenset(values)
    if "" in found:
        found = found - {""}
    return found or _EMPTY
