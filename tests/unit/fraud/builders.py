"""Facts for the fraud tests: two strangers by default, changed only where a test says."""

from __future__ import annotations

from typing import Any

from referral.fraud import ReferralFacts
from referral.fraud.config import FraudConfig
from referral.fraud.facts import CustomerFacts
from referral.fraud.policy import Policy

REFERRER_ID = 1
REFEREE_ID = 2


def customer(customer_id: int, **fields: Any) -> CustomerFacts:
    """A customer through CustomerFacts.build, so raw emails and phones are normalized the
    way the database layer will do it."""
    return CustomerFacts.build(customer_id, **fields)


def referral(
    referrer: dict[str, Any] | None = None,
    referee: dict[str, Any] | None = None,
    **fields: Any,
) -> ReferralFacts:
    """A referral between two distinct customers. `referrer` and `referee` are the keyword
    arguments of CustomerFacts.build; the flat email fields follow from them."""
    mine = customer(REFERRER_ID, **(referrer or {}))
    theirs = customer(REFEREE_ID, **(referee or {}))
    base: dict[str, Any] = {
        "referrer_customer_id": REFERRER_ID,
        "referee_customer_id": REFEREE_ID,
        "referrer_email_normalized": mine.email.normalized if mine.email else None,
        "referee_email_normalized": theirs.email.normalized if theirs.email else None,
        "referee_email_domain": theirs.email.domain if theirs.email else None,
        "referrer": mine,
        "referee": theirs,
    }
    base.update(fields)
    return ReferralFacts(**base)


def policy(**config: Any) -> Policy:
    return Policy.of(FraudConfig(**config))


DEFAULT = policy()
