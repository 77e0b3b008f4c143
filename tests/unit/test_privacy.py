import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.privacy import address_fingerprint, hash_identifier

PEPPER = b"test-pepper-not-for-production"


def test_hash_is_hex_hmac_sha256_of_the_trimmed_lowercased_value():
    expected = hmac.new(PEPPER, b"mozilla/5.0 (x11)", hashlib.sha256).hexdigest()
    assert hash_identifier("  Mozilla/5.0 (X11)\n", PEPPER) == expected
    assert len(expected) == 64


def test_case_and_surrounding_whitespace_do_not_change_the_hash():
    assert hash_identifier("2001:DB8::1", PEPPER) == hash_identifier(" 2001:db8::1 ", PEPPER)


def test_different_values_hash_differently():
    assert hash_identifier("192.0.2.1", PEPPER) != hash_identifier("192.0.2.2", PEPPER)


def test_the_hash_depends_on_the_pepper_so_it_cannot_be_recomputed_without_it():
    assert hash_identifier("192.0.2.1", PEPPER) != hash_identifier("192.0.2.1", b"other")
    assert hash_identifier("192.0.2.1", PEPPER) != hashlib.sha256(b"192.0.2.1").hexdigest()


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
def test_no_value_hashes_to_none(value):
    assert hash_identifier(value, PEPPER) is None


def test_an_empty_pepper_is_refused():
    with pytest.raises(ValueError, match="pepper"):
        hash_identifier("192.0.2.1", b"")
    with pytest.raises(ValueError, match="pepper"):
        address_fingerprint("12 Main St", "12345", "US", b"")


@given(st.text())
def test_any_value_hashes_to_64_hex_characters_or_none(value):
    digest = hash_identifier(value, PEPPER)
    assert digest is None or (len(digest) == 64 and set(digest) <= set("0123456789abcdef"))


@pytest.mark.parametrize(
    ("line1", "postcode", "country"),
    [
        ("12 main st", "12345", "us"),
        ("12 Main St.", "12345", "US"),
        ("  12   MAIN  ST ", " 12345 ", "US"),
        ("12\tMain\nSt", "12345", "US"),
        ("12, Main St.", "12345", "us"),
    ],
)
def test_the_same_address_typed_differently_gives_the_same_fingerprint(line1, postcode, country):
    assert address_fingerprint(line1, postcode, country, PEPPER) == address_fingerprint(
        "12 main st", "12345", "US", PEPPER
    )


def test_postcode_spacing_and_case_do_not_matter():
    assert address_fingerprint("10 Downing St", "SW1A 2AA", "GB", PEPPER) == address_fingerprint(
        "10 Downing St", "sw1a2aa", "gb", PEPPER
    )


def test_accents_do_not_matter():
    assert address_fingerprint("3 Rue de l'Église", "75001", "FR", PEPPER) == address_fingerprint(
        "3 RUE DE L'EGLISE", "75001", "FR", PEPPER
    )


@pytest.mark.parametrize(
    ("line1", "postcode", "country"),
    [
        ("14 Main St", "12345", "US"),
        ("12 Main St", "12346", "US"),
        ("12 Main St", "12345", "CA"),
    ],
)
def test_a_different_street_postcode_or_country_gives_a_different_fingerprint(
    line1, postcode, country
):
    assert address_fingerprint(line1, postcode, country, PEPPER) != address_fingerprint(
        "12 Main St", "12345", "US", PEPPER
    )


def test_parts_cannot_run_into_each_other():
    assert address_fingerprint("12 Main St", "1", "US", PEPPER) != address_fingerprint(
        "12 Main St 1", "", "US", PEPPER
    )


@pytest.mark.parametrize("line1", [None, "", "  ", "..."])
def test_no_street_line_gives_no_fingerprint_since_a_postcode_alone_is_a_neighbourhood(line1):
    assert address_fingerprint(line1, "12345", "US", PEPPER) is None


def test_missing_postcode_and_country_still_fingerprint_the_street():
    assert address_fingerprint("12 Main St", None, None, PEPPER) is not None


def _general_fold(text: str) -> str:
    import unicodedata

    spaced = " ".join(unicodedata.normalize("NFKD", text.casefold()).split())
    kept = "".join(
        c
        for c in spaced
        if not unicodedata.combining(c) and not unicodedata.category(c).startswith(("P", "C"))
    )
    return " ".join(kept.split())


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
def test_the_ascii_fast_path_folds_exactly_like_the_general_one(text):
    from referral.privacy import _fold

    assert _fold(text) == _general_fold(text)
