import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.contacts import (
    InvalidContact,
    email_domain,
    is_disposable_domain,
    normalize_email,
    normalize_phone,
    validate_email,
)

E164 = re.compile(r"\+[1-9][0-9]{7,14}")


class TestNormalizeEmail:
    def test_trims_and_lowercases(self):
        assert normalize_email("  Jane.Doe@Example.COM \n") == "jane.doe@example.com"

    @pytest.mark.parametrize(
        "spelling",
        [
            "janedoe@gmail.com",
            "jane.doe@gmail.com",
            "J.a.n.e.D.o.e@Gmail.com",
            "jane.doe+promo@gmail.com",
        ],
    )
    def test_gmail_ignores_dots_and_plus_tags(self, spelling):
        assert normalize_email(spelling) == "janedoe@gmail.com"

    def test_googlemail_is_the_same_mailbox_as_gmail(self):
        assert normalize_email("Jane.Doe+x@googlemail.com") == "janedoe@gmail.com"

    @pytest.mark.parametrize(
        "address", ["jane.doe@example.com", "jane.doe+promo@example.com", "jane.doe@outlook.com"]
    )
    def test_other_domains_keep_dots_and_plus_tags(self, address):
        assert normalize_email(address) == address

    def test_subdomains_of_gmail_are_not_gmail(self):
        assert normalize_email("jane.doe@mail.gmail.com") == "jane.doe@mail.gmail.com"

    def test_internationalized_domain_becomes_punycode(self):
        assert normalize_email("Käufer@Bücher.de") == "käufer@xn--bcher-kva.de"

    def test_a_domain_that_is_not_valid_idna_is_kept_as_typed(self):
        assert normalize_email("a@bü..de") == "a@bü..de"

    def test_a_trailing_dot_on_the_domain_is_dropped(self):
        assert normalize_email("jane@example.com.") == "jane@example.com"

    @pytest.mark.parametrize(
        "raw", ["", "   ", "jane", "jane@", "@example.com", "a@b@example.com", "+promo@gmail.com"]
    )
    def test_something_not_shaped_like_an_address_gives_empty_string(self, raw):
        assert normalize_email(raw) == ""

    @given(st.text())
    def test_is_idempotent(self, raw):
        once = normalize_email(raw)
        assert normalize_email(once) == once


class TestValidateEmail:
    def test_returns_the_normalized_form(self):
        assert validate_email("jane.doe@Example.com") == "jane.doe@example.com"

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "secret.person",
            "secret.person@",
            "secret..person@example.com",
            "secret@exa_mple.com",
        ],
    )
    def test_refuses_invalid_addresses(self, raw):
        with pytest.raises(InvalidContact):
            validate_email(raw)

    @pytest.mark.parametrize(
        "raw", ["secret!person@ex ample.com", "secret.person@example", "secret..person@example.com"]
    )
    def test_the_reason_never_quotes_the_address(self, raw):
        with pytest.raises(InvalidContact) as caught:
            validate_email(raw)
        reason = str(caught.value)
        assert reason
        assert "secret" not in reason and "example" not in reason and "ample" not in reason

    def test_the_original_error_is_not_chained_so_tracebacks_do_not_leak_the_address(self):
        with pytest.raises(InvalidContact) as caught:
            validate_email("secret@@example.com")
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__

    def test_invalid_contact_is_a_value_error(self):
        assert issubclass(InvalidContact, ValueError)


class TestNormalizePhone:
    @pytest.mark.parametrize("e164", ["+14155550123", "+442079460958", "+12345678"])
    def test_e164_input_is_returned_unchanged_without_parsing(self, e164):
        assert normalize_phone(e164) == e164

    @pytest.mark.parametrize(
        ("raw", "region", "e164"),
        [
            ("(415) 555-0123", "US", "+14155550123"),
            ("415.555.0123", "US", "+14155550123"),
            ("+1 415 555 0123", "US", "+14155550123"),
            ("020 7946 0958", "GB", "+442079460958"),
            ("+44 20 7946 0958", "US", "+442079460958"),
            ("030 123456", "DE", "+4930123456"),
        ],
    )
    def test_national_and_formatted_numbers_become_e164(self, raw, region, e164):
        assert normalize_phone(raw, region) == e164

    def test_the_default_region_is_the_us(self):
        assert normalize_phone("415 555 0123") == "+14155550123"

    def test_a_national_number_is_read_in_the_region_given(self):
        assert normalize_phone("020 7946 0958", "US") is None
        assert normalize_phone("020 7946 0958", "GB") == "+442079460958"

    @pytest.mark.parametrize(
        "raw", [None, "", "   ", "not a phone", "12", "+1 000 000 0000", "555"]
    )
    def test_invalid_numbers_give_none(self, raw):
        assert normalize_phone(raw) is None

    @given(st.text(max_size=30))
    def test_result_is_always_e164_or_none(self, raw):
        result = normalize_phone(raw)
        assert result is None or E164.fullmatch(result)


class TestDomains:
    @pytest.mark.parametrize(
        ("email", "domain"),
        [("jane@Example.com", "example.com"), ("a@b@c.org", "c.org"), ("no-at-sign", "")],
    )
    def test_email_domain_is_the_part_after_the_last_at(self, email, domain):
        assert email_domain(email) == domain

    def test_a_known_throwaway_provider_is_disposable(self):
        assert is_disposable_domain("mailinator.com")

    def test_a_subdomain_of_a_throwaway_provider_is_disposable(self):
        assert is_disposable_domain("mail.mailinator.com")
        assert is_disposable_domain("A.B.Mailinator.COM.")

    @pytest.mark.parametrize("domain", ["gmail.com", "example.com", "com", "", "mailinator.com.au"])
    def test_ordinary_domains_are_not_disposable(self, domain):
        assert not is_disposable_domain(domain)

    def test_the_allowlist_wins_over_the_blocklist(self):
        assert not is_disposable_domain("mailinator.com", frozenset({"mailinator.com"}))

    def test_an_allowlisted_parent_covers_its_subdomains(self):
        assert not is_disposable_domain("mail.mailinator.com", frozenset({"mailinator.com"}))

    def test_an_allowlisted_subdomain_does_not_cover_its_parent(self):
        assert is_disposable_domain("mailinator.com", frozenset({"mail.mailinator.com"}))
