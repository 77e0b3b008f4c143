import random
from collections import Counter
from itertools import pairwise, takewhile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.codes import (
    ALPHABET,
    DEFAULT_LENGTH,
    RESERVED_CODES,
    InvalidCode,
    new_code,
    new_codes,
    normalize_code,
    validate_vanity,
)


class ScriptedBytes(random.Random):
    """An rng whose randbytes hands out a fixed byte string, to inspect the byte mapping."""

    def __init__(self, data: bytes) -> None:
        super().__init__(0)
        self._data = data

    def randbytes(self, n: int) -> bytes:
        chunk, self._data = self._data[:n], self._data[n:]
        return chunk


def shared_prefix(a: str, b: str) -> int:
    return sum(1 for _ in takewhile(lambda pair: pair[0] == pair[1], zip(a, b, strict=False)))


def test_alphabet_leaves_out_characters_people_confuse():
    assert not set("0O1IL") & set(ALPHABET)


def test_alphabet_is_31_distinct_digits_and_uppercase_letters():
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert all(char.isdigit() or char.isupper() for char in ALPHABET)


def test_a_code_has_the_default_length_and_only_alphabet_symbols():
    code = new_code()
    assert len(code) == DEFAULT_LENGTH == 8
    assert set(code) <= set(ALPHABET)


@given(st.integers(min_value=1, max_value=64))
def test_a_code_has_the_length_asked_for(length):
    assert len(new_code(length)) == length


@pytest.mark.parametrize("length", [0, -1])
def test_a_code_must_have_at_least_one_symbol(length):
    with pytest.raises(ValueError, match="at least 1"):
        new_code(length)


def test_100k_codes_are_distinct_and_use_only_the_alphabet():
    codes = new_codes(100_000)
    assert len(codes) == len(set(codes)) == 100_000
    assert set("".join(codes)) <= set(ALPHABET)
    assert {len(code) for code in codes} == {DEFAULT_LENGTH}


def test_new_codes_stay_distinct_when_the_space_is_nearly_full():
    # 31**2 = 961 two-symbol codes exist; asking for 900 forces many redraws.
    codes = new_codes(900, length=2, rng=random.Random(7))
    assert len(set(codes)) == 900


def test_asking_for_more_codes_than_exist_is_refused_instead_of_looping():
    with pytest.raises(ValueError, match="exist"):
        new_codes(962, length=2)


def test_zero_codes_is_an_empty_list():
    assert new_codes(0) == []


def test_consecutive_codes_share_no_long_prefix():
    # A counter would give neighbours sharing 7 of 8 symbols; random codes share 5 or more
    # with probability 31**-5 per pair, about 3e-5 over these 999 pairs.
    codes = new_codes(1_000)
    longest = max(shared_prefix(a, b) for a, b in pairwise(codes))
    assert longest < 5


def test_symbols_are_uniform_by_a_chi_square_test():
    symbols = "".join(new_codes(25_000))  # 200,000 symbols
    expected = len(symbols) / len(ALPHABET)
    counts = Counter(symbols)
    chi_square = sum((counts[s] - expected) ** 2 / expected for s in ALPHABET)
    # 30 degrees of freedom. Wilson-Hilferty: x = k * (1 - 2/(9k) + z * sqrt(2/(9k)))**3 with
    # k = 30 and z = 4.753 (upper tail 1e-6) gives 82.6, so a fair generator fails this about
    # once in a million runs while a modulo-biased one (first 8 symbols 1/8 more likely) lands
    # near 560 and fails every time.
    assert chi_square < 82.6


def test_each_accepted_byte_value_maps_to_a_symbol_exactly_as_often_as_any_other():
    # Feed every byte value once: 248 = 8 * 31 are kept, 8 symbols each; 248..255 are dropped.
    rng = ScriptedBytes(bytes(range(256)) + bytes(64))
    symbols = new_code(248, rng=rng)
    assert Counter(symbols) == dict.fromkeys(ALPHABET, 8)


def test_a_seeded_rng_gives_the_same_codes_every_time():
    assert new_codes(50, rng=random.Random(42)) == new_codes(50, rng=random.Random(42))
    assert new_code(rng=random.Random(42)) == new_code(rng=random.Random(42))


def test_different_seeds_give_different_codes():
    assert new_codes(5, rng=random.Random(1)) != new_codes(5, rng=random.Random(2))


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("abcd-efgh", "ABCDEFGH"),
        ("  ABCD EFGH\n", "ABCDEFGH"),
        ("ab\tcd-ef gh", "ABCDEFGH"),
        ("ABCD\u2013EFGH", "ABCDEFGH"),  # en dash pasted from an email
        ("abcd_efgh", "ABCD_EFGH"),
    ],
)
def test_normalize_code_drops_whitespace_and_dashes_and_uppercases(typed, canonical):
    assert normalize_code(typed) == canonical


@given(st.text())
def test_normalize_code_is_idempotent(text):
    once = normalize_code(text)
    assert normalize_code(once) == once


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=16))
def test_a_generated_code_survives_normalization_of_its_grouped_lowercase_form(code):
    typed = "-".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()
    assert normalize_code(typed) == code


@pytest.mark.parametrize(
    ("chosen", "canonical"),
    [
        ("SARAH10", "SARAH10"),
        ("sarah10", "SARAH10"),
        ("  summer-sale ", "SUMMER-SALE"),
        ("team_blue", "TEAM_BLUE"),
        ("ABCD", "ABCD"),
        ("A" * 32, "A" * 32),
        ("TESTER", "TESTER"),
    ],
)
def test_vanity_codes_are_accepted_in_canonical_form(chosen, canonical):
    assert validate_vanity(chosen) == canonical


@pytest.mark.parametrize(
    ("chosen", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ABC", "too short"),
        ("A" * 33, "too long"),
        ("summer sale", "' '"),
        ("50%OFF", "'%'"),
        ("CAFÉ", "'É'"),
        ("-SALE", "start and end"),
        ("SALE_", "start and end"),
        ("admin", "reserved"),
        ("Test", "reserved"),
        ("NULL", "reserved"),
        ("STATIC", "reserved"),
        ("AD-MIN", "reserved"),
    ],
)
def test_vanity_codes_are_refused_with_a_message_naming_the_problem(chosen, problem):
    with pytest.raises(InvalidCode, match=problem):
        validate_vanity(chosen)


def test_invalid_code_is_a_value_error():
    assert issubclass(InvalidCode, ValueError)


def test_reserved_words_include_the_basics():
    assert {"ADMIN", "TEST", "NULL", "API", "STATIC"} <= RESERVED_CODES


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{2,30}[A-Za-z0-9]", fullmatch=True))
def test_any_well_formed_vanity_code_that_is_not_reserved_is_accepted(chosen):
    canonical = chosen.upper()
    if canonical.replace("-", "").replace("_", "") in RESERVED_CODES:
        return
    assert validate_vanity(chosen) == canonical
