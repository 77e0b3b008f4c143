"""Matching keys for emails, phones, names and domains, computed once per customer.

The exact email key is `referral.contacts.normalize_email` (the CRM loader already stores it),
so a fraud check and the customers table can never disagree about it. This module adds the
looser keys the fraud rules compare: the +tag-free similarity key, the confusable skeleton,
the registrable domain.

tldextract is only ever asked about the public suffix list snapshot bundled with it: no
download, no disk cache, so a fraud check behaves the same offline and in tests.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING, Final, NamedTuple

from rapidfuzz import utils as fuzz_utils

from referral.contacts import email_domain, normalize_email, normalize_phone

if TYPE_CHECKING:
    import tldextract

__all__ = [
    "EmailKeys",
    "confusable_scripts",
    "email_domain",
    "email_keys",
    "email_skeleton",
    "has_confusables",
    "name_key",
    "normalize_email",
    "normalize_phone",
    "registrable_domain",
    "similarity_key",
]

GMAIL: Final = "gmail.com"


# Characters from other scripts that render like a Latin letter or digit, after lowercasing.
# A short list of the ones seen in practice (Unicode's confusables.txt has thousands); NFKC
# already folds fullwidth and mathematical forms before this table is consulted.
def _script_of(ch: str) -> str:
    return unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]


_LOOKALIKES: Final[dict[str, str]] = {
    # Cyrillic
    "\N{CYRILLIC SMALL LETTER A}": "a",
    "\N{CYRILLIC SMALL LETTER ES}": "c",
    "\N{CYRILLIC SMALL LETTER KOMI DE}": "d",
    "\N{CYRILLIC SMALL LETTER IE}": "e",
    "\N{CYRILLIC SMALL LETTER IO}": "e",
    "\N{CYRILLIC SMALL LETTER SHHA}": "h",
    "\N{CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I}": "i",
    "\N{CYRILLIC SMALL LETTER YI}": "i",
    "\N{CYRILLIC SMALL LETTER JE}": "j",
    "\N{CYRILLIC SMALL LETTER KA}": "k",
    "\N{CYRILLIC SMALL LETTER PALOCHKA}": "l",
    "\N{CYRILLIC SMALL LETTER O}": "o",
    "\N{CYRILLIC SMALL LETTER ER}": "p",
    "\N{CYRILLIC SMALL LETTER QA}": "q",
    "\N{CYRILLIC SMALL LETTER DZE}": "s",
    "\N{CYRILLIC SMALL LETTER U}": "y",
    "\N{CYRILLIC SMALL LETTER WE}": "w",
    "\N{CYRILLIC SMALL LETTER HA}": "x",
    # Greek
    "\N{GREEK SMALL LETTER ALPHA}": "a",
    "\N{GREEK LUNATE SIGMA SYMBOL}": "c",
    "\N{GREEK SMALL LETTER IOTA}": "i",
    "\N{GREEK LETTER YOT}": "j",
    "\N{GREEK SMALL LETTER KAPPA}": "k",
    "\N{GREEK SMALL LETTER NU}": "v",
    "\N{GREEK SMALL LETTER OMICRON}": "o",
    "\N{GREEK SMALL LETTER RHO}": "p",
    "\N{GREEK SMALL LETTER UPSILON}": "u",
    "\N{GREEK SMALL LETTER CHI}": "x",
    "\N{GREEK SMALL LETTER GAMMA}": "y",
    "\N{GREEK SMALL LETTER OMEGA}": "w",
    # Armenian
    "\N{ARMENIAN SMALL LETTER OH}": "o",
    "\N{ARMENIAN SMALL LETTER VO}": "n",
    "\N{ARMENIAN SMALL LETTER SEH}": "u",
    "\N{ARMENIAN SMALL LETTER HO}": "h",
    "\N{ARMENIAN SMALL LETTER CO}": "g",
    # Latin letters that are not ASCII but pass for it
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "\N{LATIN SMALL LETTER DOTLESS J}": "j",
    "\N{LATIN SMALL LETTER SCRIPT G}": "g",
    "\N{LATIN SMALL LETTER ALPHA}": "a",
    "\N{LATIN LETTER DENTAL CLICK}": "l",
}
_SKELETON: Final = str.maketrans(_LOOKALIKES)
# Only letters of another script mark an address as disguised: a Turkish dotless i is
# ordinary spelling, even though the skeleton folds it.
_FOREIGN: Final = frozenset(ch for ch in _LOOKALIKES if not _script_of(ch).startswith("LATIN"))


class EmailKeys(NamedTuple):
    """Every key the rules compare for one address; build with `email_keys`.

    `normalized` is the exact key (Gmail aliases folded), `similarity` drops a +tag on every
    domain, `skeleton` maps look-alike characters to the Latin ones they imitate, and
    `confusable` says whether the address mixes look-alikes into Latin text.
    """

    normalized: str
    similarity: str
    skeleton: str
    domain: str
    registrable_domain: str
    confusable: bool


# Advocates come back batch after batch: their keys are computed once per process.
@functools.lru_cache(maxsize=131_072)
def email_keys(normalized: str) -> EmailKeys | None:
    """Keys for an address already passed through `normalize_email`; None for "" (no address).

    Cheap for plain ASCII addresses, which are nearly all of them: the skeleton work only
    starts when an address has non-ASCII characters or a punycode label.
    """
    if not normalized:
        return None
    domain = email_domain(normalized)
    return EmailKeys(
        normalized=normalized,
        similarity=similarity_key(normalized),
        skeleton=email_skeleton(normalized),
        domain=domain,
        registrable_domain=registrable_domain(domain),
        confusable=has_confusables(normalized),
    )


def similarity_key(normalized: str) -> str:
    """The address without its +tag: jane+shop@example.com -> jane@example.com.

    For Gmail this is the normalized address itself. Elsewhere a +tag may be a separate
    mailbox, so two addresses sharing this key are only similar, never the same.
    """
    local, at, domain = normalized.rpartition("@")
    if not at or "+" not in local:
        return normalized
    return f"{local.partition('+')[0]}@{domain}"


def email_skeleton(normalized: str) -> str:
    """What the address looks like on screen: look-alike characters replaced by Latin ones.

    Two different addresses with one skeleton are visual impostors of each other. The result
    is normalized again, so a fake Gmail spelled with a Cyrillic i folds dots like Gmail.
    """
    if _plain(normalized):
        return normalized
    local, _, domain = normalized.rpartition("@")
    looks_like = f"{_skeleton(local)}@{'.'.join(_skeleton(label) for label in _labels(domain))}"
    return normalize_email(looks_like) or normalized


def has_confusables(normalized: str) -> bool:
    """Whether any part of the address hides look-alike characters among Latin ones
    ("paypal" with a Cyrillic a), or is spelled entirely in look-alikes (Cyrillic "pay").
    An address written wholly in another script with letters that look nothing like Latin
    (Cyrillic "ivan") is not flagged."""
    return bool(confusable_scripts(normalized))


def confusable_scripts(normalized: str) -> frozenset[str]:
    """The scripts of the look-alike characters `has_confusables` found ("CYRILLIC",
    "GREEK", ...); empty when there are none. For evidence: names scripts, not characters."""
    if _plain(normalized):
        return frozenset()
    local, _, domain = normalized.rpartition("@")
    scripts: set[str] = set()
    for part in (local, *_labels(domain)):
        text = unicodedata.normalize("NFKC", part)
        lookalikes = [ch for ch in text if ch in _FOREIGN]
        if not lookalikes:
            continue
        letters = [ch for ch in text if ch.isalpha()]
        mixed = any(ch.isascii() for ch in letters)
        whole = all(ch in _FOREIGN or ch.isascii() for ch in letters)
        if mixed or whole:
            scripts.update(_script_of(ch) for ch in lookalikes)
    return frozenset(scripts)


def registrable_domain(domain: str) -> str:
    """The domain a registrant controls: mail.mailinator.co.uk -> mailinator.co.uk.

    Punycode in, punycode out. A name with no known public suffix (localhost, an IP) comes
    back unchanged.
    """
    return _registrable(domain.strip().rstrip(".").lower())


@functools.lru_cache(maxsize=131_072)
def name_key(name: str | None) -> str:
    """A person's name prepared for fuzzy comparison: lowercase, punctuation and accents
    folded, words sorted ("Smith, Jóhn" -> "john smith")."""
    if not name:
        return ""
    bare = name
    if not name.isascii():
        decomposed = unicodedata.normalize("NFKD", name)
        bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(sorted(fuzz_utils.default_process(bare).split()))


@functools.lru_cache(maxsize=65536)
def _registrable(domain: str) -> str:
    # Cached: a batch has far fewer distinct domains than addresses, and a miss costs a few
    # microseconds inside tldextract.
    parts = _extractor()(domain)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return domain


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    return build_extractor()


def build_extractor() -> tldextract.TLDExtract:
    """A tldextract extractor that uses only its bundled suffix list: no URLs to fetch and no
    cache directory, so it neither reaches the network nor writes to disk."""
    # Imported here: reading the suffix snapshot costs ~30 ms, paid only when first needed.
    import tldextract

    return tldextract.TLDExtract(
        suffix_list_urls=(),
        cache_dir=None,
        fallback_to_snapshot=True,
        include_psl_private_domains=False,
    )


def _plain(normalized: str) -> bool:
    return normalized.isascii() and "xn--" not in normalized


def _labels(domain: str) -> list[str]:
    return [_from_punycode(label) for label in domain.split(".")]


def _from_punycode(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label


def _skeleton(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().translate(_SKELETON)
