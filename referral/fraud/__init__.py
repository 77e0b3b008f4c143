"""Fraud checks: rules return explainable signals, and a decision follows from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from referral.fraud.facts import CustomerFacts


class Severity(StrEnum):
    SOFT = "soft"
    HARD = "hard"


class Decision(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Signal:
    rule: str
    severity: Severity
    score: int
    reason_code: str
    evidence: dict[str, Any] = field(default_factory=dict)


class ReferralFacts(NamedTuple):
    """What the rules may look at; hashed or normalized values only, never raw PII.

    The first six fields are all the basic rule set reads. The rest feed
    `referral.fraud.engine.FraudRuleSet` and default to "nothing known", so a rule whose
    facts are missing stays silent. Counts come from the database (window functions) and
    include this referral: the first referral of the hour is count 1.
    """

    referrer_customer_id: int
    referee_customer_id: int
    referrer_email_normalized: str | None
    referee_email_normalized: str | None
    referee_email_domain: str | None
    referee_email_seen_in_program: bool = False
    # Both sides, built once per customer (referral.fraud.facts.CustomerFacts).
    referrer: CustomerFacts | None = None
    referee: CustomerFacts | None = None
    # Velocity and caps, counted over the program's referrals and accounts.
    referrer_referrals_last_hour: int = 0  # by this referrer, in the hour up to this one
    referrer_referrals_last_day: int = 0  # the same over 24 hours
    referrer_referrals_total: int = 0  # by this referrer, ever
    referrer_rewards_last_30_days: int = 0  # grants to the referrer as referrer in 30 days
    program_max_referrals: int | None = None  # ProgramConfig.max_referrals
    # New accounts on the referee's busiest device or IP in 24 h; a count under 2 may be
    # read as 0 (one account is within every limit).
    device_accounts_last_day: int = 0
    ip_accounts_last_day: int = 0
    # Rings (referral.fraud.rings.cycle_size and component_size).
    referral_cycle_size: int = 0  # the referral cycle holding both sides, 0 if none
    shared_component_size: int = 0  # largest shared-attribute group of either side
    # Coupon leakage: distinct unrelated referees who redeemed this referral's promo code
    # within FraudConfig.coupons.window_hours, and the Referer (host or URL) of the click.
    promo_code_redemptions: int = 0
    landing_referrer_host: str | None = None
    # The referee's IP as seen at the click, only for the IP blocklist. Never stored, never
    # in evidence; None when only its hash is known.
    referee_ip: str | None = None


Rule = Callable[[ReferralFacts], Signal | None]


class RuleSet(Protocol):
    def evaluate(self, facts: ReferralFacts) -> list[Signal]: ...


REVIEW_SCORE = 40
REJECT_SCORE = 80


def decide(signals: Sequence[Signal]) -> Decision:
    """Any hard signal rejects; soft signals add up towards review or rejection."""
    if any(signal.severity is Severity.HARD for signal in signals):
        return Decision.REJECT
    total = sum(signal.score for signal in signals)
    if total >= REJECT_SCORE:
        return Decision.REJECT
    if total >= REVIEW_SCORE:
        return Decision.REVIEW
    return Decision.APPROVE
