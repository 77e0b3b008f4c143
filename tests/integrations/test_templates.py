"""Templates render in a sandbox: HTML escaped and text not, missing values are errors that
name the variable (never a value), output and time are capped, and every shipped template
renders with the context referral/notifications.py documents."""

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from integrations.templates import (
    DEFAULT_DIRECTORY,
    MAX_OUTPUT_BYTES,
    Renderer,
    TemplateError,
    TemplateMissing,
)
from referral.notifications import (
    TEMPLATES,
    channel_link,
    invitation_payload,
    render_context,
)

CHANNELS = ("email", "sms", "whatsapp")
BASE = "https://refer.acme-shop.com"
UNSUBSCRIBE = f"{BASE}/u/123456.email.Zm9vYmFyYmF6cXV4cXV1eA"


def renderer(tmp_path: Path, **files: str) -> Renderer:
    for name, text in files.items():
        (tmp_path / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return Renderer(tmp_path)


def test_html_is_escaped_and_text_is_not(tmp_path):
    r = renderer(tmp_path, x__email__html="<p>{{ name }}</p>", x__email__txt="{{ name }}")
    context = {"name": "<b>Tom & Jerry</b>"}
    assert r.render("x.email.html", context) == "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>"
    assert r.render("x.email.txt", context) == "<b>Tom & Jerry</b>"


def test_an_undefined_variable_is_an_error_naming_it_and_the_template(tmp_path):
    r = renderer(tmp_path, hello__sms__txt="Hi {{ first_name }}, {{ secret }}")
    with pytest.raises(TemplateError) as caught:
        r.render("hello.sms.txt", {"secret": "ada@example.com"})
    message = str(caught.value)
    assert "hello.sms.txt" in message and "'first_name' is undefined" in message
    assert "ada@" not in message


def test_a_value_used_as_a_key_never_reaches_the_error(tmp_path):
    r = renderer(tmp_path, t__txt="{{ people[email] }}")
    with pytest.raises(TemplateError) as caught:
        r.render("t.txt", {"people": {}, "email": "ada@example.com"})
    assert "ada@" not in str(caught.value)


def test_a_missing_template_has_its_own_error(tmp_path):
    with pytest.raises(TemplateMissing, match=r"nope\.sms\.txt"):
        Renderer(tmp_path).render("nope.sms.txt", {})
    assert issubclass(TemplateMissing, TemplateError)


def test_the_sandbox_refuses_reaching_into_python(tmp_path):
    r = renderer(tmp_path, t__txt="{{ x.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError):
        r.render("t.txt", {"x": ""})


def test_output_over_100_kb_is_refused(tmp_path):
    r = renderer(
        tmp_path,
        loop__txt="{% for i in range(20000) %}0123456789{% endfor %}",
        repeat__txt="{{ 'x' * 200000 }}",
        fits__txt="{% for i in range(9000) %}0123456789{% endfor %}",
    )
    for name in ("loop.txt", "repeat.txt"):
        with pytest.raises(TemplateError, match=f"larger than {MAX_OUTPUT_BYTES}"):
            r.render(name, {})
    assert len(r.render("fits.txt", {})) == 90_000


def test_rendering_stops_once_it_runs_past_a_second(tmp_path):
    # 10**10 empty iterations; the clock is read at each inner range() call.
    slow = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    r = renderer(tmp_path, slow__txt=slow, power__txt="{{ (10 ** 64) ** 64 ** 64 }}")
    started = time.monotonic()
    with pytest.raises(TemplateError, match="longer than 1 s"):
        r.render("slow.txt", {})
    assert time.monotonic() - started < 1.5
    with pytest.raises(TemplateError, match="a power larger than"):
        r.render("power.txt", {})


def test_subjects_are_one_line_whatever_the_file_holds(tmp_path):
    r = renderer(
        tmp_path,
        m__email__subject__txt="Hello\n{{ name }}\r\nBcc: x@example.com",
        m__email__txt="t",
        m__email__html="<p>h</p>",
    )
    message = r.render_message("m", "email", {"name": "Ada"})
    assert message.subject == "Hello Ada Bcc: x@example.com"


# --- the shipped templates ---------------------------------------------------------------


def typical_context(template: str, channel: str, *, name="Alexandra Lovelace") -> dict:
    """The context the relay builds, from the payloads the queueing code writes."""
    if template in ("invitation", "reminder"):
        payload = invitation_payload(
            program_slug="friends",
            program_name="Acme Friends",
            code="K7PX9QM2",
            link=channel_link(BASE, "K7PX9QM2", channel),
            share_message="I love this shop. Use my link and we both get a reward:",
            trigger="scheduled",
            reminder_number=1 if template == "reminder" else None,
        )
    elif template == "reward_earned":
        payload = {
            "grant_id": 1,
            "reward_type": "discount",
            "amount_minor": 1250,
            "currency": "USD",
            "description": "15% off your next order",
            "coupon_code": "RW-7K3M9PQX2A",
        }
    else:
        payload = {
            "program": "friends",
            "milestone": "Super Sharer",
            "referrals": 5,
            "tier": "gold",
        }
    return render_context(template, payload, name=name, unsubscribe_url=UNSUBSCRIBE)


class _Balance(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(tag)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def test_every_shipped_file_belongs_to_a_known_template_and_channel():
    names = {p.name for p in DEFAULT_DIRECTORY.iterdir()}
    expected = {
        f"{t}.{suffix}"
        for t in TEMPLATES
        for suffix in ("email.subject.txt", "email.txt", "email.html", "sms.txt", "whatsapp.txt")
    }
    assert names == expected


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_shipped_template_renders_with_its_documented_context(template, channel):
    message = Renderer().render_message(template, channel, typical_context(template, channel))
    assert message.text.strip() and "{{" not in message.text
    if channel == "email":
        assert message.subject and "\n" not in message.subject
        assert f"Unsubscribe: {UNSUBSCRIBE}" in message.text
        assert message.html and f'href="{UNSUBSCRIBE}"' in message.html
        checker = _Balance()
        checker.feed(message.html)
        checker.close()
        assert checker.open == [] and checker.seen[:2] == ["html", "head"]
        assert message.html.startswith("<!DOCTYPE html>")
    else:
        assert message.subject is None and message.html is None
        assert "STOP" in message.text


@pytest.mark.parametrize("template", TEMPLATES)
def test_an_sms_fits_one_160_character_segment_with_typical_values(template):
    text = Renderer().render_message(template, "sms", typical_context(template, "sms")).text
    assert len(text) <= 160, f"{len(text)}: {text}"
    assert re.fullmatch(r"[ -~]+", text), "plain GSM-7-safe characters, one line"


def test_html_templates_escape_customer_supplied_names():
    context = typical_context("invitation", "email", name="<script>x</script>")
    message = Renderer().render_message("invitation", "email", context)
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "Hi <script>x</script>," in message.text
