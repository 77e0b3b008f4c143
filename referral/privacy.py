"""Keyed hashes for identifiers that fraud checks compare but nobody needs to read back.

IPs, user agents, postal addresses and payment fingerprints are stored only as HMAC-SHA256
under a secret pepper. A plain hash would not protect them: there are only 2**32 IPv4
addresses, and hashing them all takes minutes. With the pepper kept out of the database, a
leaked table shows which rows share a value and nothing more.
"""

from __future__ import annotations

import hmac
import unicodedata


def hash_identifier(value: str | None, pepper: bytes) -> str | None:
    """Return the hex HMAC-SHA256 of the trimmed, lowercased value; None for no value."""
    _check_pepper(pepper)
    if value is None:
        return None
    key = value.strip().lower()
    if not key:
        return None
    return _hmac(key, pepper)


def address_fingerprint(
    line1: str | None,
    postcode: str | None,
    country: str | None,
    pepper: bytes,
) -> str | None:
    """Return a keyed hash that matches the same postal address however it was typed.

    "12 Main St." and "12  main st" match: case, accents, punctuation and runs of whitespace
    are ignored, and the postcode also ignores spaces ("SW1A 1AA" = "sw1a1aa"). None when there
    is no street line, since a postcode alone would match a whole neighbourhood.
    """
    _check_pepper(pepper)
    street = _fold(line1)
    if not street:
        return None
    code = _fold(postcode).replace(" ", "")
    # _fold drops control characters, so the unit separator can never appear inside a part.
    return _hmac("\x1f".join((street, code, _fold(country))), pepper)


def _hmac(key: str, pepper: bytes) -> str:
    return hmac.digest(pepper, key.encode("utf-8"), "sha256").hex()


def _check_pepper(pepper: bytes) -> None:
    # An empty key would quietly turn the HMAC into a hash anyone can recompute.
    if not pepper:
        raise ValueError("pepper must not be empty")


# ASCII punctuation (Unicode category P), the same set the general path below drops.
_ASCII_PUNCTUATION = str.maketrans(
    "", "", "".join(chr(c) for c in range(32, 127) if unicodedata.category(chr(c)).startswith("P"))
)


def _fold(text: str | None) -> str:
    if not text:
        return ""
    if text.isascii() and text.isprintable():
        # The loader folds a million addresses at a time; plain ASCII needs no Unicode pass.
        return " ".join(text.lower().translate(_ASCII_PUNCTUATION).split())
    # Whitespace first: tabs and newlines are control characters, which the filter below drops.
    spaced = " ".join(unicodedata.normalize("NFKD", text.casefold()).split())
    kept = "".join(
        char
        for char in spaced
        if not unicodedata.combining(char) and not unicodedata.category(char).startswith(("P", "C"))
    )
    return " ".join(kept.split())
