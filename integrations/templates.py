"""Message templates: Jinja2 in a sandbox, strict about missing values, capped in size and time.

Files live in one directory (config/templates by default), named
`{template}.email.subject.txt`, `{template}.email.txt`, `{template}.email.html`,
`{template}.sms.txt` and `{template}.whatsapp.txt`. Only `.html` files are autoescaped: a
name like "Tom & Jerry" must reach a text message as it is, and an HTML one as `&amp;`.

Limits, and how far they reach:

- Output: rendering streams, and stops with TemplateError as soon as the output passes
  MAX_OUTPUT_BYTES (100 kB of UTF-8). `*` on strings and lists is checked before it runs.
- Time: MAX_RENDER_SECONDS (1 s) is checked between output chunks, on every call the
  template makes (functions, methods, range()) and on `*` and `**`. Python cannot interrupt a
  running thread, so a stretch with no output, no call and no such operator runs to its end
  before the clock is read. The sandbox caps range() at 100,000 items and integer powers are
  limited here, which keeps such stretches short, but this is a check after the fact, not a hard
  timeout. The files are written by operators; what customers type reaches a template only
  as a value in its context.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    select_autoescape,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment, SecurityError

DEFAULT_DIRECTORY: Final = Path(__file__).resolve().parents[1] / "config" / "templates"
MAX_OUTPUT_BYTES: Final = 100_000
MAX_RENDER_SECONDS: Final = 1.0
# Integer powers whose result would exceed this many bits: 10 ** 10 ** 10 takes hours.
MAX_POWER_BITS: Final = 4096
MESSAGE_CHANNELS: Final = ("email", "sms", "whatsapp")

_UNDEFINED_NAME = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)' is undefined$")
_MISSING_ATTRIBUTE = re.compile(r"has no attribute '([A-Za-z_][A-Za-z0-9_]*)'$")
_deadline: ContextVar[float | None] = ContextVar("template_deadline", default=None)


class TemplateError(Exception):
    """A template could not be rendered. The message names the template and what went wrong
    (an undefined variable's name, a limit) but never a value from the context."""


class TemplateMissing(TemplateError):
    def __init__(self, name: str) -> None:
        super().__init__(f"template {name} does not exist")
        self.name = name


class _LimitExceeded(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str | None
    text: str
    html: str | None


class _CappedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox (which also keeps templates from changing the lists and dicts they are
    given), plus a look at the clock and at sizes wherever the template calls out."""

    intercepted_binops = frozenset({"*", "**"})

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_deadline()
        return SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_deadline()
        integers = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and integers and abs(left).bit_length() * right > MAX_POWER_BITS:
            raise _LimitExceeded(f"a power larger than {MAX_POWER_BITS} bits")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                repeats = isinstance(sequence, str | list | tuple) and isinstance(count, int)
                if repeats and len(sequence) * count > MAX_OUTPUT_BYTES:
                    raise _LimitExceeded(f"a repeated value larger than {MAX_OUTPUT_BYTES}")
        return super().call_binop(context, operator, left, right)


def _check_deadline() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise _LimitExceeded(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")


class Renderer:
    """Renders the template files of one directory; build one per batch and reuse it, since
    it compiles each file once."""

    def __init__(self, directory: Path | str = DEFAULT_DIRECTORY) -> None:
        self.directory = Path(directory)
        self._env = _CappedEnvironment(
            loader=FileSystemLoader(self.directory),
            undefined=StrictUndefined,
            autoescape=select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            template = self._env.get_template(name)
        except TemplateNotFound:
            raise TemplateMissing(name) from None
        except TemplateSyntaxError as exc:
            raise TemplateError(f"template {name}: syntax error on line {exc.lineno}") from None
        token = _deadline.set(time.monotonic() + MAX_RENDER_SECONDS)
        try:
            return self._stream(template.generate(dict(context)))
        except TemplateNotFound as exc:  # an {% include %} of a file that is not there
            raise TemplateMissing(str(exc.name)) from None
        except UndefinedError as exc:
            raise TemplateError(f"template {name}: {_undefined(exc)} is undefined") from None
        except SecurityError:
            raise TemplateError(f"template {name}: refused by the sandbox") from None
        except _LimitExceeded as exc:
            raise TemplateError(f"template {name}: {exc}") from None
        except Exception as exc:
            # The exception's text may quote context values (an address, a name): type only.
            raise TemplateError(f"template {name}: {type(exc).__name__}") from None
        finally:
            _deadline.reset(token)

    def render_message(
        self, template: str, channel: str, context: Mapping[str, Any]
    ) -> RenderedMessage:
        """The subject, text and HTML of one message; email has all three, SMS and WhatsApp
        text only."""
        if channel not in MESSAGE_CHANNELS:
            raise TemplateError(f"template {template}: no message templates for {channel!r}")
        if channel != "email":
            return RenderedMessage(None, self.render(f"{template}.{channel}.txt", context), None)
        subject = self.render(f"{template}.email.subject.txt", context)
        return RenderedMessage(
            # One line whatever the file holds: a newline in a Subject header would let the
            # rest of the value become headers of its own.
            subject=" ".join(subject.split()),
            text=self.render(f"{template}.email.txt", context),
            html=self.render(f"{template}.email.html", context),
        )

    @staticmethod
    def _stream(chunks: Any) -> str:
        parts: list[str] = []
        size = 0
        for chunk in chunks:
            size += len(chunk.encode())
            if size > MAX_OUTPUT_BYTES:
                raise _LimitExceeded(f"output larger than {MAX_OUTPUT_BYTES} bytes")
            _check_deadline()
            parts.append(chunk)
        return "".join(parts)


def _undefined(exc: UndefinedError) -> str:
    """The undefined variable's or attribute's name: Jinja's message can quote a subscript
    key, which may be a value, so only plain identifiers are passed on."""
    message = str(exc.message or "")
    for pattern in (_UNDEFINED_NAME, _MISSING_ATTRIBUTE):
        match = pattern.search(message)
        if match:
            return repr(match.group(1))
    return "a value"
