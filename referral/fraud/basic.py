"""The basic rule set: the checks every referral program needs from day one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from referral.contacts import is_disposable_domain
from referral.fraud import ReferralFacts, Rule, Severity, Signal


def same_customer(facts: ReferralFacts) -> Signal | None:
    if facts.referrer_customer_id != facts.referee_customer_id:
        return None
    return Signal(
        "same_customer",
        Severity.HARD,
        100,
        "SELF_REFERRAL_SAME_CUSTOMER",
        {"customer_id": facts.referee_customer_id},
    )


def self_referral_email(facts: ReferralFacts) -> Signal | None:
    if not facts.referee_email_normalized or (
        facts.referee_email_normalized != facts.referrer_email_normalized
    ):
        return None
    # Evidence names the rule's inputs by role, never the address itself.
    return Signal(
        "self_referral_email",
        Severity.HARD,
        100,
        "SELF_REFERRAL_EMAIL",
        {"match": "normalized_email"},
    )


def disposable_domain(facts: ReferralFacts) -> Signal | None:
    if not facts.referee_email_domain or not is_disposable_domain(facts.referee_email_domain):
        return None
    return Signal(
        "disposable_domain",
        Severity.SOFT,
        50,
        "DISPOSABLE_EMAIL_DOMAIN",
        {"domain": facts.referee_email_domain},
    )


def duplicate_referee(facts: ReferralFacts) -> Signal | None:
    if not facts.referee_email_seen_in_program:
        return None
    return Signal(
        "duplicate_referee", Severity.HARD, 100, "DUPLICATE_REFEREE", {"match": "normalized_email"}
    )


BASIC_RULES: tuple[Rule, ...] = (
    same_customer,
    self_referral_email,
    disposable_domain,
    duplicate_referee,
)


@dataclass(frozen=True)
class BasicRuleSet:
    rules: Sequence[Rule] = BASIC_RULES

    def evaluate(self, facts: ReferralFacts) -> list[Signal]:
        return [signal for rule in self.rules if (signal := rule(facts)) is not None]
