"""Identity rules: one person on both sides of a referral, and the innocent look-alikes."""

from referral.fraud import Severity
from referral.fraud.identity import (
    confusable_characters,
    confusable_email,
    duplicate_referee,
    same_customer,
    same_device,
    same_external_id,
    same_payment,
    same_phone,
    self_referral_email,
    shared_address,
    shared_ip,
    shared_ip_user_agent,
    similar_email,
    similar_names,
)
from tests.unit.fraud.builders import DEFAULT, REFERRER_ID, policy, referral

CYRILLIC_A = "\N{CYRILLIC SMALL LETTER A}"


def test_strangers_raise_no_identity_signal():
    facts = referral(
        {"email": "ann@example.com", "phone": "+14155550101", "name": "Ann Lee"},
        {"email": "bob@example.org", "phone": "+14155550102", "name": "Bob Stone"},
    )
    rules = [
        same_customer,
        same_external_id,
        self_referral_email,
        similar_email,
        confusable_email,
        confusable_characters,
        same_phone,
        same_payment,
        same_device,
        shared_address,
        shared_ip_user_agent,
        shared_ip,
        similar_names,
        duplicate_referee,
    ]
    assert [rule(facts, DEFAULT) for rule in rules] == [None] * len(rules)


def test_same_customer_is_hard():
    signal = same_customer(referral(referee_customer_id=REFERRER_ID), DEFAULT)
    assert signal is not None
    assert (signal.severity, signal.reason_code) == (Severity.HARD, "SELF_REFERRAL_SAME_CUSTOMER")


def test_same_crm_record_under_two_customer_rows_is_hard():
    signal = same_external_id(
        referral({"external_id": "hubspot:42"}, {"external_id": "hubspot:42"}), DEFAULT
    )
    assert signal is not None and signal.severity is Severity.HARD


def test_unknown_external_ids_do_not_match_each_other():
    assert same_external_id(referral({}, {}), DEFAULT) is None


class TestEmail:
    def test_gmail_dots_and_tags_are_one_mailbox_and_hard(self):
        signal = self_referral_email(
            referral({"email": "jane.doe@gmail.com"}, {"email": "janedoe+ref@googlemail.com"}),
            DEFAULT,
        )
        assert signal is not None
        assert signal.severity is Severity.HARD
        assert signal.evidence == {"match": "normalized_email", "gmail": True}

    def test_plus_tag_elsewhere_is_only_similar_and_soft(self):
        facts = referral({"email": "jane@example.com"}, {"email": "jane+ref@example.com"})
        assert self_referral_email(facts, DEFAULT) is None
        signal = similar_email(facts, DEFAULT)
        assert signal is not None
        assert (signal.severity, signal.reason_code) == (Severity.SOFT, "SIMILAR_EMAIL_PLUS_TAG")
        assert signal.evidence == {"match": "email_without_plus_tag", "domain": "example.com"}

    def test_dots_outside_gmail_are_different_people(self):
        facts = referral({"email": "jane.doe@example.com"}, {"email": "janedoe@example.com"})
        assert self_referral_email(facts, DEFAULT) is None
        assert similar_email(facts, DEFAULT) is None

    def test_lookalike_of_the_referrers_address_is_soft_with_a_high_score(self):
        facts = referral(
            {"email": "paypal@example.com"}, {"email": f"p{CYRILLIC_A}ypal@example.com"}
        )
        signal = confusable_email(facts, DEFAULT)
        assert signal is not None
        assert signal.severity is Severity.SOFT
        assert signal.score >= 70
        assert signal.evidence == {"match": "confusable_skeleton", "scripts": ["CYRILLIC"]}

    def test_lookalike_characters_alone_are_a_small_soft_signal(self):
        facts = referral({"email": "ann@example.com"}, {"email": f"b{CYRILLIC_A}rt@example.com"})
        assert confusable_email(facts, DEFAULT) is None
        signal = confusable_characters(facts, DEFAULT)
        assert signal is not None
        assert (signal.severity, signal.score) == (Severity.SOFT, 20)

    def test_identical_addresses_are_not_also_called_lookalikes(self):
        facts = referral({"email": "jane@example.com"}, {"email": "jane@example.com"})
        assert confusable_email(facts, DEFAULT) is None
        assert similar_email(facts, DEFAULT) is None

    def test_sql_looking_addresses_are_compared_literally(self):
        facts = referral(
            {"email": "' OR 1=1 --@example.com"}, {"email": "x' OR '1'='1@example.com"}
        )
        assert self_referral_email(facts, DEFAULT) is None

    def test_duplicate_referee_keeps_its_basic_meaning(self):
        signal = duplicate_referee(referral(referee_email_seen_in_program=True), DEFAULT)
        assert signal is not None and signal.reason_code == "DUPLICATE_REFEREE"


class TestSharedIdentifiers:
    def test_same_phone_written_differently_is_hard(self):
        facts = referral({"phone": "(415) 555-0132"}, {"phone": "+1 415 555 0132"})
        signal = same_phone(facts, DEFAULT)
        assert signal is not None and signal.severity is Severity.HARD

    def test_same_payment_fingerprint_is_hard(self):
        facts = referral({"payment_fingerprints": ["card1"]}, {"payment_fingerprints": ["card1"]})
        signal = same_payment(facts, DEFAULT)
        assert signal is not None
        assert signal.severity is Severity.HARD
        assert signal.evidence == {"match": "payment_fingerprint", "shared": 1}

    def test_same_device_is_hard(self):
        facts = referral({"device_ids": ["dev1", "dev2"]}, {"device_ids": ["dev2"]})
        signal = same_device(facts, DEFAULT)
        assert signal is not None and signal.severity is Severity.HARD

    def test_blank_device_ids_join_nobody(self):
        assert same_device(referral({"device_ids": [""]}, {"device_ids": [""]}), DEFAULT) is None


class TestLegitimateLookalikes:
    def test_family_at_one_address_is_soft(self):
        facts = referral({"address_hashes": ["home"]}, {"address_hashes": ["home"]})
        signal = shared_address(facts, DEFAULT)
        assert signal is not None
        assert signal.severity is Severity.SOFT
        assert signal.score < DEFAULT.config.review_score

    def test_colleagues_behind_one_office_ip_are_soft_and_below_review(self):
        facts = referral(
            {"ip_hashes": ["office"], "ip_ua_hashes": ["office:chrome"]},
            {"ip_hashes": ["office"], "ip_ua_hashes": ["office:firefox"]},
        )
        signal = shared_ip(facts, DEFAULT)
        assert signal is not None
        assert signal.severity is Severity.SOFT
        assert signal.score < DEFAULT.config.review_score
        assert shared_ip_user_agent(facts, DEFAULT) is None

    def test_same_ip_and_browser_is_soft_and_reported_once(self):
        facts = referral(
            {"ip_hashes": ["office"], "ip_ua_hashes": ["office:chrome"]},
            {"ip_hashes": ["office"], "ip_ua_hashes": ["office:chrome"]},
        )
        signal = shared_ip_user_agent(facts, DEFAULT)
        assert signal is not None and signal.severity is Severity.SOFT
        assert shared_ip(facts, DEFAULT) is None

    def test_friends_with_similar_names_are_a_small_soft_signal(self):
        facts = referral({"name": "Jon Smith"}, {"name": "John Smith"})
        signal = similar_names(facts, DEFAULT)
        assert signal is not None
        assert signal.severity is Severity.SOFT
        assert signal.score < DEFAULT.config.review_score

    def test_names_in_another_order_are_the_same_name(self):
        facts = referral({"name": "Smith, John"}, {"name": "john smith"})
        signal = similar_names(facts, DEFAULT)
        assert signal is not None and signal.evidence["similarity"] == 100

    def test_names_below_the_threshold_are_silent(self):
        facts = referral({"name": "Anna Smith"}, {"name": "Emma Smith"})
        assert similar_names(facts, DEFAULT) is None

    def test_the_name_threshold_is_configurable(self):
        facts = referral({"name": "Anna Smith"}, {"name": "Emma Smith"})
        assert similar_names(facts, policy(identity={"name_similarity": 70})) is not None


def test_evidence_never_carries_the_matched_values():
    facts = referral(
        {
            "email": "jane+a@example.com",
            "phone": "+14155550132",
            "device_ids": ["dev-secret"],
            "payment_fingerprints": ["card-secret"],
            "address_hashes": ["addr-secret"],
            "ip_hashes": ["ip-secret"],
            "ip_ua_hashes": ["ipua-secret"],
            "name": "Jane Doe",
        },
        {
            "email": "jane+b@example.com",
            "phone": "+14155550132",
            "device_ids": ["dev-secret"],
            "payment_fingerprints": ["card-secret"],
            "address_hashes": ["addr-secret"],
            "ip_hashes": ["ip-secret"],
            "ip_ua_hashes": ["ipua-secret"],
            "name": "Jane Doe",
        },
    )
    rules = [
        similar_email,
        same_phone,
        same_device,
        same_payment,
        shared_address,
        shared_ip_user_agent,
        similar_names,
    ]
    signals = [rule(facts, DEFAULT) for rule in rules]
    assert all(signals)
    text = repr([signal.evidence for signal in signals if signal is not None]).lower()
    for secret in ("jane", "4155550132", "secret", "doe"):
        assert secret not in text
