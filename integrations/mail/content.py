"""The parts of an email every sender builds the same way.

- The HTML part gets its CSS inlined (`css-inline`): Gmail's apps, Outlook and others drop
  `<style>` blocks or parts of them, so the rules go into `style` attributes. `@media` rules
  stay in a `<style>` block, where they are the only way to be responsive. Stylesheets named
  by `<link>` are never loaded, from the network or from files: a send must not depend on,
  or reveal itself to, another server.
- A plain-text part is always there: written by the template, or made from the HTML when
  the message has none (links keep their URL, so the unsubscribe link survives).
- Extra headers are checked once here: header names as RFC 5322 allows them, no line
  breaks in values (header injection), and none of the headers the sender itself sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Final

import css_inline

from integrations.senders import OutboundMessage, PermanentSendError

# Set by each sender from the message itself; a template header may not replace them.
RESERVED_HEADERS: Final = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Reply-To",
        "Sender",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Return-Path",
        "Received",
        "DKIM-Signature",
    )
)
_HEADER_NAME: Final = re.compile(r"[!-9;-~]{1,76}")  # printable ASCII without ':' (RFC 5322)
_ADDRESS: Final = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+")

_SKIPPED: Final = frozenset({"head", "style", "script", "title", "template", "noscript"})
_PARAGRAPH: Final = frozenset(
    {
        "p",
        "div",
        "table",
        "ul",
        "ol",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "hr",
    }
)
_LINE: Final = frozenset({"br", "tr", "li", "dt", "dd"})


@dataclass(frozen=True, slots=True)
class EmailParts:
    text: str
    html: str | None


def email_parts(message: OutboundMessage) -> EmailParts:
    """The text and HTML parts to send; PermanentSendError when there is no body at all."""
    html = message.html if message.html and message.html.strip() else None
    text = message.text if message.text.strip() else ""
    if not text and html is not None:
        text = html_to_text(html)
    if not text.strip() and html is None:
        raise PermanentSendError("email without a body")
    return EmailParts(text=text, html=inline_css(html) if html is not None else None)


def inline_css(html: str) -> str:
    """`html` with the rules of its `<style>` blocks moved into `style` attributes."""
    try:
        return css_inline.inline(html, keep_at_rules=True, load_remote_stylesheets=False)
    except css_inline.InlineError:
        # The message says which rule failed and may quote the document: not passed on.
        raise PermanentSendError("the HTML part's CSS cannot be inlined") from None


def html_to_text(html: str) -> str:
    """A readable plain-text rendering: paragraphs, line breaks, list items, and links
    written as `text (url)`. Not a layout engine; good enough for a text/plain alternative."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.text()


def email_headers(message: OutboundMessage) -> dict[str, str]:
    """The message's extra headers, checked; PermanentSendError names the header at fault."""
    checked: dict[str, str] = {}
    for name, value in message.headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise PermanentSendError("a header name is not usable")
        if name.lower() in RESERVED_HEADERS:
            raise PermanentSendError(f"header {name} is set by the sender, not the message")
        if "\r" in value or "\n" in value or "\0" in value:
            raise PermanentSendError(f"header {name} has a line break in its value")
        checked[name] = value
    return checked


def recipient(message: OutboundMessage) -> str:
    """The recipient's bare address; PermanentSendError (naming no address) if it is not one."""
    address = message.to.strip()
    if not _ADDRESS.fullmatch(address) or len(address) > 254:
        raise PermanentSendError("the recipient is not an email address")
    return address


def subject(message: OutboundMessage) -> str:
    if message.subject is None:
        return ""
    if "\r" in message.subject or "\n" in message.subject:
        raise PermanentSendError("the subject has a line break")
    return message.subject


def sender_address(from_address: str) -> tuple[str, str]:
    """(display name, address) of a configured `From` such as `Team <team@example.com>`;
    ValueError when it holds no address (a configuration mistake, found at start-up)."""
    name, address = parseaddr(from_address)
    if not _ADDRESS.fullmatch(address):
        raise ValueError("the from address is not an email address")
    return name, address


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._skipping = 0
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        if self._skipping:
            return
        if tag in _PARAGRAPH:
            self._chunks.append("\n\n")
        elif tag in _LINE:
            self._chunks.append("\n")
        if tag == "li":
            self._chunks.append("- ")
        elif tag == "hr":
            self._chunks.append("----\n\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._chunks.append(alt)
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self._chunks)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
            return
        if self._skipping:
            return
        if tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self._chunks[start:]).strip()
            if href and re.match(r"(?i)(https?:|mailto:)", href):
                target = href[7:] if href.lower().startswith("mailto:") else href
                if target != label:
                    self._chunks.append(f" ({target})" if label else target)
        if tag in _PARAGRAPH:
            self._chunks.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._chunks.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self._chunks).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
