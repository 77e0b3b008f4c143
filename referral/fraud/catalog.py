"""Every rule the engine knows: its name, default severity and score, and reason codes.

Names are what program files use to switch a rule off or re-weigh it, and what fraud_signals
rows store, so they never change once released. The four names of the basic rule set keep
their meaning here.

Scores are calibrated against review at 40 and rejection at 80: one strong soft signal asks
for a person to look, only several independent ones reject. Hard means proof of one person on
both sides (the same phone, card or device), or an operator's explicit blocklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from referral.fraud import Severity

HARD = Severity.HARD
SOFT = Severity.SOFT


@dataclass(frozen=True, slots=True)
class RuleInfo:
    severity: Severity
    score: int
    reason_codes: tuple[str, ...]
    summary: str


CATALOG: Final[dict[str, RuleInfo]] = {
    # Identity: is the referee the referrer under another name?
    "same_customer": RuleInfo(
        HARD, 100, ("SELF_REFERRAL_SAME_CUSTOMER",), "referrer and referee are one customer"
    ),
    "same_external_id": RuleInfo(
        HARD, 100, ("SELF_REFERRAL_EXTERNAL_ID",), "both rows are one CRM record"
    ),
    "self_referral_email": RuleInfo(
        HARD, 100, ("SELF_REFERRAL_EMAIL",), "one mailbox after normalization"
    ),
    "similar_email": RuleInfo(
        SOFT, 60, ("SIMILAR_EMAIL_PLUS_TAG",), "one address apart from a +tag (not Gmail)"
    ),
    "confusable_email": RuleInfo(
        SOFT, 70, ("CONFUSABLE_EMAIL",), "the referrer's address spelled with look-alikes"
    ),
    "confusable_characters": RuleInfo(
        SOFT, 20, ("CONFUSABLE_CHARACTERS",), "referee address mixes look-alike scripts"
    ),
    "same_phone": RuleInfo(HARD, 100, ("SELF_REFERRAL_PHONE",), "one phone number (E.164)"),
    "same_payment": RuleInfo(HARD, 100, ("SHARED_PAYMENT_FINGERPRINT",), "one payment instrument"),
    "same_device": RuleInfo(HARD, 100, ("SHARED_DEVICE",), "one device id"),
    "shared_address": RuleInfo(SOFT, 30, ("SHARED_ADDRESS",), "one shipping address"),
    "shared_ip_user_agent": RuleInfo(
        SOFT, 45, ("SHARED_IP_AND_USER_AGENT",), "one IP address with one browser"
    ),
    "shared_ip": RuleInfo(SOFT, 15, ("SHARED_IP",), "one IP address, different browsers"),
    "similar_names": RuleInfo(SOFT, 15, ("SIMILAR_NAMES",), "names nearly alike"),
    "duplicate_referee": RuleInfo(
        HARD, 100, ("DUPLICATE_REFEREE",), "the referee's address was referred before"
    ),
    # Throwaway addresses.
    "disposable_domain": RuleInfo(
        SOFT, 50, ("DISPOSABLE_EMAIL_DOMAIN",), "referee uses a throwaway mail provider"
    ),
    # Velocity and caps.
    "referrals_per_hour": RuleInfo(
        SOFT, 40, ("VELOCITY_REFERRALS_HOUR",), "too many referrals by one advocate in an hour"
    ),
    "referrals_per_day": RuleInfo(
        SOFT, 40, ("VELOCITY_REFERRALS_DAY",), "too many referrals by one advocate in a day"
    ),
    "accounts_per_device": RuleInfo(
        SOFT, 50, ("VELOCITY_DEVICE_ACCOUNTS",), "many new accounts on one device in a day"
    ),
    "accounts_per_ip": RuleInfo(
        SOFT, 25, ("VELOCITY_IP_ACCOUNTS",), "many new accounts from one IP in a day"
    ),
    "rewards_per_30_days": RuleInfo(
        SOFT, 40, ("CAP_REWARDS_30_DAYS",), "advocate over the 30-day reward cap"
    ),
    "max_referrals": RuleInfo(
        SOFT, 40, ("CAP_MAX_REFERRALS",), "advocate over the program's max_referrals"
    ),
    # Rings.
    "referral_cycle": RuleInfo(
        HARD, 100, ("REFERRAL_CYCLE",), "the referral closes a cycle of referrals"
    ),
    "shared_attribute_ring": RuleInfo(
        SOFT, 45, ("SHARED_ATTRIBUTE_RING",), "many accounts joined by devices, cards, addresses"
    ),
    # Coupon leakage.
    "coupon_leakage": RuleInfo(
        SOFT, 50, ("COUPON_LEAKED",), "the promo code is redeemed by many strangers"
    ),
    "coupon_site": RuleInfo(SOFT, 50, ("COUPON_SITE_REFERRER",), "referee came from a coupon site"),
    # Operator blocklists.
    "blocked_email": RuleInfo(HARD, 100, ("BLOCKED_EMAIL",), "address on the blocklist"),
    "blocked_domain": RuleInfo(HARD, 100, ("BLOCKED_DOMAIN",), "mail domain on the blocklist"),
    "blocked_ip": RuleInfo(HARD, 100, ("BLOCKED_IP",), "IP in a blocklisted range"),
    "blocked_country": RuleInfo(HARD, 100, ("BLOCKED_COUNTRY",), "country on the blocklist"),
}

# What households, offices and friends produce without doing anything wrong: these can never
# be made hard, and together they add at most `shared_context_cap` to a referral's score, so
# on their own they can send a referral to review but never reject it.
SHARED_CONTEXT: Final[frozenset[str]] = frozenset(
    {"shared_address", "shared_ip_user_agent", "shared_ip", "similar_names", "accounts_per_ip"}
)
