"""Normalizing email addresses and phone numbers so the same person matches themselves.

The CRM loader runs normalize_email and normalize_phone over every row (a million at a time),
so both stay on plain string operations for the common case. validate_email is the strict
check for addresses people type into a form, not for bulk loads.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers
from disposable_email_domains import blocklist as _DISPOSABLE
from email_validator import EmailNotValidError
from email_validator import validate_email as _validate_email

# Gmail ignores dots and anything after '+' in the local part, and googlemail.com is the same
# mailbox, so all of these spellings reach one person: a fraud check must see them as one.
_GMAIL_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})
_E164: Final = re.compile(r"\+[1-9][0-9]{7,14}")
# Details after these markers in email_validator's messages can quote parts of the address.
_REASON_DETAIL: Final = re.compile(r":| \(")


class InvalidContact(ValueError):
    """An email address or phone number that cannot be used. Messages never quote it."""


def normalize_email(raw: str) -> str:
    """Return the matching key for an address, or "" when it is not shaped like one.

    Lowercased and trimmed; for Gmail dots and +tags dropped and googlemail.com mapped to
    gmail.com; internationalized domains in punycode. Other providers keep dots and +tags
    because for them these can name different mailboxes.
    """
    address = raw.strip().lower()
    if address.count("@") != 1:
        return ""
    local, _, domain = address.partition("@")
    domain = domain.rstrip(".")
    if not local or not domain:
        return ""
    if not domain.isascii():
        domain = _to_punycode(domain)
    if domain in _GMAIL_DOMAINS:
        local = local.partition("+")[0].replace(".", "")
        if not local:
            return ""
        domain = "gmail.com"
    return f"{local}@{domain}"


def validate_email(raw: str) -> str:
    """Return the address in email_validator's normalized form, or raise InvalidContact.

    Syntax only: no DNS lookup, so this is pure and fast enough for a web request.
    """
    try:
        result = _validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        reason = _REASON_DETAIL.split(str(error), maxsplit=1)[0].rstrip(". ")
        # `from None`: the original exception's message may carry parts of the address, and a
        # chained traceback would put them in the logs.
        raise InvalidContact(reason or "invalid email address") from None
    return str(result.normalized)


def normalize_phone(raw: str | None, default_region: str = "US") -> str | None:
    """Return the number in E.164 ("+14155550123"), or None when it is not a valid number.

    `default_region` (ISO 3166 alpha-2) says how to read numbers written without a country
    code. Strings already in E.164 are returned as they are without parsing: most CRMs store
    that form, and parsing costs far more than the regular expression.
    """
    if not raw:
        return None
    text = raw.strip()
    if _E164.fullmatch(text):
        return text
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_domain(email: str) -> str:
    """Return the lowercased part after the last '@', or "" when there is none."""
    _, at, domain = email.rpartition("@")
    return domain.strip().rstrip(".").lower() if at else ""


def is_disposable_domain(domain: str, allowlist: frozenset[str] = frozenset()) -> bool:
    """Tell whether `domain` or any parent domain is a known throwaway mail provider.

    Parents count because providers hand out subdomains freely (mail.mailinator.com). An entry
    in `allowlist` (lowercase domains) for the domain or any parent wins over the blocklist.
    """
    labels = domain.strip().rstrip(".").lower().split(".")
    # Stop before the bare top-level domain: no blocklist entry is one, and an allowlisted
    # "com" would be a mistake rather than a policy.
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    if any(candidate in allowlist for candidate in candidates):
        return False
    return any(candidate in _DISPOSABLE for candidate in candidates)


def _to_punycode(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        # Not a valid IDN; the raw form still serves as a key and the caller can decide.
        return domain
