"""Fraud checks: rules return explainable signals, and a decision follows from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


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


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    """What the rules may look at; hashed or normalized values only, never raw PII."""

    referrer_customer_id: int
    referee_customer_id: int
    referrer_email_normalized: str | None
    referee_email_normalized: str | None
    referee_email_domain: str | None
    referee_email_seen_in_program: bool = False


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
