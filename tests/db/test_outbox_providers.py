"""The outbox relay through the connector the settings name: a reward notification leaves
over one real SMTP connection (aiosmtpd) with its unsubscribe headers, and a provider
without its credentials is a one-line settings error before anything is claimed."""

from __future__ import annotations

import email
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from config.settings import EmailSettings, SettingsError, SmsSettings, WhatsAppSettings
from db.engine import transaction
from db.models import OutboxMessage
from referral.unsubscribe import link_key
from tasks.outbox import deliver_outbox_batch
from tasks.senders import build_sender
from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline
from tests.integrations.test_smtp_sender import Mailbox, free_port


@pytest.fixture
def mail_server():
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def test_reward_notices_go_out_over_one_smtp_connection(
    engine, database_url, mail_server, tmp_path
):
    mailbox, port = mail_server
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        referred_purchase(session, code)
        run_pipeline(session)
    outcome = deliver_outbox_batch.fn(
        database_url,
        50,
        outbox_dir=str(tmp_path),
        templates_dir=None,
        public_base_url="https://refer.example.com",
        unsubscribe_key=link_key(b"test"),
        worker="relay-smtp",
        email=EmailSettings(
            provider="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            from_address="Shop <referrals@shop.example>",
        ),
    )
    assert (outcome["sent"], outcome["failed"]) == (2, 0)
    assert len(mailbox.accepted) == 2 and len(mailbox.connections()) == 1
    message = email.message_from_bytes(mailbox.accepted[0][3], policy=policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["From"] == "Shop <referrals@shop.example>"
    with transaction(engine) as session:
        ids = set(session.scalars(select(OutboxMessage.provider_message_id)))
    assert {m["Message-ID"] for m in map(_parsed, mailbox.accepted)} == ids
    assert list(tmp_path.iterdir()) == []  # nothing fell back to the file sender


def _parsed(accepted):
    return email.message_from_bytes(accepted[3], policy=policy.default)


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"email": EmailSettings(provider="sendgrid")}, "REFERRAL_EMAIL__API_KEY"),
        ({"sms": SmsSettings(provider="twilio")}, "REFERRAL_SMS__ACCOUNT_SID"),
        ({"whatsapp": WhatsAppSettings(provider="cloud")}, "REFERRAL_WHATSAPP__ACCESS_TOKEN"),
    ],
)
def test_a_provider_without_credentials_names_the_missing_variable(settings, variable, tmp_path):
    chosen = {"email": EmailSettings(), "sms": SmsSettings(), "whatsapp": WhatsAppSettings()}
    with pytest.raises(SettingsError, match=f"^{variable} is not set$"):
        build_sender(**{**chosen, **settings}, outbox_dir=tmp_path)
