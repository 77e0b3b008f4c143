"""Plain words for every reason code, for reviewers and for appeals.

Built from the signal's evidence alone, so a stored signal can be explained years later
without the data it was computed from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from referral.fraud import Signal

Evidence = Mapping[str, Any]


def _self_email(e: Evidence) -> str:
    if e.get("gmail"):
        return (
            "The referee's email reaches the referrer's Gmail mailbox: Gmail ignores dots and "
            "anything after '+', and googlemail.com is gmail.com."
        )
    return "The referee's email is the referrer's, apart from letter case or spacing."


def _plural(count: Any, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _scripts(e: Evidence) -> str:
    scripts = [str(s).title() for s in e.get("scripts", ())]
    return f" ({', '.join(scripts)} letters)" if scripts else ""


_TEXT: Final[dict[str, Callable[[Evidence], str]]] = {
    "SELF_REFERRAL_SAME_CUSTOMER": lambda e: (
        "The referrer referred themselves: both sides are the same customer account."
    ),
    "SELF_REFERRAL_EXTERNAL_ID": lambda e: (
        "Referrer and referee are two copies of the same customer record in the CRM."
    ),
    "SELF_REFERRAL_EMAIL": _self_email,
    "SIMILAR_EMAIL_PLUS_TAG": lambda e: (
        "The referee's email is the referrer's with a '+tag' "
        f"added or changed (at {e.get('domain', 'the same domain')}); many providers deliver "
        "those to one mailbox."
    ),
    "CONFUSABLE_EMAIL": lambda e: (
        "The referee's email looks the same as the referrer's on "
        f"screen but is spelled with look-alike characters{_scripts(e)}."
    ),
    "CONFUSABLE_CHARACTERS": lambda e: (
        "The referee's email mixes look-alike characters from "
        f"another alphabet into Latin text{_scripts(e)}, a common disguise."
    ),
    "SELF_REFERRAL_PHONE": lambda e: "Referrer and referee have the same phone number.",
    "SHARED_PAYMENT_FINGERPRINT": lambda e: (
        "Referrer and referee paid with the same card or payment account."
    ),
    "SHARED_DEVICE": lambda e: "Referrer and referee used the same device.",
    "SHARED_ADDRESS": lambda e: (
        "Referrer and referee ship to the same address. Households "
        "share addresses, so this alone only adds weight."
    ),
    "SHARED_IP_AND_USER_AGENT": lambda e: (
        "Referrer and referee were seen from the same "
        "network address with the same browser. Colleagues in one office can look like this too."
    ),
    "SHARED_IP": lambda e: (
        "Referrer and referee were seen from the same network address with "
        "different browsers, as in a household or an office."
    ),
    "SIMILAR_NAMES": lambda e: (
        "Referrer and referee have nearly the same name "
        f"({e.get('similarity', '?')}% alike). Friends and relatives often do."
    ),
    "DUPLICATE_REFEREE": lambda e: "This referee's email was already referred in this program.",
    "DISPOSABLE_EMAIL_DOMAIN": lambda e: (
        "The referee signed up with a throwaway email "
        f"address ({e.get('domain', 'a disposable domain')})."
    ),
    "VELOCITY_REFERRALS_HOUR": lambda e: (
        "The referrer made "
        f"{_plural(e.get('count'), 'referral')} within an hour; the limit is {e.get('limit')}."
    ),
    "VELOCITY_REFERRALS_DAY": lambda e: (
        "The referrer made "
        f"{_plural(e.get('count'), 'referral')} within a day; the limit is {e.get('limit')}."
    ),
    "VELOCITY_DEVICE_ACCOUNTS": lambda e: (
        "New accounts created on the referee's device within a day: "
        f"{e.get('count')}; the limit is {e.get('limit')}."
    ),
    "VELOCITY_IP_ACCOUNTS": lambda e: (
        "New accounts created from the referee's network address within a day: "
        f"{e.get('count')}; the limit is {e.get('limit')}. Offices and mobile networks put "
        "many people behind one address."
    ),
    "CAP_REWARDS_30_DAYS": lambda e: (
        "The referrer has earned "
        f"{_plural(e.get('count'), 'reward')} in 30 days; the cap is {e.get('limit')}."
    ),
    "CAP_MAX_REFERRALS": lambda e: (
        "The referrer has made "
        f"{_plural(e.get('count'), 'referral')}, more than the program's maximum of "
        f"{e.get('limit')}."
    ),
    "REFERRAL_CYCLE": lambda e: (
        "This referral closes a circle of "
        f"{e.get('cycle_size')} customers who referred one another (A refers B refers A)."
    ),
    "SHARED_ATTRIBUTE_RING": lambda e: (
        f"The referrer or referee belongs to a group of "
        f"{e.get('component_size')} accounts tied together by shared devices, cards or addresses."
    ),
    "COUPON_LEAKED": lambda e: (
        f"The promo code was redeemed by {e.get('redemptions')} "
        f"unrelated customers within {e.get('window_hours')} hours; it has likely been posted "
        "publicly."
    ),
    "COUPON_SITE_REFERRER": lambda e: (
        f"The referee arrived from a coupon site ({e.get('site')}), not from the referrer."
    ),
    "BLOCKED_EMAIL": lambda e: (
        f"The {' and '.join(e.get('roles', ['customer']))}'s email address is on the blocklist."
    ),
    "BLOCKED_DOMAIN": lambda e: (
        f"The {e.get('role', 'customer')}'s email domain ({e.get('domain')}) is on the blocklist."
    ),
    "BLOCKED_IP": lambda e: "The referee's network address is in a blocklisted range.",
    "BLOCKED_COUNTRY": lambda e: (
        f"The {e.get('role', 'customer')}'s country ({e.get('country')}) is on the blocklist."
    ),
}

REASON_CODES: Final = frozenset(_TEXT)


def explain(signal: Signal) -> str:
    """One or two sentences a reviewer or the referrer can read; never raises, so an old
    signal with a code this version no longer knows still gets a line."""
    text = _TEXT.get(signal.reason_code)
    if text is None:
        return f"Rule {signal.rule} raised {signal.reason_code}."
    try:
        return text(signal.evidence)
    except (TypeError, ValueError):
        return f"Rule {signal.rule} raised {signal.reason_code}."
