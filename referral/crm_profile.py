"""What a CRM is told about a contact's part in referral programs, and whether that changed
since it was last told.

The CRM keeps a copy for sales and marketing (segments of advocates, a referred lead's
referrer, what a customer holds in rewards). Pushing only what changed keeps a large CRM's
API quota for changes; the fingerprint of the last pushed values is what "changed" means,
so a value that changes and changes back is pushed again and nothing is missed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from referral.money import from_minor

# The logical properties; a provider's property (or field) name for each is configuration.
PROPERTIES: Final = (
    "referral_status",
    "referred_by",
    "referral_code",
    "successful_referrals",
    "reward_balance",
    "reward_currency",
    "reward_points",
)
# A referral that ended here has paid off for the referrer.
SUCCESSFUL_STATUSES: Final = ("approved", "rewarded")


@dataclass(frozen=True, slots=True)
class ReferralProfile:
    customer_id: int
    contact_id: str  # the CRM's id of the contact (customers.external_id)
    referral_status: str | None = None  # of the referral that brought them, if any
    referred_by: str | None = None  # the referrer's CRM id
    referral_code: str | None = None  # their own code, as an advocate
    successful_referrals: int = 0
    reward_balance_minor: int = 0
    reward_currency: str | None = None
    reward_points: int = 0


def properties(profile: ReferralProfile, names: Mapping[str, str]) -> dict[str, Any]:
    """The profile as the CRM's properties: `names` maps each logical property to the
    provider's name; a property without a name is not pushed."""
    balance = (
        from_minor(profile.reward_balance_minor, profile.reward_currency)
        if profile.reward_currency
        else Decimal(0)
    )
    values: dict[str, Any] = {
        "referral_status": profile.referral_status,
        "referred_by": profile.referred_by,
        "referral_code": profile.referral_code,
        "successful_referrals": profile.successful_referrals,
        "reward_balance": balance,
        "reward_currency": profile.reward_currency,
        "reward_points": profile.reward_points,
    }
    return {names[key]: value for key, value in values.items() if names.get(key)}


def fingerprint(pushed: Mapping[str, Any]) -> str:
    text = json.dumps(pushed, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def main_balance(balances: Mapping[str, int], preferred: str | None) -> tuple[int, str | None]:
    """One balance for a CRM property: the customer's own currency when they hold some,
    otherwise the largest holding (ties: the first currency by code)."""
    if not balances:
        return 0, None
    if preferred is not None and preferred in balances:
        return balances[preferred], preferred
    currency = min(balances, key=lambda c: (-balances[c], c))
    return balances[currency], currency


def unknown_properties(names: Mapping[str, str]) -> list[str]:
    return sorted(set(names) - set(PROPERTIES))
