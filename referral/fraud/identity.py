"""Identity rules: is the referee the referrer under another name?

Each takes the referral's facts and the compiled policy and returns a signal or None. They
stay silent when a fact is missing on either side. Evidence names what matched by role and
counts; it never holds the address, number or hash itself.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from referral.fraud import ReferralFacts, Signal
from referral.fraud.normalize import GMAIL, confusable_scripts
from referral.fraud.policy import Policy


def same_customer(facts: ReferralFacts, policy: Policy) -> Signal | None:
    if facts.referrer_customer_id != facts.referee_customer_id:
        return None
    return policy.signal(
        "same_customer", "SELF_REFERRAL_SAME_CUSTOMER", {"customer_id": facts.referee_customer_id}
    )


def same_external_id(facts: ReferralFacts, policy: Policy) -> Signal | None:
    referrer, referee = facts.referrer, facts.referee
    if referrer is None or referee is None or not referee.external_id:
        return None
    if referee.external_id != referrer.external_id:
        return None
    return policy.signal("same_external_id", "SELF_REFERRAL_EXTERNAL_ID", {"match": "external_id"})


def self_referral_email(facts: ReferralFacts, policy: Policy) -> Signal | None:
    email = facts.referee_email_normalized
    if not email or email != facts.referrer_email_normalized:
        return None
    # Gmail gets its own evidence so the explanation can say why two spellings are one mailbox.
    gmail = email.endswith("@" + GMAIL)
    return policy.signal(
        "self_referral_email",
        "SELF_REFERRAL_EMAIL",
        {"match": "normalized_email", "gmail": gmail},
    )


def similar_email(facts: ReferralFacts, policy: Policy) -> Signal | None:
    referrer, referee = facts.referrer, facts.referee
    if referrer is None or referee is None or referrer.email is None or referee.email is None:
        return None
    mine, theirs = referrer.email, referee.email
    if mine.similarity != theirs.similarity or mine.normalized == theirs.normalized:
        return None
    return policy.signal(
        "similar_email",
        "SIMILAR_EMAIL_PLUS_TAG",
        {"match": "email_without_plus_tag", "domain": theirs.domain},
    )


def confusable_email(facts: ReferralFacts, policy: Policy) -> Signal | None:
    referrer, referee = facts.referrer, facts.referee
    if referrer is None or referee is None or referrer.email is None or referee.email is None:
        return None
    mine, theirs = referrer.email, referee.email
    if mine.skeleton != theirs.skeleton or mine.normalized == theirs.normalized:
        return None
    scripts = confusable_scripts(theirs.normalized) | confusable_scripts(mine.normalized)
    return policy.signal(
        "confusable_email",
        "CONFUSABLE_EMAIL",
        {"match": "confusable_skeleton", "scripts": sorted(scripts)},
    )


def confusable_characters(facts: ReferralFacts, policy: Policy) -> Signal | None:
    referee = facts.referee
    if referee is None or referee.email is None or not referee.email.confusable:
        return None
    return policy.signal(
        "confusable_characters",
        "CONFUSABLE_CHARACTERS",
        {"role": "referee", "scripts": sorted(confusable_scripts(referee.email.normalized))},
    )


def same_phone(facts: ReferralFacts, policy: Policy) -> Signal | None:
    referrer, referee = facts.referrer, facts.referee
    if referrer is None or referee is None or not referee.phone_e164:
        return None
    if referee.phone_e164 != referrer.phone_e164:
        return None
    return policy.signal("same_phone", "SELF_REFERRAL_PHONE", {"match": "phone_e164"})


def same_payment(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _shared(
        facts, policy, "payment_fingerprints",
        "same_payment", "SHARED_PAYMENT_FINGERPRINT", "payment_fingerprint",
    )  # fmt: skip


def same_device(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _shared(facts, policy, "device_ids", "same_device", "SHARED_DEVICE", "device_id")


def shared_address(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _shared(
        facts, policy, "address_hashes", "shared_address", "SHARED_ADDRESS", "address_hash"
    )


def shared_ip_user_agent(facts: ReferralFacts, policy: Policy) -> Signal | None:
    return _shared(
        facts, policy, "ip_ua_hashes",
        "shared_ip_user_agent", "SHARED_IP_AND_USER_AGENT", "ip_and_user_agent",
    )  # fmt: skip


def shared_ip(facts: ReferralFacts, policy: Policy) -> Signal | None:
    """The same IP seen with different browsers. When the browser matches too,
    shared_ip_user_agent speaks instead: one observation should not count twice."""
    referrer, referee = facts.referrer, facts.referee
    if (
        referrer is not None
        and referee is not None
        and not referrer.ip_ua_hashes.isdisjoint(referee.ip_ua_hashes)
    ):
        return None
    return _shared(facts, policy, "ip_hashes", "shared_ip", "SHARED_IP", "ip")


def _shared(
    facts: ReferralFacts, policy: Policy, attribute: str, rule: str, reason: str, match: str
) -> Signal | None:
    """A signal when both sides were seen with one value of `attribute` (a set of hashes),
    with how many they share as evidence, never the values."""
    referrer, referee = facts.referrer, facts.referee
    if referrer is None or referee is None:
        return None
    mine, theirs = getattr(referrer, attribute), getattr(referee, attribute)
    if mine.isdisjoint(theirs):
        return None
    return policy.signal(rule, reason, {"match": match, "shared": len(mine & theirs)})


def similar_names(facts: ReferralFacts, policy: Policy) -> Signal | None:
    referrer, referee = facts.referrer, facts.referee
    if referrer is None or referee is None or not referee.name_key or not referrer.name_key:
        return None
    # Keys are already lowercased and word-sorted, so the plain ratio is a token-sort ratio.
    similarity = fuzz.ratio(
        referrer.name_key, referee.name_key, score_cutoff=policy.name_similarity
    )
    if not similarity:
        return None
    return policy.signal(
        "similar_names",
        "SIMILAR_NAMES",
        {"similarity": round(similarity), "threshold": policy.name_similarity},
    )


def duplicate_referee(facts: ReferralFacts, policy: Policy) -> Signal | None:
    if not facts.referee_email_seen_in_program:
        return None
    return policy.signal("duplicate_referee", "DUPLICATE_REFEREE", {"match": "normalized_email"})
