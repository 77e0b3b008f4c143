"""The full rule set and its decision: hard rejects, soft scores add up, and what households,
offices and friends share never rejects on its own."""

from hypothesis import given, settings
from hypothesis import strategies as st

from referral.fraud import Decision, ReferralFacts, RuleSet, Severity, Signal
from referral.fraud import decide as basic_decide
from referral.fraud.basic import BasicRuleSet
from referral.fraud.catalog import CATALOG, SHARED_CONTEXT
from referral.fraud.config import FraudConfig
from referral.fraud.engine import RULES, FraudRuleSet, decide, explain
from referral.fraud.explain import REASON_CODES
from referral.fraud.facts import CustomerFacts
from referral.fraud.normalize import normalize_email
from tests.unit.fraud.builders import customer, referral

RULESET = FraudRuleSet()
CYRILLIC_A = "\N{CYRILLIC SMALL LETTER A}"


def reasons(facts: ReferralFacts, rules: FraudRuleSet = RULESET) -> set[str]:
    return {signal.reason_code for signal in rules.evaluate(facts)}


def soft(rule: str, score: int) -> Signal:
    return Signal(rule, Severity.SOFT, score, "X")


class TestDecide:
    def test_nothing_found_approves(self):
        assert decide([]) is Decision.APPROVE

    def test_any_hard_signal_rejects(self):
        assert decide([Signal("same_phone", Severity.HARD, 0, "SELF_REFERRAL_PHONE")]) is (
            Decision.REJECT
        )

    def test_soft_scores_add_up_to_review(self):
        assert decide([soft("coupon_site", 20), soft("coupon_leakage", 20)]) is Decision.REVIEW

    def test_soft_scores_add_up_to_reject(self):
        assert decide([soft("coupon_site", 50), soft("coupon_leakage", 30)]) is Decision.REJECT

    def test_thresholds_come_from_the_config(self):
        strict = FraudConfig(review_score=10, reject_score=20, shared_context_cap=15)
        assert decide([soft("coupon_site", 20)], strict) is Decision.REJECT

    def test_shared_context_signals_together_never_reject(self):
        signals = [soft(rule, 100) for rule in SHARED_CONTEXT]
        assert decide(signals) is Decision.REVIEW

    def test_other_signals_still_add_to_capped_shared_context(self):
        signals = [soft("shared_address", 100), soft("disposable_domain", 50)]
        assert decide(signals) is Decision.REJECT

    def test_severity_read_back_from_storage_as_text_still_counts(self):
        stored = Signal("same_phone", "hard", 100, "SELF_REFERRAL_PHONE")  # type: ignore[arg-type]
        assert decide([stored]) is Decision.REJECT


class TestRuleSet:
    def test_is_a_rule_set_for_the_pipeline(self):
        rules: RuleSet = FraudRuleSet()
        assert rules.evaluate(referral()) == []

    def test_gmail_alias_self_referral_is_rejected(self):
        facts = referral({"email": "jane.doe@gmail.com"}, {"email": "janedoe+1@gmail.com"})
        assert reasons(facts) == {"SELF_REFERRAL_EMAIL"}
        assert RULESET.decide(RULESET.evaluate(facts)) is Decision.REJECT

    def test_lookalike_address_from_the_same_network_is_rejected(self):
        facts = referral(
            {"email": "paypal@example.com", "ip_hashes": ["ip"], "ip_ua_hashes": ["ip:a"]},
            {
                "email": f"p{CYRILLIC_A}ypal@example.com",
                "ip_hashes": ["ip"],
                "ip_ua_hashes": ["ip:b"],
            },
        )
        assert reasons(facts) == {"CONFUSABLE_EMAIL", "CONFUSABLE_CHARACTERS", "SHARED_IP"}
        assert RULESET.decide(RULESET.evaluate(facts)) is Decision.REJECT

    def test_plus_tag_alias_goes_to_review(self):
        facts = referral({"email": "jane@example.com"}, {"email": "jane+ref@example.com"})
        assert RULESET.decide(RULESET.evaluate(facts)) is Decision.REVIEW

    def test_a_disabled_rule_is_silent(self):
        rules = FraudRuleSet(FraudConfig(rules={"same_phone": {"enabled": False}}))
        facts = referral({"phone": "+14155550132"}, {"phone": "+14155550132"})
        assert rules.evaluate(facts) == []
        assert "same_phone" not in rules.rule_names

    def test_score_and_severity_overrides_reach_the_signal(self):
        config = FraudConfig(rules={"disposable_domain": {"score": 90, "severity": "hard"}})
        [signal] = FraudRuleSet(config).evaluate(referral(referee={"email": "x@mailinator.com"}))
        assert (signal.score, signal.severity) == (90, Severity.HARD)

    def test_blocklist_rules_with_empty_lists_are_not_run(self):
        assert not {"blocked_email", "blocked_domain", "blocked_ip", "blocked_country"} & set(
            RULESET.rule_names
        )
        listed = FraudRuleSet(FraudConfig(blocklists={"ips": ["203.0.113.0/24"]}))
        assert "blocked_ip" in listed.rule_names

    def test_evaluate_many_matches_evaluate(self):
        batch = [referral(), referral(referee={"email": "x@mailinator.com"})]
        assert RULESET.evaluate_many(batch) == [RULESET.evaluate(f) for f in batch]

    def test_basic_facts_alone_still_work(self):
        facts = ReferralFacts(1, 1, "a@example.com", "a@example.com", "example.com")
        assert reasons(facts) == {"SELF_REFERRAL_SAME_CUSTOMER", "SELF_REFERRAL_EMAIL"}


class TestLegitimateLookalikes:
    def test_a_family_at_one_address_on_one_wifi_is_never_rejected(self):
        home = {"address_hashes": ["home"], "ip_hashes": ["wifi"], "ip_ua_hashes": ["wifi:ios"]}
        facts = referral(
            {"name": "Maria Garcia", **home},
            {"name": "Mario Garcia", **home},
            ip_accounts_last_day=25,
        )
        signals = RULESET.evaluate(facts)
        assert all(signal.severity is Severity.SOFT for signal in signals)
        assert RULESET.decide(signals) is not Decision.REJECT

    def test_colleagues_behind_one_office_ip_are_approved(self):
        facts = referral(
            {"ip_hashes": ["office"], "ip_ua_hashes": ["office:chrome"]},
            {"ip_hashes": ["office"], "ip_ua_hashes": ["office:edge"]},
            ip_accounts_last_day=8,
        )
        assert RULESET.decide(RULESET.evaluate(facts)) is Decision.APPROVE

    def test_colleagues_with_one_browser_build_are_at_most_reviewed(self):
        office = {"ip_hashes": ["office"], "ip_ua_hashes": ["office:chrome"]}
        facts = referral(office, office, ip_accounts_last_day=400)
        signals = RULESET.evaluate(facts)
        assert all(signal.severity is Severity.SOFT for signal in signals)
        assert RULESET.decide(signals) is not Decision.REJECT

    def test_friends_with_similar_names_are_approved(self):
        facts = referral({"name": "Jon Smith"}, {"name": "John Smith"})
        assert reasons(facts) == {"SIMILAR_NAMES"}
        assert RULESET.decide(RULESET.evaluate(facts)) is Decision.APPROVE


def test_the_basic_rules_mean_the_same_in_both_rule_sets():
    facts = ReferralFacts(1, 1, "a@gmail.com", "a@gmail.com", "mailinator.com", True)
    basic = {(s.rule, s.severity, s.score, s.reason_code) for s in BasicRuleSet().evaluate(facts)}
    full = {(s.rule, s.severity, s.score, s.reason_code) for s in RULESET.evaluate(facts)}
    assert basic == full


def test_the_basic_decide_is_unchanged():
    assert basic_decide([soft("x", 40)]) is Decision.REVIEW
    assert basic_decide([soft("x", 80)]) is Decision.REJECT


class TestExplain:
    def test_every_reason_code_has_plain_words(self):
        catalogued = {code for info in CATALOG.values() for code in info.reason_codes}
        assert catalogued == REASON_CODES

    def test_every_rule_has_a_function(self):
        assert RULES.keys() == CATALOG.keys()

    def test_gmail_alias_is_explained_by_how_gmail_reads_addresses(self):
        facts = referral({"email": "jane.doe@gmail.com"}, {"email": "janedoe@gmail.com"})
        [signal] = RULESET.evaluate(facts)
        assert "Gmail ignores dots" in explain(signal)

    def test_explanation_carries_the_numbers(self):
        [signal] = RULESET.evaluate(referral(referrer_referrals_last_hour=14))
        assert explain(signal) == (
            "The referrer made 14 referrals within an hour; the limit is 10."
        )

    def test_an_unknown_code_still_gets_a_line(self):
        assert explain(Signal("old_rule", Severity.SOFT, 5, "RETIRED")) == (
            "Rule old_rule raised RETIRED."
        )

    def test_explanations_never_fail_on_odd_evidence(self):
        for code in REASON_CODES:
            assert explain(Signal("r", Severity.SOFT, 1, code, {"roles": None, "scripts": 3}))


# Small pools, so generated pairs often share something and every pairwise rule gets exercised.
_VALUES = st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=2)
_SIDE = st.fixed_dictionaries(
    {
        "email": st.sampled_from(["j@x.com", "j+1@x.com", f"j{CYRILLIC_A}@x.com", "k@x.com", None]),
        "phone": st.sampled_from(["+14155550101", "+14155550102", None]),
        "external_id": st.sampled_from(["crm:1", "crm:2", None]),
        "name": st.sampled_from(["Ann Lee", "Anne Lee", None]),
        "device_ids": _VALUES,
        "payment_fingerprints": _VALUES,
        "address_hashes": _VALUES,
        "ip_hashes": _VALUES,
        "ip_ua_hashes": _VALUES,
    }
)


@settings(max_examples=300, deadline=None)
@given(_SIDE, _SIDE)
def test_skipping_pairwise_rules_for_strangers_changes_no_result(mine, theirs):
    facts = referral(mine, theirs)
    policy = RULESET.policy
    every_rule = [s for rule in RULES.values() if (s := rule(facts, policy)) is not None]
    assert sorted(RULESET.evaluate(facts), key=repr) == sorted(every_rule, key=repr)


def test_strangers_never_match_and_one_shared_key_is_enough():
    assert not customer(1, device_ids=["d"]).may_match(customer(2, device_ids=["e"]))
    assert customer(1, device_ids=["d"]).may_match(customer(2, device_ids=["d"]))
    # A device id and an IP hash that happen to be one string are different keys.
    assert not customer(1, device_ids=["x"]).may_match(customer(2, ip_hashes=["x"]))


@settings(max_examples=200, deadline=None)
@given(_SIDE, st.sampled_from(["gb", " US ", None]))
def test_facts_from_stored_values_are_the_facts_build_makes_of_them(side, country):
    """`stored` skips the normalization the database has already done, and nothing else."""
    from_raw = CustomerFacts.build(7, **side, country=country)
    stored = CustomerFacts.stored(
        7,
        external_id=side["external_id"],
        email_normalized=normalize_email(side["email"]) if side["email"] else None,
        phone_e164=side["phone"],  # the pool's numbers are E.164 already
        name=side["name"],
        device_ids=side["device_ids"],
        payment_fingerprints=side["payment_fingerprints"],
        address_hashes=side["address_hashes"],
        ip_hashes=side["ip_hashes"],
        ip_ua_hashes=side["ip_ua_hashes"],
        country=country,
    )
    assert stored == from_raw
