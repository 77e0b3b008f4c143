"""Throwaway mail providers, matched on the registrable domain, with an allowlist."""

import pytest

from referral.fraud import ReferralFacts, Severity
from referral.fraud.disposable import disposable_domain, is_disposable
from tests.unit.fraud.builders import DEFAULT, policy, referral


@pytest.mark.parametrize("domain", ["mailinator.com", "mail.mailinator.com", "MAILINATOR.COM."])
def test_listed_domain_and_its_subdomains_are_disposable(domain):
    assert is_disposable(domain)


@pytest.mark.parametrize("domain", ["gmail.com", "example.co.uk", "co.uk", "com", ""])
def test_ordinary_domains_and_bare_suffixes_are_not(domain):
    assert not is_disposable(domain)


def test_allowlist_wins_for_the_domain_and_its_subdomains():
    allow = frozenset({"mailinator.com"})
    assert not is_disposable("mail.mailinator.com", allow)


def test_referee_on_a_throwaway_domain_is_soft_with_the_registrable_domain_as_evidence():
    signal = disposable_domain(referral(referee={"email": "x@eu.mailinator.com"}), DEFAULT)
    assert signal is not None
    assert signal.severity is Severity.SOFT
    assert signal.evidence == {"domain": "mailinator.com"}


def test_program_allowlist_silences_the_rule():
    allowing = policy(allowlists={"disposable_domains": ["mailinator.com"]})
    assert disposable_domain(referral(referee={"email": "x@mailinator.com"}), allowing) is None


def test_works_from_the_basic_facts_alone():
    facts = ReferralFacts(1, 2, "a@example.com", "b@mailinator.com", "mailinator.com")
    assert disposable_domain(facts, DEFAULT) is not None
