"""Operator blocklists: emails, domains, IPs and CIDR ranges, countries."""

import pytest

from referral.fraud import Severity
from referral.fraud.blocklists import (
    blocked_country,
    blocked_domain,
    blocked_email,
    blocked_ip,
)
from referral.fraud.policy import NetworkSet
from tests.unit.fraud.builders import policy, referral

LISTS = policy(
    blocklists={
        "emails": ["Fraud.Ster+x@GoogleMail.com", "' OR 1=1 --@example.com"],
        "domains": ["evil.example"],
        "ips": ["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"],
        "countries": ["kp"],
    }
)


class TestEmails:
    def test_listed_address_matches_in_any_gmail_spelling(self):
        facts = referral(referee={"email": "fraudster@gmail.com"})
        signal = blocked_email(facts, LISTS)
        assert signal is not None
        assert signal.severity is Severity.HARD
        assert signal.evidence == {"roles": ["referee"]}

    def test_a_listed_referrer_is_caught_too(self):
        signal = blocked_email(referral(referrer={"email": "f.raudster@gmail.com"}), LISTS)
        assert signal is not None and signal.evidence == {"roles": ["referrer"]}

    def test_sql_looking_entries_match_only_themselves(self):
        assert blocked_email(referral(referee={"email": "anyone@example.com"}), LISTS) is None
        hit = blocked_email(referral(referee={"email": "' OR 1=1 --@example.com"}), LISTS)
        assert hit is not None


class TestDomains:
    def test_listed_domain_and_its_subdomains(self):
        for email in ("a@evil.example", "a@mx.evil.example"):
            signal = blocked_domain(referral(referee={"email": email}), LISTS)
            assert signal is not None and signal.evidence["domain"] == "evil.example"

    def test_a_lookalike_suffix_is_a_different_domain(self):
        assert blocked_domain(referral(referee={"email": "a@notevil.example"}), LISTS) is None


class TestNetworks:
    @pytest.mark.parametrize(
        "ip",
        ["203.0.113.0", "203.0.113.255", "198.51.100.7", "2001:db8::1", "::ffff:203.0.113.9"],
    )
    def test_addresses_inside_listed_ranges(self, ip):
        signal = blocked_ip(referral(referee_ip=ip), LISTS)
        assert signal is not None
        assert signal.evidence == {"role": "referee"}

    @pytest.mark.parametrize(
        "ip", ["203.0.114.1", "198.51.100.8", "2001:db9::1", "' OR 1=1 --", "999.1.1.1", ""]
    )
    def test_addresses_outside_and_garbage_are_not_blocked(self, ip):
        assert blocked_ip(referral(referee_ip=ip), LISTS) is None

    def test_a_network_set_holds_many_ranges(self):
        networks = NetworkSet(tuple(f"10.{i}.0.0/16" for i in range(200)))
        assert "10.199.3.4" in networks
        assert "10.200.3.4" not in networks


def test_listed_country_is_hard_for_either_side():
    signal = blocked_country(referral(referrer={"country": "KP"}), LISTS)
    assert signal is not None
    assert signal.evidence == {"role": "referrer", "country": "KP"}
    assert blocked_country(referral(referee={"country": "DE"}), LISTS) is None
