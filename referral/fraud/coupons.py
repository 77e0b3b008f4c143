"""Coupon leakage: a referral code that escaped to the public and is redeemed by strangers."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from referral.fraud import ReferralFacts, Signal
from referral.fraud.normalize import registrable_domain
from referral.fraud.policy import Policy


@functools.lru_cache(maxsize=65536)
def referrer_site(referrer: str) -> str:
    """The registrable domain of an HTTP Referer, given as a URL or a bare host; "" when
    there is none. `https://www.retailmenot.com/view/shop.com` -> `retailmenot.com`."""
    text = referrer.strip()
    if not text:
        return ""
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    return registrable_domain(host) if host else ""


def coupon_leakage(facts: ReferralFacts, policy: Policy) -> Signal | None:
    count, limit = facts.promo_code_redemptions, policy.coupon_max_redemptions
    if count <= limit:
        return None
    return policy.signal(
        "coupon_leakage",
        "COUPON_LEAKED",
        {
            "redemptions": count,
            "limit": limit,
            "window_hours": policy.config.coupons.window_hours,
        },
    )


def coupon_site(facts: ReferralFacts, policy: Policy) -> Signal | None:
    if not facts.landing_referrer_host:
        return None
    site = referrer_site(facts.landing_referrer_host)
    if site not in policy.coupon_sites:
        return None
    return policy.signal("coupon_site", "COUPON_SITE_REFERRER", {"site": site})
