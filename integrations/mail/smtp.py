"""SmtpSender: email through any SMTP relay, one connection for a whole batch.

Use it as a context manager (or `open()` / `close()`) around a batch; `send` alone also
works and connects when it needs to. The connection stays open between messages; when the
server has dropped it meanwhile (idle timeout, restart), the next `send` notices before
anything of the message was transmitted and connects again, once.

Security: `tls` speaks TLS from the first byte (port 465), `starttls` upgrades a plain
connection before anything else is said and refuses to go on if the server does not offer
it (port 587), `none` is for a relay on the same host or network (port 25). Certificates are
checked against the host name with the system's trust store unless an `ssl.SSLContext` is
given. Credentials are never sent over `none`.

Each message carries a Message-ID made from its idempotency key, so a message sent again
after a lost acknowledgement carries the same Message-ID (receiving systems and people can
tell it is the same message); that Message-ID is the provider message id.

How replies map to errors:

- 4xx replies, connection problems: TransientSendError;
- 5xx replies to MAIL, RCPT or DATA: PermanentSendError;
- 535 (and other 5xx) to AUTH, 530 "authentication required": AuthSendError;
- no final reply after the message body went out (timeout, disconnect): AmbiguousSendError,
  because the server may have queued the message.

Reasons carry the reply code and the enhanced status code (`550 5.1.1`), never the
server's text, which usually quotes the address.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from types import TracebackType
from typing import Final, Literal, NoReturn, get_args

from integrations.mail.content import (
    email_headers,
    email_parts,
    recipient,
    sender_address,
    subject,
)
from integrations.senders import (
    AmbiguousSendError,
    AuthSendError,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    check_email_headers,
)

Security = Literal["none", "starttls", "tls"]
DEFAULT_PORTS: Final[dict[str, int]] = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_TIMEOUT: Final = 30.0
# RFC 5321 section 4.5.3.2.6 gives servers up to 10 minutes to answer the end of the data;
# waiting longer than for other replies keeps ambiguous outcomes rare.
DEFAULT_DATA_TIMEOUT: Final = 120.0

_ENHANCED_STATUS: Final = re.compile(rb"^\s*([245]\.[0-9]{1,3}\.[0-9]{1,3})\b")
_LEADING_DOT: Final = re.compile(rb"(?m)^\.")
_MESSAGE_ID_CONTEXT: Final = b"referral-message-id-v1\0"
_DISCONNECTED: Final = (smtplib.SMTPServerDisconnected, OSError)


class _ConnectionLost(Exception):
    """The connection failed before the message body was complete: nothing was queued."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        from_address: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        data_timeout: float = DEFAULT_DATA_TIMEOUT,
        local_hostname: str | None = None,
        message_id_domain: str | None = None,
        message_id_namespace: str = "",
    ) -> None:
        """`from_address` may carry a display name (`Team <team@example.com>`).
        `message_id_domain` defaults to the from address's domain. `message_id_namespace`
        goes into every Message-ID: give each database its own (idempotency keys restart
        when a database is recreated, and Gmail hides a message whose Message-ID it has
        already seen). `local_hostname` is what EHLO says (default: this host's FQDN)."""
        if security not in get_args(Security):
            raise ValueError(f"SMTP security must be one of {', '.join(get_args(Security))}")
        if (username is None) != (password is None):
            raise ValueError("give both an SMTP username and password, or neither")
        if username is not None and security == "none":
            raise ValueError("SMTP credentials need security starttls or tls")
        if timeout <= 0 or data_timeout <= 0:
            raise ValueError("SMTP timeouts must be positive")
        _, self._envelope_from = sender_address(from_address)
        self.host = host
        self.port = port if port is not None else DEFAULT_PORTS[security]
        self.from_address = from_address
        self.security: Security = security
        self.timeout = timeout
        self.data_timeout = data_timeout
        self.local_hostname = local_hostname
        self.message_id_domain = message_id_domain or self._envelope_from.rpartition("@")[2]
        self._namespace = message_id_namespace.encode()
        self._username = username
        self._password = password
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SmtpSender(host={self.host!r}, port={self.port}, security={self.security!r})"

    def __enter__(self) -> SmtpSender:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect now (TransientSendError / AuthSendError if that fails) rather than at the
        first message."""
        with self._lock:
            if self._smtp is None:
                self._smtp = self._connect()

    def close(self) -> None:
        """Say QUIT and close; the next `send` connects again."""
        with self._lock:
            self._drop(polite=True)

    def message_id(self, idempotency_key: str) -> str:
        digest = hashlib.sha256(
            _MESSAGE_ID_CONTEXT + self._namespace + b"\0" + idempotency_key.encode()
        ).hexdigest()[:32]
        return f"<{digest}@{self.message_id_domain}>"

    def send(self, message: OutboundMessage) -> SendResult:
        check_email_headers(message)
        to = recipient(message)
        message_id = self.message_id(message.idempotency_key)
        payload, international = self._mime(message, to, message_id)
        with self._lock:
            try:
                self._send_once(to, payload, international, retry_stale=True)
            except _StaleConnection:
                # The server closed the connection while it sat idle: nothing of this message
                # went out, so it is sent once more on a new connection.
                self._send_once(to, payload, international, retry_stale=False)
        return SendResult(provider_message_id=message_id)

    # --- one SMTP transaction -----------------------------------------------------------

    def _send_once(
        self, to: str, payload: bytes, international: bool, *, retry_stale: bool
    ) -> None:
        reused = self._smtp is not None
        smtp = self._smtp if self._smtp is not None else self._connect()
        self._smtp = smtp
        try:
            self._transaction(smtp, to, payload, international)
        except _ConnectionLost as lost:
            self._drop(polite=False)
            if reused and retry_stale:
                raise _StaleConnection from None
            raise TransientSendError(lost.reason) from None

    def _transaction(
        self, smtp: smtplib.SMTP, to: str, payload: bytes, international: bool
    ) -> None:
        options: tuple[str, ...] = ()
        if international:
            if not smtp.has_extn("smtputf8"):
                raise PermanentSendError(
                    "the SMTP server does not take internationalized addresses"
                )
            options = ("SMTPUTF8", "BODY=8BITMIME")
        code, reply = _command(lambda: smtp.mail(self._envelope_from, options))
        if code != 250:
            self._refused(smtp, code, reply, "MAIL FROM")
        code, reply = _command(lambda: smtp.rcpt(to))
        if code not in (250, 251):
            self._refused(smtp, code, reply, "RCPT TO")
        code, reply = _command(lambda: smtp.docmd("DATA"))
        if code != 354:
            self._refused(smtp, code, reply, "DATA")
        body = _LEADING_DOT.sub(b"..", payload)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        try:
            smtp.send(body + b".\r\n")
        except _DISCONNECTED:
            # sendall() failed, so the closing "." cannot have reached the server complete.
            raise _ConnectionLost("the SMTP connection failed while sending the message") from None
        code, reply = self._final_reply(smtp)
        if code != 250:
            if code == 421:
                self._drop(polite=False)
            raise _refusal(code, reply, "end of DATA")

    def _final_reply(self, smtp: smtplib.SMTP) -> tuple[int, bytes]:
        if smtp.sock is not None:
            smtp.sock.settimeout(self.data_timeout)
        try:
            code, reply = smtp.getreply()
        except _DISCONNECTED:
            self._drop(polite=False)
            raise AmbiguousSendError(
                "no answer from the SMTP server after the message was sent"
            ) from None
        if smtp.sock is not None:
            smtp.sock.settimeout(self.timeout)
        return code, reply

    def _refused(self, smtp: smtplib.SMTP, code: int, reply: bytes, stage: str) -> NoReturn:
        """A refusal before the body: end the transaction (RSET) so the connection can take
        the next message, then raise."""
        if code == 421:  # the server is closing the connection
            raise _ConnectionLost(f"SMTP 421 at {stage}")
        try:
            smtp.rset()
        except _DISCONNECTED:
            self._drop(polite=False)
        raise _refusal(code, reply, stage)

    # --- the connection -----------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        context = self._ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
                )
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    # Going on in plain text would hand the password and the mail to whoever
                    # stripped STARTTLS from the server's answer.
                    raise TransientSendError("the SMTP server does not offer STARTTLS")
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._username is not None and self._password is not None:
                _login(smtp, self._username, self._password)
            return smtp
        except (TransientSendError, AuthSendError):
            _close(smtp)
            raise
        except smtplib.SMTPResponseException as exc:
            _close(smtp)
            status = _code_text(exc.smtp_code, exc.smtp_error)
            raise TransientSendError(f"the SMTP server refused the connection ({status})") from None
        except ssl.SSLCertVerificationError:
            _close(smtp)
            raise TransientSendError("the SMTP server's certificate did not verify") from None
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers ssl.SSLError, timeouts
            _close(smtp)
            raise TransientSendError(
                f"cannot connect to the SMTP server ({type(exc).__name__})"
            ) from None

    def _drop(self, *, polite: bool) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        if polite:
            try:
                smtp.quit()
                return
            except (smtplib.SMTPException, OSError):
                pass
        _close(smtp)

    # --- the message --------------------------------------------------------------------

    def _mime(self, message: OutboundMessage, to: str, message_id: str) -> tuple[bytes, bool]:
        parts = email_parts(message)
        headers = email_headers(message)
        mime = EmailMessage(policy=policy.SMTP)
        try:
            mime["From"] = self.from_address
            mime["To"] = to
            mime["Subject"] = subject(message)
            mime["Date"] = formatdate(usegmt=True)
            mime["Message-ID"] = message_id
            for name, value in headers.items():
                mime[name] = value
        except (ValueError, TypeError):
            raise PermanentSendError("a header of the message is not usable") from None
        # quoted-printable: safe over any relay (no 8BITMIME needed), and long lines, which
        # inlined CSS makes, are wrapped below the 998 characters SMTP allows.
        mime.set_content(parts.text, cte="quoted-printable")
        if parts.html is not None:
            mime.add_alternative(parts.html, subtype="html", cte="quoted-printable")
        international = not (self._envelope_from + to).isascii()
        return mime.as_bytes(
            policy=policy.SMTPUTF8 if international else policy.SMTP
        ), international


class _StaleConnection(Exception):
    pass


def _command(call: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
    """Run an SMTP command; a dropped connection (before the body) becomes _ConnectionLost."""
    try:
        code, reply = call()
    except _DISCONNECTED as exc:
        raise _ConnectionLost(f"the SMTP connection was lost ({type(exc).__name__})") from None
    return int(code), bytes(reply)


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    try:
        smtp.login(username, password)
    except smtplib.SMTPAuthenticationError as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransientSendError(
                f"SMTP authentication failed for now ({_code_text(exc.smtp_code, exc.smtp_error)})"
            ) from None
        raise AuthSendError(
            f"the SMTP server refused the credentials ({_code_text(exc.smtp_code, exc.smtp_error)})"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise AuthSendError("the SMTP server offers no AUTH on this connection") from None
    except smtplib.SMTPServerDisconnected:
        raise
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPResponseException) and 400 <= exc.smtp_code < 500:
            raise TransientSendError(
                f"SMTP authentication failed for now ({_code_text(exc.smtp_code, exc.smtp_error)})"
            ) from None
        raise AuthSendError("no SMTP authentication method in common with the server") from None


def _refusal(code: int, reply: bytes, stage: str) -> TransientSendError | PermanentSendError:
    text = f"SMTP {_code_text(code, reply)} at {stage}"
    if code == 530 or (code == 535 and stage == "MAIL FROM"):
        return AuthSendError(f"the SMTP server wants authentication ({text})")
    if 500 <= code < 600:
        return PermanentSendError(text)
    return TransientSendError(text)


def _code_text(code: int, reply: bytes | str) -> str:
    """`550 5.1.1`: the reply code and enhanced status code, never the server's words."""
    raw = reply.encode(errors="replace") if isinstance(reply, str) else reply
    match = _ENHANCED_STATUS.match(raw)
    return f"{code} {match.group(1).decode()}" if match else str(code)


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    with contextlib.suppress(OSError):
        smtp.close()
