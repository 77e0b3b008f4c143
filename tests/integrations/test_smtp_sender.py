"""SmtpSender against a real SMTP server (aiosmtpd on 127.0.0.1, a free port per test).

TLS uses a certificate authority made at test time (trustme): the sender trusts it through an
injected SSLContext and still checks the host name; with the system's trust store it refuses
the same server.
"""

import asyncio
import email
import socket
import ssl
import time
from email import policy

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from integrations.mail.smtp import SmtpSender
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
)
from referral.unsubscribe import unsubscribe_headers

UNSUBSCRIBE = "https://refer.example.com/u/7.email.Zm9vYmFyYmF6cXV4cXV1eA"
HTML = """<!DOCTYPE html>
<html><head><style>
p.greeting { color: #222222; font-family: sans-serif; }
@media (max-width: 600px) { p.greeting { font-size: 18px; } }
</style></head>
<body><p class="greeting">Hi Ada,</p>
<p>Your link: <a href="https://refer.example.com/r/ADA7">invite friends</a></p>
<p><a href="https://refer.example.com/u/7.email.Zm9vYmFyYmF6cXV4cXV1eA">Unsubscribe</a></p>
</body></html>"""


def message(key="notify:1", to="ada@example.com", **fields):
    return OutboundMessage(
        **{
            "idempotency_key": key,
            "channel": "email",
            "to": to,
            "subject": "Invite your friends",
            "text": "Hi Ada,\nYour link: https://refer.example.com/r/ADA7\n",
            "html": HTML,
            "headers": unsubscribe_headers(UNSUBSCRIBE),
            **fields,
        }
    )


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and refuses what it is told to."""

    def __init__(self):
        self.accepted = []  # (peer, mail_from, rcpt_tos, content bytes)
        self.rcpt_replies = {}  # address -> SMTP reply
        self.data_reply = None
        self.data_delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        self.accepted.append(
            (session.peer, envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 2.0.0 Queued"

    def parsed(self, index=-1):
        return email.message_from_bytes(self.accepted[index][3], policy=policy.default)

    def connections(self):
        return {peer for peer, *_ in self.accepted}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca):
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def smtp_server():
    """start(**aiosmtpd options) -> (Mailbox, port); every server stops after the test."""
    running = []

    def start(**options):
        mailbox = Mailbox()
        port = free_port()
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=port, server_hostname="mx.test", **options
        )
        controller.start()
        running.append(controller)
        return mailbox, port

    yield start
    for controller in running:
        controller.stop()


def sender(port, **options):
    options.setdefault("security", "none")
    return SmtpSender(
        "127.0.0.1",
        port,
        from_address="Referral Team <team@shop.example.com>",
        local_hostname="client.test",
        timeout=5,
        **options,
    )


def accepting_only(login, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == (login, password)
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    return authenticator


# --- what arrives ---------------------------------------------------------------------------


def test_a_message_arrives_with_text_and_html_parts_and_the_one_click_unsubscribe_headers(
    smtp_server,
):
    mailbox, port = smtp_server()
    with sender(port) as smtp:
        smtp.send(message())
    _, mail_from, rcpt_tos, _ = mailbox.accepted[0]
    assert mail_from == "team@shop.example.com"
    assert rcpt_tos == ["ada@example.com"]
    received = mailbox.parsed()
    assert received["From"] == "Referral Team <team@shop.example.com>"
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == "Invite your friends"
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "https://refer.example.com/r/ADA7" in text
    assert "invite friends" in html


def test_the_html_part_arrives_with_its_css_inlined_and_media_queries_kept(smtp_server):
    mailbox, port = smtp_server()
    with sender(port) as smtp:
        smtp.send(message())
    html = mailbox.parsed().get_body(("html",)).get_content()
    assert 'class="greeting" style="color: #222222;font-family: sans-serif;"' in html
    assert "@media (max-width: 600px)" in html
    assert "p.greeting { color" not in html


def test_an_html_only_message_gets_a_text_part_made_from_its_html(smtp_server):
    mailbox, port = smtp_server()
    with sender(port) as smtp:
        smtp.send(message(text=""))
    text = mailbox.parsed().get_body(("plain",)).get_content()
    assert "Hi Ada," in text
    assert "invite friends (https://refer.example.com/r/ADA7)" in text
    assert f"Unsubscribe ({UNSUBSCRIBE})" in text
    assert "color" not in text


def test_the_message_id_comes_from_the_idempotency_key_so_a_resend_carries_the_same_one(
    smtp_server,
):
    mailbox, port = smtp_server()
    with sender(port) as smtp:
        first = smtp.send(message("notify:1"))
        again = smtp.send(message("notify:1"))
        other = smtp.send(message("notify:2"))
    assert first.provider_message_id == again.provider_message_id
    assert first.provider_message_id != other.provider_message_id
    assert first.provider_message_id.endswith("@shop.example.com>")
    ids = [mailbox.parsed(i)["Message-ID"] for i in range(3)]
    assert ids == [first.provider_message_id, first.provider_message_id, other.provider_message_id]
    # Another database (namespace) gives the same key another Message-ID.
    assert sender(port, message_id_namespace="db-2").message_id("notify:1") != (
        first.provider_message_id
    )


def test_a_line_starting_with_a_dot_arrives_intact(smtp_server):
    mailbox, port = smtp_server()
    with sender(port) as smtp:
        smtp.send(message(text=".\n.hidden line\nend\n", html=None))
    assert mailbox.parsed().get_content().splitlines() == [".", ".hidden line", "end"]


def test_an_email_without_the_unsubscribe_headers_is_refused_before_connecting(smtp_server):
    mailbox, port = smtp_server()
    smtp = sender(port)
    with pytest.raises(PermanentSendError, match="List-Unsubscribe"):
        smtp.send(message(headers={}))
    assert smtp._smtp is None
    assert mailbox.accepted == []


def test_a_header_value_with_a_line_break_is_refused(smtp_server):
    mailbox, port = smtp_server()
    headers = {**unsubscribe_headers(UNSUBSCRIBE), "X-Campaign": "a\r\nBcc: victim@example.com"}
    with pytest.raises(PermanentSendError, match="line break"), sender(port) as smtp:
        smtp.send(message(headers=headers))
    assert mailbox.accepted == []


# --- one connection per batch ---------------------------------------------------------------


def test_a_batch_goes_over_one_connection(smtp_server):
    mailbox, port = smtp_server()
    with sender(port) as smtp:
        for n in range(10):
            smtp.send(message(f"notify:{n}"))
    assert len(mailbox.accepted) == 10
    assert len(mailbox.connections()) == 1


def test_a_connection_the_server_dropped_while_idle_is_replaced_once_without_an_error(
    smtp_server,
):
    mailbox, port = smtp_server(timeout=0.3)  # the server closes idle connections
    with sender(port) as smtp:
        smtp.send(message("notify:1"))
        time.sleep(0.8)
        smtp.send(message("notify:2"))
    assert len(mailbox.accepted) == 2
    assert len(mailbox.connections()) == 2


def test_a_refused_recipient_does_not_spoil_the_connection_for_the_next_message(smtp_server):
    mailbox, port = smtp_server()
    mailbox.rcpt_replies["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such user"
    with sender(port) as smtp:
        with pytest.raises(PermanentSendError):
            smtp.send(message("notify:1", to="gone@example.com"))
        smtp.send(message("notify:2"))
    assert [rcpt for _, _, rcpt, _ in mailbox.accepted] == [["ada@example.com"]]
    assert len(mailbox.connections()) == 1


# --- refusals and failures ------------------------------------------------------------------


def test_a_550_refusal_is_permanent_and_the_reason_does_not_quote_the_address(smtp_server):
    mailbox, port = smtp_server()
    mailbox.rcpt_replies["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such user"
    with pytest.raises(PermanentSendError) as refused, sender(port) as smtp:
        smtp.send(message(to="gone@example.com"))
    assert not isinstance(refused.value, AuthSendError)
    assert str(refused.value) == "SMTP 550 5.1.1 at RCPT TO"


def test_a_451_is_transient(smtp_server):
    mailbox, port = smtp_server()
    mailbox.rcpt_replies["ada@example.com"] = "451 4.3.0 try again later"
    with pytest.raises(TransientSendError, match=r"451 4\.3\.0"), sender(port) as smtp:
        smtp.send(message())


def test_a_refusal_of_the_message_after_its_data_is_permanent_for_5xx_transient_for_4xx(
    smtp_server,
):
    mailbox, port = smtp_server()
    with sender(port) as smtp:
        mailbox.data_reply = "554 5.7.1 message refused"
        with pytest.raises(PermanentSendError, match=r"554 5\.7\.1 at end of DATA"):
            smtp.send(message("notify:1"))
        mailbox.data_reply = "452 4.3.1 insufficient storage"
        with pytest.raises(TransientSendError, match=r"452 4\.3\.1"):
            smtp.send(message("notify:2"))
        mailbox.data_reply = None
        smtp.send(message("notify:3"))
    assert len(mailbox.accepted) == 1


def test_no_answer_after_the_data_was_sent_is_ambiguous(smtp_server):
    mailbox, port = smtp_server()
    mailbox.data_delay = 1.0
    with pytest.raises(AmbiguousSendError), sender(port, data_timeout=0.2) as smtp:
        smtp.send(message())


def test_no_server_listening_is_transient():
    with pytest.raises(TransientSendError, match="cannot connect"):
        sender(free_port()).send(message())


# --- TLS and authentication -----------------------------------------------------------------


def test_starttls_with_a_trusted_certificate_delivers(smtp_server, server_tls, client_tls):
    mailbox, port = smtp_server(tls_context=server_tls, require_starttls=True)
    with sender(port, security="starttls", ssl_context=client_tls) as smtp:
        smtp.send(message())
    assert len(mailbox.accepted) == 1


def test_starttls_refuses_a_certificate_it_cannot_verify(smtp_server, server_tls):
    _, port = smtp_server(tls_context=server_tls, require_starttls=True)
    with pytest.raises(TransientSendError, match="certificate did not verify"):
        sender(port, security="starttls").send(message())


def test_starttls_refuses_to_go_on_in_plain_text_when_the_server_does_not_offer_it(smtp_server):
    mailbox, port = smtp_server()
    with pytest.raises(TransientSendError, match="does not offer STARTTLS"):
        sender(port, security="starttls").send(message())
    assert mailbox.accepted == []


def test_implicit_tls_delivers(smtp_server, server_tls, client_tls):
    mailbox, port = smtp_server(ssl_context=server_tls)
    with sender(port, security="tls", ssl_context=client_tls) as smtp:
        smtp.send(message())
    assert len(mailbox.accepted) == 1


def test_login_over_starttls_delivers(smtp_server, server_tls, client_tls):
    mailbox, port = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=accepting_only(b"relay-user", b"s3cret"),
    )
    options = {"security": "starttls", "ssl_context": client_tls, "username": "relay-user"}
    with sender(port, password="s3cret", **options) as smtp:
        smtp.send(message("notify:1"))
        smtp.send(message("notify:2"))
    assert len(mailbox.accepted) == 2
    assert len(mailbox.connections()) == 1


def test_bad_credentials_are_an_auth_error_that_names_no_secret(
    smtp_server, server_tls, client_tls
):
    _, port = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=accepting_only(b"relay-user", b"s3cret"),
    )
    smtp = sender(
        port, security="starttls", ssl_context=client_tls, username="relay-user", password="wrong"
    )
    with pytest.raises(AuthSendError) as refused:
        smtp.send(message())
    assert "535" in str(refused.value)
    assert "wrong" not in str(refused.value)
    assert "relay-user" not in str(refused.value)
    assert "wrong" not in repr(smtp)


def test_a_server_that_wants_authentication_it_was_not_given_is_an_auth_error(
    smtp_server, server_tls, client_tls
):
    _, port = smtp_server(tls_context=server_tls, require_starttls=True, auth_required=True)
    with pytest.raises(AuthSendError, match="530"):
        sender(port, security="starttls", ssl_context=client_tls).send(message())


def test_credentials_are_never_configured_for_a_plain_connection():
    with pytest.raises(ValueError, match="starttls or tls"):
        sender(25, username="relay-user", password="s3cret")
