"""Operator blocklists: emails, mail domains, IP ranges and countries.

Either side of the referral may be listed (a known fraudster as advocate is as bad as one as
referee), except the IP, which is only known for the referee's click.
"""

from __future__ import annotations

from referral.fraud import ReferralFacts, Signal
from referral.fraud.facts import CustomerFacts
from referral.fraud.normalize import email_domain
from referral.fraud.policy import Policy


def domain_listed(domain: str, listed: frozenset[str]) -> str | None:
    """The entry of `listed` that `domain` falls under (itself or a parent), else None."""
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in listed:
            return candidate
    return None


def blocked_email(facts: ReferralFacts, policy: Policy) -> Signal | None:
    listed = policy.blocked_emails
    roles = []
    if facts.referee_email_normalized in listed:
        roles.append("referee")
    if facts.referrer_email_normalized in listed:
        roles.append("referrer")
    if not roles:
        return None
    return policy.signal("blocked_email", "BLOCKED_EMAIL", {"roles": roles})


def blocked_domain(facts: ReferralFacts, policy: Policy) -> Signal | None:
    cache = policy.blocked_domain_cache
    for role, side, email in (
        ("referee", facts.referee, facts.referee_email_normalized),
        ("referrer", facts.referrer, facts.referrer_email_normalized),
    ):
        domain = _domain_of(side, email)
        if not domain:
            continue
        if domain in cache:
            entry = cache[domain]
        else:
            entry = cache[domain] = domain_listed(domain, policy.blocked_domains)
        if entry is not None:
            return policy.signal(
                "blocked_domain", "BLOCKED_DOMAIN", {"role": role, "domain": entry}
            )
    return None


def blocked_ip(facts: ReferralFacts, policy: Policy) -> Signal | None:
    if not facts.referee_ip or facts.referee_ip not in policy.blocked_networks:
        return None
    # No address and no range in the evidence: with a /32 entry the range is the address.
    return policy.signal("blocked_ip", "BLOCKED_IP", {"role": "referee"})


def blocked_country(facts: ReferralFacts, policy: Policy) -> Signal | None:
    listed = policy.blocked_countries
    referee, referrer = facts.referee, facts.referrer
    if referee is not None and referee.country in listed:
        role, country = "referee", referee.country
    elif referrer is not None and referrer.country in listed:
        role, country = "referrer", referrer.country
    else:
        return None
    return policy.signal("blocked_country", "BLOCKED_COUNTRY", {"role": role, "country": country})


def _domain_of(side: CustomerFacts | None, email: str | None) -> str:
    if side is not None and side.email is not None:
        return side.email.domain
    return email_domain(email) if email else ""
