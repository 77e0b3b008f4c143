"""Throwaway mail providers, matched on the registrable domain with an allowlist."""

from __future__ import annotations

import functools

from disposable_email_domains import blocklist as _DISPOSABLE

from referral.fraud import ReferralFacts, Signal
from referral.fraud.normalize import email_domain, registrable_domain
from referral.fraud.policy import Policy


def is_disposable(domain: str, allowlist: frozenset[str] = frozenset()) -> bool:
    """Whether `domain` belongs to a throwaway mail provider.

    The domain and each parent down to its registrable domain are looked up, so
    mail.mailinator.com counts as mailinator.com, while a public suffix (co.uk, com.br) is
    never looked up, so no list entry can ever condemn a whole country's addresses. An
    allowlisted domain or parent wins.
    """
    return _disposable(domain.strip().rstrip(".").lower(), allowlist)


@functools.lru_cache(maxsize=65536)
def _disposable(domain: str, allowlist: frozenset[str]) -> bool:
    # Cached per (domain, allowlist): a batch repeats a few thousand domains, and frozensets
    # keep their hash, so a hit costs one dictionary probe.
    if not domain:
        return False
    registrable = registrable_domain(domain)
    labels = domain.split(".")
    stop = len(labels) - registrable.count(".")
    candidates = [".".join(labels[i:]) for i in range(max(stop, 1))]
    if any(candidate in allowlist for candidate in candidates):
        return False
    return any(candidate in _DISPOSABLE for candidate in candidates)


def disposable_domain(facts: ReferralFacts, policy: Policy) -> Signal | None:
    referee = facts.referee
    if referee is not None and referee.email is not None:
        domain = referee.email.domain
    else:
        domain = facts.referee_email_domain or email_domain(facts.referee_email_normalized or "")
    if not domain:
        return None
    hit = policy.disposable_cache.get(domain)
    if hit is None:
        hit = policy.disposable_cache[domain] = _disposable(domain, policy.disposable_allowlist)
    if not hit:
        return None
    return policy.signal(
        "disposable_domain",
        "DISPOSABLE_EMAIL_DOMAIN",
        {"domain": registrable_domain(domain)},
    )
