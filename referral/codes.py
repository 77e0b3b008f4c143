"""Personal referral codes: random ones for advocates, vanity ones chosen by people.

Codes are drawn at random rather than counted up so that knowing one code tells nothing about
the next: sequential codes invite people to walk the space and claim other advocates' rewards.

The alphabet leaves out 0, O, 1, I and L because people read codes off posters, receipts and
phone screens and type them back; those five are the ones they confuse.

Uniqueness is not this module's job. The database holds UNIQUE(code) and the caller retries
with fresh codes when an insert collides. That is cheap because collisions are rare: with
31**8 (about 8.5e11) possible codes, ten million issued codes make a fresh code collide with
probability about 1e7 / 8.5e11, roughly 1 in 85,000.
"""

from __future__ import annotations

import math
import re
import secrets
from random import Random
from typing import Final

ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DEFAULT_LENGTH: Final = 8

VANITY_MIN_LENGTH: Final = 4
VANITY_MAX_LENGTH: Final = 32

# Words that would read as part of the product or of a URL rather than as someone's code.
RESERVED_CODES: Final = frozenset(
    {
        "ADMIN",
        "API",
        "DEBUG",
        "HELP",
        "LOGIN",
        "LOGOUT",
        "NONE",
        "NULL",
        "REFERRAL",
        "ROOT",
        "STATIC",
        "SUPPORT",
        "SYSTEM",
        "TEST",
        "UNDEFINED",
    }
)

_BASE: Final = len(ALPHABET)
# Mapping a byte with `% 31` would favour the first 256 % 31 = 8 symbols. Bytes at or above
# the largest multiple of 31 are thrown away instead, so every kept byte value maps to exactly
# one symbol and every symbol to exactly 248 / 31 = 8 byte values.
_ACCEPTED_BYTES: Final = _BASE * (256 // _BASE)
_BYTE_TO_SYMBOL: Final = bytes(ord(ALPHABET[b % _BASE]) for b in range(256))
_REJECTED_BYTES: Final = bytes(range(_ACCEPTED_BYTES, 256))

# Typographic dashes turn up when codes are copied out of emails and chat apps.
_TYPED_NOISE: Final = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2212"))
_VANITY_CHARS: Final = re.compile(r"[A-Z0-9_-]+", re.ASCII)
_VANITY_BAD_CHAR: Final = re.compile(r"[^A-Z0-9_-]", re.ASCII)


class InvalidCode(ValueError):
    """A vanity code that cannot be used; the message says why."""


def new_code(length: int = DEFAULT_LENGTH, rng: Random | None = None) -> str:
    """Return one random code of `length` symbols from ALPHABET.

    Without `rng` the operating system's CSPRNG is used; pass a seeded `random.Random` only in
    tests and benchmarks.
    """
    _check_length(length)
    return _symbols(length, rng)


def new_codes(count: int, length: int = DEFAULT_LENGTH, rng: Random | None = None) -> list[str]:
    """Return `count` distinct random codes, in the order they were drawn.

    Distinct within this batch only; codes already stored are the database's concern.
    """
    _check_length(length)
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    # Asking for more codes than exist would loop for ever; asking for close to that many would
    # loop for a very long time, which is the caller's choice to make.
    if count > _BASE**length:
        raise ValueError(f"only {_BASE}**{length} codes of length {length} exist, not {count}")
    codes: dict[str, None] = {}  # a dict keeps draw order, so a seeded rng gives the same list
    while len(codes) < count:
        missing = count - len(codes)
        symbols = _symbols(missing * length, rng)
        for start in range(0, len(symbols), length):
            codes[symbols[start : start + length]] = None
    return list(codes)


def normalize_code(text: str) -> str:
    """Turn what a person typed into the canonical form: no whitespace, no dashes, uppercase.

    Dashes are dropped because codes are often printed in groups ("ABCD-EFGH"). Generated codes
    never contain a dash; vanity codes may, so look those up by comparing normalized forms.
    """
    return "".join(text.split()).translate(_TYPED_NOISE).upper()


def validate_vanity(text: str) -> str:
    """Return the canonical form of a code chosen by a person, or raise InvalidCode.

    Canonical means surrounding whitespace stripped and uppercased; internal dashes and
    underscores stay, since "SUMMER-SALE" is what the person asked for.
    """
    code = text.strip().upper()
    if not code:
        raise InvalidCode("vanity code is empty")
    if not _VANITY_CHARS.fullmatch(code):
        bad = sorted(set(_VANITY_BAD_CHAR.findall(code)))
        shown = ", ".join(repr(char) for char in bad)
        raise InvalidCode(
            f"vanity code may only contain letters A-Z, digits, '-' and '_'; found {shown}"
        )
    if len(code) < VANITY_MIN_LENGTH:
        raise InvalidCode(
            f"vanity code is too short: {len(code)} characters, at least {VANITY_MIN_LENGTH}"
        )
    if len(code) > VANITY_MAX_LENGTH:
        raise InvalidCode(
            f"vanity code is too long: {len(code)} characters, at most {VANITY_MAX_LENGTH}"
        )
    if code[0] in "-_" or code[-1] in "-_":
        # A leading or trailing dash is invisible at the end of a printed URL and easy to lose.
        raise InvalidCode("vanity code must start and end with a letter or digit")
    if code in RESERVED_CODES or code.replace("-", "").replace("_", "") in RESERVED_CODES:
        raise InvalidCode(f"vanity code {code!r} is reserved")
    return code


def _check_length(length: int) -> None:
    if length < 1:
        raise ValueError(f"code length must be at least 1, got {length}")


def _symbols(count: int, rng: Random | None) -> str:
    """Return `count` symbols drawn uniformly from ALPHABET.

    Works on whole byte strings with bytes.translate, so a million symbols cost a few
    milliseconds instead of a million calls to secrets.choice.
    """
    draw = secrets.token_bytes if rng is None else rng.randbytes
    out = bytearray()
    while len(out) < count:
        missing = count - len(out)
        # Ask for enough bytes that one round almost always suffices despite the 3% rejected.
        raw = draw(math.ceil(missing * 256 / _ACCEPTED_BYTES) + 16)
        out += raw.translate(_BYTE_TO_SYMBOL, _REJECTED_BYTES)
    return out[:count].decode("ascii")
