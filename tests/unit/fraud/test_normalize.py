"""Matching keys: the exact email key, the +tag-free key, the look-alike skeleton, phones,
names and registrable domains."""

import socket

import pytest

from referral.fraud import normalize
from referral.fraud.normalize import (
    build_extractor,
    confusable_scripts,
    email_keys,
    email_skeleton,
    has_confusables,
    name_key,
    normalize_email,
    normalize_phone,
    registrable_domain,
    similarity_key,
)

CYRILLIC_A = "\N{CYRILLIC SMALL LETTER A}"
CYRILLIC_I = "\N{CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I}"
CYRILLIC_O = "\N{CYRILLIC SMALL LETTER O}"
GREEK_O = "\N{GREEK SMALL LETTER OMICRON}"


class TestExactKey:
    def test_trims_and_lowercases(self):
        assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"

    def test_gmail_drops_dots_and_plus_tags(self):
        assert normalize_email("J.a.n.e+promo@gmail.com") == "jane@gmail.com"

    def test_googlemail_is_gmail(self):
        assert normalize_email("jane.doe+x@googlemail.com") == "janedoe@gmail.com"

    def test_other_domains_keep_dots_and_plus_tags(self):
        assert normalize_email("jane.doe+shop@example.com") == "jane.doe+shop@example.com"

    def test_idn_domain_becomes_punycode(self):
        assert normalize_email("anna@b\N{LATIN SMALL LETTER U WITH DIAERESIS}cher.de") == (
            "anna@xn--bcher-kva.de"
        )

    def test_sql_looking_input_is_just_text(self):
        assert normalize_email("' OR 1=1 --@example.com") == "' or 1=1 --@example.com"


class TestSimilarityKey:
    def test_drops_the_plus_tag_on_any_domain(self):
        assert similarity_key("jane.doe+shop@example.com") == "jane.doe@example.com"

    def test_keeps_dots_outside_gmail(self):
        assert similarity_key("jane.doe@example.com") == "jane.doe@example.com"

    def test_address_without_tag_is_its_own_key(self):
        assert similarity_key("jane@example.com") == "jane@example.com"


class TestConfusables:
    def test_cyrillic_letter_in_a_latin_name_is_flagged(self):
        assert has_confusables(normalize_email(f"p{CYRILLIC_A}ypal@example.com"))

    def test_its_skeleton_is_the_latin_address(self):
        assert email_skeleton(normalize_email(f"p{CYRILLIC_A}ypal@example.com")) == (
            "paypal@example.com"
        )

    def test_greek_omicron_is_flagged_too(self):
        assert confusable_scripts(normalize_email(f"j{GREEK_O}hn@example.com")) == {"GREEK"}

    def test_lookalike_in_the_domain_is_found_through_punycode(self):
        spoof = normalize_email(f"jane@gma{CYRILLIC_I}l.com")
        assert spoof.split("@")[1].startswith("xn--")
        assert has_confusables(spoof)

    def test_a_fake_gmail_folds_dots_like_gmail_in_the_skeleton(self):
        assert email_skeleton(normalize_email(f"ja.ne@gma{CYRILLIC_I}l.com")) == "jane@gmail.com"

    def test_an_address_entirely_in_lookalikes_is_flagged(self):
        whole = "\N{CYRILLIC SMALL LETTER ER}" + CYRILLIC_A + "\N{CYRILLIC SMALL LETTER U}"
        assert has_confusables(f"{whole}@example.com")

    def test_a_russian_address_is_not_a_disguise(self):
        ivan = (
            "\N{CYRILLIC SMALL LETTER I}\N{CYRILLIC SMALL LETTER VE}"
            f"{CYRILLIC_A}\N{CYRILLIC SMALL LETTER EN}"
        )
        assert not has_confusables(normalize_email(f"{ivan}@example.ru"))

    def test_a_turkish_dotless_i_is_spelling_not_disguise(self):
        assert not has_confusables("y\N{LATIN SMALL LETTER DOTLESS I}lmaz@example.com.tr")

    def test_plain_ascii_is_never_flagged_and_is_its_own_skeleton(self):
        assert not has_confusables("jane@example.com")
        assert email_skeleton("jane@example.com") == "jane@example.com"

    def test_fullwidth_letters_fold_to_ascii(self):
        assert email_skeleton("\N{FULLWIDTH LATIN SMALL LETTER J}ane@example.com") == (
            "jane@example.com"
        )


class TestEmailKeys:
    def test_no_address_gives_no_keys(self):
        assert email_keys("") is None

    def test_keys_of_a_subdomain_address(self):
        keys = email_keys("jane+x@mail.example.co.uk")
        assert keys is not None
        assert (keys.similarity, keys.domain, keys.registrable_domain, keys.confusable) == (
            "jane@mail.example.co.uk",
            "mail.example.co.uk",
            "example.co.uk",
            False,
        )


class TestPhone:
    def test_national_number_read_in_the_default_region(self):
        assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"

    def test_same_number_written_two_ways_is_one_key(self):
        assert normalize_phone("(415) 555-0132") == normalize_phone("+1 415 555 0132")

    def test_not_a_number_gives_none(self):
        assert normalize_phone("' OR 1=1 --") is None


class TestNames:
    def test_case_punctuation_accents_and_order_fold(self):
        assert name_key("Smith, J\N{LATIN SMALL LETTER O WITH ACUTE}hn") == "john smith"

    def test_no_name_is_empty(self):
        assert name_key(None) == ""


class TestRegistrableDomain:
    @pytest.mark.parametrize(
        ("domain", "registrable"),
        [
            ("mail.mailinator.com", "mailinator.com"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("Example.COM.", "example.com"),
            ("localhost", "localhost"),
        ],
    )
    def test_public_suffix_list(self, domain, registrable):
        assert registrable_domain(domain) == registrable

    def test_extractor_is_configured_never_to_download_or_cache(self):
        extractor = build_extractor()
        assert extractor.suffix_list_urls == ()
        assert extractor.fallback_to_snapshot
        assert not extractor._cache.enabled

    def test_extractor_answers_with_the_network_unplugged(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise AssertionError("tldextract tried to open a socket")

        monkeypatch.setattr(socket, "socket", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
        monkeypatch.setattr(socket, "getaddrinfo", refuse)
        extractor = build_extractor()
        assert extractor("shop.example.co.uk").suffix == "co.uk"

    def test_one_extractor_serves_the_process(self):
        assert normalize._extractor() is normalize._extractor()
