"""How an OutboundMessage names a WhatsApp template: three headers.

WhatsApp lets a business start a conversation only with a template Meta approved, so a
WhatsApp message is a template name plus the values of its variables, not free text. The
relay states them in `OutboundMessage.headers`, the same way for every WhatsApp provider:

- `X-WhatsApp-Template`: the template's name as approved in WhatsApp Manager
  (`referral_invite`); through Twilio, a Content SID (`HX...`) instead.
- `X-WhatsApp-Params`: the body variables as JSON: a list for positional variables
  ({{1}}, {{2}}, ...), or an object for named ones ({{first_name}}). Optional when the
  template has none.
- `X-WhatsApp-Language`: the language code the template was approved in (`en`, `en_US`,
  `pt_BR`): optional, the sender's default otherwise. Meta matches it exactly: a template
  approved as `en_US` is not found as `en`.

`OutboundMessage.text` is then only the rendered preview kept with the outbox row.
`template_headers` builds the headers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Final

TEMPLATE_HEADER: Final = "X-WhatsApp-Template"
PARAMS_HEADER: Final = "X-WhatsApp-Params"
LANGUAGE_HEADER: Final = "X-WhatsApp-Language"

# Meta refuses variables with new lines, tabs or more than four spaces in a row (131009), and
# caps the whole body at 1,024 characters; a value is made one line rather than refused.
_BREAKS: Final = re.compile(r"[\r\n\t]+")
_SPACES: Final = re.compile(r" {4,}")
_NAME: Final = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE: Final = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
MAX_PARAM_CHARS: Final = 1024


class TemplateError(ValueError):
    """The headers do not name a usable template. Messages never quote the values."""


def template_headers(
    name: str, params: Sequence[str] | Mapping[str, str] = (), *, language: str | None = None
) -> dict[str, str]:
    """The headers naming template `name` with these variables."""
    values: list[str] | dict[str, str] = (
        dict(params) if isinstance(params, Mapping) else list(params)
    )
    headers = {TEMPLATE_HEADER: name, PARAMS_HEADER: json.dumps(values, ensure_ascii=False)}
    if language:
        headers[LANGUAGE_HEADER] = language
    return headers


def template_name(headers: Mapping[str, str]) -> str:
    name = headers.get(TEMPLATE_HEADER, "").strip()
    if not name:
        raise TemplateError(f"WhatsApp message without a {TEMPLATE_HEADER} header")
    if not _NAME.match(name):
        raise TemplateError("WhatsApp template names are lowercase letters, digits and _")
    return name


def template_language(headers: Mapping[str, str], default: str) -> str:
    language = headers.get(LANGUAGE_HEADER, "").strip() or default
    if not _LANGUAGE.match(language):
        raise TemplateError("WhatsApp template language is a code like en or en_US")
    return language


def template_params(headers: Mapping[str, str]) -> list[str] | dict[str, str]:
    """The variables: a list (positional) or a dict (named), each value made one line."""
    raw = headers.get(PARAMS_HEADER)
    if raw is None or not raw.strip():
        return []
    try:
        values = json.loads(raw)
    except ValueError:
        raise TemplateError(f"{PARAMS_HEADER} is not JSON") from None
    if isinstance(values, list):
        return [_one_line(value, f"variable {n}") for n, value in enumerate(values, start=1)]
    if isinstance(values, dict):
        named = {}
        for key, value in values.items():
            if not _NAME.match(key):
                raise TemplateError("WhatsApp variable names are lowercase letters, digits and _")
            named[key] = _one_line(value, f"variable {key}")
        return named
    raise TemplateError(f"{PARAMS_HEADER} must be a JSON list or object")


def _one_line(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TemplateError(f"template {what} is not text")
    text = _SPACES.sub(" ", _BREAKS.sub(" ", str(value))).strip()
    if not text:
        raise TemplateError(f"template {what} is empty")
    if len(text) > MAX_PARAM_CHARS:
        raise TemplateError(f"template {what} is over {MAX_PARAM_CHARS} characters")
    return text
