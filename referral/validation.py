"""Does a purchase qualify a referral under the program's rules?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from referral.programs import ProgramConfig


class Outcome(StrEnum):
    QUALIFIED = "qualified"
    BELOW_MINIMUM = "below_minimum"
    WRONG_CURRENCY = "wrong_currency"
    EXPIRED = "expired"
    NOT_NEW_CUSTOMER = "not_new_customer"
    MAX_REFERRALS = "max_referrals"

    @property
    def ends_referral(self) -> bool:
        """Some failures can still be fixed by a later purchase; these cannot."""
        return self in (Outcome.EXPIRED, Outcome.NOT_NEW_CUSTOMER, Outcome.MAX_REFERRALS)


@dataclass(frozen=True, slots=True)
class PurchaseFacts:
    amount_minor: int
    currency: str
    occurred_at: datetime
    referred_at: datetime
    referee_ordered_before_referral: bool
    referrer_successful_referrals: int


def validate_purchase(program: ProgramConfig, facts: PurchaseFacts) -> Outcome:
    if program.new_customers_only and facts.referee_ordered_before_referral:
        return Outcome.NOT_NEW_CUSTOMER
    if program.validity_period_days is not None:
        deadline = facts.referred_at + timedelta(days=program.validity_period_days)
        if facts.occurred_at > deadline:
            return Outcome.EXPIRED
    if program.max_referrals is not None and (
        facts.referrer_successful_referrals >= program.max_referrals
    ):
        return Outcome.MAX_REFERRALS
    if facts.currency != program.currency:
        return Outcome.WRONG_CURRENCY
    if facts.amount_minor < program.minimum_purchase_minor:
        return Outcome.BELOW_MINIMUM
    return Outcome.QUALIFIED
