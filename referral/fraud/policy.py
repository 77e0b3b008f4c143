"""A FraudConfig compiled once into what the rules read per referral: flat numbers, sets,
a prefix index of blocked networks, and the severity and score of every rule."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from referral.fraud import Severity, Signal
from referral.fraud.catalog import CATALOG
from referral.fraud.config import FraudConfig

_V4_MAPPED = bytes(10) + b"\xff\xff"


class NetworkSet:
    """IP addresses and CIDR ranges, matched in a few set lookups however long the list.

    Networks are kept as integer prefixes per prefix length, so a lookup is one shift and one
    set probe per distinct length rather than a comparison per listed network.
    """

    __slots__ = ("_prefixes",)

    def __init__(self, networks: tuple[str, ...] = ()) -> None:
        self._prefixes: dict[int, dict[int, set[int]]] = {4: {}, 6: {}}
        for entry in networks:
            network = ipaddress.ip_network(entry, strict=False)
            shift = network.max_prefixlen - network.prefixlen
            by_length = self._prefixes[network.version]
            by_length.setdefault(shift, set()).add(int(network.network_address) >> shift)

    def __bool__(self) -> bool:
        return any(self._prefixes.values())

    def __contains__(self, ip: object) -> bool:
        """Whether `ip` (text) lies in a listed range; False for anything not an address."""
        if not isinstance(ip, str):
            return False
        parsed = _parse(ip.strip())
        if parsed is None:
            return False
        version, value = parsed
        for shift, prefixes in self._prefixes[version].items():
            if (value >> shift) in prefixes:
                return True
        return False


def _parse(text: str) -> tuple[int, int] | None:
    # inet_pton is a C call that only parses (no lookup, no I/O) and costs a tenth of
    # ipaddress.ip_address; the blocklist rule runs it once per referral.
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text))
    except OSError:
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        return None
    if packed[:12] == _V4_MAPPED:
        return 4, int.from_bytes(packed[12:])
    return 6, int.from_bytes(packed)


@dataclass(frozen=True, slots=True)
class Policy:
    config: FraudConfig
    severities: dict[str, Severity]
    scores: dict[str, int]
    blocked_networks: NetworkSet
    blocked_emails: frozenset[str]
    blocked_domains: frozenset[str]
    blocked_countries: frozenset[str]
    disposable_allowlist: frozenset[str]
    coupon_sites: frozenset[str]
    # Copied out of the nested config: one attribute read per rule instead of two.
    name_similarity: int = field(init=False)
    referrals_per_hour: int = field(init=False)
    referrals_per_day: int = field(init=False)
    accounts_per_device_per_day: int = field(init=False)
    accounts_per_ip_per_day: int = field(init=False)
    rewards_per_30_days: int = field(init=False)
    ring_min_size: int = field(init=False)
    coupon_max_redemptions: int = field(init=False)
    # Per-domain answers under this policy's lists: a batch names a few thousand domains,
    # and a dictionary probe is the cheapest lookup there is.
    disposable_cache: dict[str, bool] = field(init=False, repr=False, compare=False)
    blocked_domain_cache: dict[str, str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        config = self.config
        for name, value in (
            ("name_similarity", config.identity.name_similarity),
            ("referrals_per_hour", config.velocity.referrals_per_hour),
            ("referrals_per_day", config.velocity.referrals_per_day),
            ("accounts_per_device_per_day", config.velocity.accounts_per_device_per_day),
            ("accounts_per_ip_per_day", config.velocity.accounts_per_ip_per_day),
            ("rewards_per_30_days", config.velocity.rewards_per_30_days),
            ("ring_min_size", config.rings.min_component_size),
            ("coupon_max_redemptions", config.coupons.max_redemptions),
        ):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "disposable_cache", {})
        object.__setattr__(self, "blocked_domain_cache", {})

    @classmethod
    def of(cls, config: FraudConfig) -> Policy:
        return cls(
            config=config,
            severities={name: config.severity(name) for name in CATALOG},
            scores={name: config.score(name) for name in CATALOG},
            blocked_networks=NetworkSet(config.blocklists.ips),
            blocked_emails=frozenset(config.blocklists.emails),
            blocked_domains=frozenset(config.blocklists.domains),
            blocked_countries=frozenset(config.blocklists.countries),
            disposable_allowlist=frozenset(config.allowlists.disposable_domains),
            coupon_sites=frozenset(config.coupons.sites),
        )

    def signal(self, rule: str, reason_code: str, evidence: dict[str, Any]) -> Signal:
        return Signal(rule, self.severities[rule], self.scores[rule], reason_code, evidence)


DEFAULT_POLICY = Policy.of(FraudConfig())
