"""FraudConfig: the `fraud:` section of a program file."""

import pytest
import yaml
from pydantic import ValidationError

from referral.fraud import Severity
from referral.fraud.catalog import CATALOG
from referral.fraud.config import DEFAULT_COUPON_SITES, FraudConfig

EXAMPLE = """
review_score: 40
reject_score: 80
rules:
  similar_names: {enabled: false}
  disposable_domain: {score: 60}
  shared_attribute_ring: {severity: hard}
velocity:
  referrals_per_hour: 5
  accounts_per_ip_per_day: 50
rings:
  min_component_size: 8
coupons:
  window_hours: 48
  max_redemptions: 20
blocklists:
  emails: [fraud@example.com]
  domains: [evil.example]
  ips: [203.0.113.0/24, 198.51.100.7]
  countries: [kp]
allowlists:
  disposable_domains: [staff-mail.example]
"""


def test_empty_section_is_a_complete_config():
    config = FraudConfig.model_validate({})
    assert (config.review_score, config.reject_score) == (40, 80)
    assert all(config.enabled(name) for name in CATALOG)
    assert set(DEFAULT_COUPON_SITES) <= set(config.coupons.sites)


def test_a_program_file_section_reads_as_written():
    config = FraudConfig.model_validate(yaml.safe_load(EXAMPLE))
    assert not config.enabled("similar_names")
    assert config.score("disposable_domain") == 60
    assert config.severity("shared_attribute_ring") is Severity.HARD
    assert config.velocity.referrals_per_hour == 5
    assert config.blocklists.countries == ("KP",)
    assert config.blocklists.ips == ("203.0.113.0/24", "198.51.100.7/32")


def test_defaults_apply_where_the_file_is_silent():
    config = FraudConfig.model_validate({"rules": {"similar_names": {"enabled": False}}})
    assert config.score("same_phone") == CATALOG["same_phone"].score
    assert config.severity("same_phone") is Severity.HARD


def test_json_round_trip_keeps_the_config():
    config = FraudConfig.model_validate(yaml.safe_load(EXAMPLE))
    assert FraudConfig.model_validate(config.model_dump(mode="json")) == config


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"reveiw_score": 10}, "reveiw_score"),
        ({"velocity": {"referals_per_hour": 3}}, "referals_per_hour"),
        ({"rules": {"same_phone": {"enabeld": False}}}, "enabeld"),
        ({"blocklists": {"ip": ["1.2.3.4"]}}, "ip"),
    ],
)
def test_an_unknown_field_is_an_error_naming_it(section, field):
    with pytest.raises(ValidationError) as raised:
        FraudConfig.model_validate(section)
    assert field in str(raised.value)
    assert "Extra inputs are not permitted" in str(raised.value)


def test_an_unknown_rule_is_an_error_naming_it_and_suggesting_the_right_one():
    with pytest.raises(
        ValidationError, match="unknown rule 'simlar_names'; did you mean 'similar_names'"
    ):
        FraudConfig.model_validate({"rules": {"simlar_names": {"enabled": False}}})


@pytest.mark.parametrize(
    "rule", ["shared_address", "shared_ip", "shared_ip_user_agent", "similar_names"]
)
def test_what_families_offices_and_friends_share_cannot_be_made_hard(rule):
    with pytest.raises(ValidationError, match="cannot be hard"):
        FraudConfig.model_validate({"rules": {rule: {"severity": "hard"}}})


def test_the_shared_context_cap_must_stay_below_rejection():
    with pytest.raises(ValidationError, match="shared_context_cap"):
        FraudConfig(shared_context_cap=80, reject_score=80)


def test_review_above_reject_is_refused():
    with pytest.raises(ValidationError, match="review_score"):
        FraudConfig(review_score=90, reject_score=80)


@pytest.mark.parametrize(
    "blocklists",
    [
        {"ips": ["300.1.2.3"]},
        {"ips": ["' OR 1=1 --"]},
        {"countries": ["Germany"]},
        {"emails": ["not-an-address"]},
        {"domains": ["' OR 1=1 --"]},
    ],
)
def test_malformed_list_entries_are_refused(blocklists):
    with pytest.raises(ValidationError):
        FraudConfig.model_validate({"blocklists": blocklists})


def test_list_entries_are_normalized_for_matching():
    config = FraudConfig.model_validate(
        {
            "blocklists": {"emails": [" J.Doe+x@GMAIL.com "], "domains": ["Evil.Example."]},
            "coupons": {"sites": ["B\N{LATIN SMALL LETTER U WITH DIAERESIS}cher.example"]},
        }
    )
    assert config.blocklists.emails == ("jdoe@gmail.com",)
    assert config.blocklists.domains == ("evil.example",)
    assert config.coupons.sites == ("xn--bcher-kva.example",)


def test_config_is_immutable():
    config = FraudConfig()
    with pytest.raises(ValidationError):
        config.review_score = 10  # type: ignore[misc]
