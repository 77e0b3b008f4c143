"""The full rule set, built from a program's FraudConfig, and the decision it leads to.

`FraudRuleSet(config)` satisfies `referral.fraud.RuleSet`, so it drops in where the basic
rule set is used today. Build it once per program version and batch, not per referral.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final

from referral.fraud import (
    Decision,
    ReferralFacts,
    Severity,
    Signal,
    blocklists,
    coupons,
    disposable,
    identity,
    rings,
    velocity,
)
from referral.fraud.catalog import CATALOG, SHARED_CONTEXT
from referral.fraud.config import FraudConfig
from referral.fraud.explain import explain
from referral.fraud.policy import Policy

__all__ = ["RULES", "FraudRuleSet", "PolicyRule", "decide", "explain"]

PolicyRule = Callable[[ReferralFacts, Policy], Signal | None]

# In catalogue order, so signals come out in a stable order for storage and display.
RULES: Final[dict[str, PolicyRule]] = {
    "same_customer": identity.same_customer,
    "same_external_id": identity.same_external_id,
    "self_referral_email": identity.self_referral_email,
    "similar_email": identity.similar_email,
    "confusable_email": identity.confusable_email,
    "confusable_characters": identity.confusable_characters,
    "same_phone": identity.same_phone,
    "same_payment": identity.same_payment,
    "same_device": identity.same_device,
    "shared_address": identity.shared_address,
    "shared_ip_user_agent": identity.shared_ip_user_agent,
    "shared_ip": identity.shared_ip,
    "similar_names": identity.similar_names,
    "duplicate_referee": identity.duplicate_referee,
    "disposable_domain": disposable.disposable_domain,
    "referrals_per_hour": velocity.referrals_per_hour,
    "referrals_per_day": velocity.referrals_per_day,
    "accounts_per_device": velocity.accounts_per_device,
    "accounts_per_ip": velocity.accounts_per_ip,
    "rewards_per_30_days": velocity.rewards_per_30_days,
    "max_referrals": velocity.max_referrals,
    "referral_cycle": rings.referral_cycle,
    "shared_attribute_ring": rings.shared_attribute_ring,
    "coupon_leakage": coupons.coupon_leakage,
    "coupon_site": coupons.coupon_site,
    "blocked_email": blocklists.blocked_email,
    "blocked_domain": blocklists.blocked_domain,
    "blocked_ip": blocklists.blocked_ip,
    "blocked_country": blocklists.blocked_country,
}
assert RULES.keys() == CATALOG.keys(), "every catalogued rule needs a function, and back"

# Rules that can only fire when the two customers share an identity key (CustomerFacts.
# may_match): a few set tests rule all of them out for an ordinary pair of strangers.
PAIRWISE: Final = frozenset(
    {
        "same_external_id",
        "similar_email",
        "confusable_email",
        "same_phone",
        "same_payment",
        "same_device",
        "shared_address",
        "shared_ip_user_agent",
        "shared_ip",
    }
)

# Rules with nothing to look for under a policy are left out rather than run to no effect.
_IDLE: Final[dict[str, Callable[[Policy], bool]]] = {
    "blocked_email": lambda policy: not policy.blocked_emails,
    "blocked_domain": lambda policy: not policy.blocked_domains,
    "blocked_ip": lambda policy: not policy.blocked_networks,
    "blocked_country": lambda policy: not policy.blocked_countries,
    "coupon_site": lambda policy: not policy.coupon_sites,
}


class FraudRuleSet:
    """Every enabled rule of a FraudConfig, evaluated in one pass per referral."""

    __slots__ = ("_pairwise", "_solo", "config", "policy", "rule_names")

    def __init__(self, config: FraudConfig | None = None) -> None:
        self.config = config if config is not None else FraudConfig()
        self.policy = Policy.of(self.config)
        idle = {name for name, is_idle in _IDLE.items() if is_idle(self.policy)}
        self.rule_names = tuple(
            name for name in RULES if self.config.enabled(name) and name not in idle
        )
        self._solo = tuple(RULES[name] for name in self.rule_names if name not in PAIRWISE)
        self._pairwise = tuple(RULES[name] for name in self.rule_names if name in PAIRWISE)

    def evaluate(self, facts: ReferralFacts) -> list[Signal]:
        policy = self.policy
        signals = [signal for rule in self._solo if (signal := rule(facts, policy)) is not None]
        referrer, referee = facts.referrer, facts.referee
        if referrer is not None and referee is not None and referrer.may_match(referee):
            signals += [
                signal for rule in self._pairwise if (signal := rule(facts, policy)) is not None
            ]
        return signals

    def evaluate_many(self, many: Iterable[ReferralFacts]) -> list[list[Signal]]:
        evaluate = self.evaluate
        return [evaluate(facts) for facts in many]

    def decide(self, signals: Sequence[Signal]) -> Decision:
        return decide(signals, self.config)


def decide(signals: Sequence[Signal], config: FraudConfig | None = None) -> Decision:
    """Approve, review or reject.

    Any hard signal rejects. Soft scores add up; the signals households, offices and friends
    produce (catalog.SHARED_CONTEXT) count together for at most `shared_context_cap`, so
    however many of them line up they never reject a referral by themselves.
    """
    if config is None:
        config = _DEFAULT
    total = 0
    shared_context = 0
    for signal in signals:
        # ==, not `is`: signals read back from storage may carry the plain string.
        if signal.severity == Severity.HARD:
            return Decision.REJECT
        if signal.rule in SHARED_CONTEXT:
            shared_context += signal.score
        else:
            total += signal.score
    total += min(shared_context, config.shared_context_cap)
    if total >= config.reject_score:
        return Decision.REJECT
    if total >= config.review_score:
        return Decision.REVIEW
    return Decision.APPROVE


_DEFAULT: Final = FraudConfig()
