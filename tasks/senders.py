"""The delivery connectors named by the settings, as one Sender the outbox relay uses.

Each channel without a provider (and any channel without a connector) goes to the file
sender, so the embedded demo needs nothing and a half-configured install still delivers
somewhere visible. A provider without its credentials is a SettingsError, raised here in
one line naming the variable, before any message is claimed.
"""

from __future__ import annotations

from pathlib import Path

from config.settings import EmailSettings, SmsSettings, WhatsAppSettings, required
from integrations.mail.postmark import PostmarkSender
from integrations.mail.sendgrid import SendGridSender
from integrations.mail.smtp import SmtpSender
from integrations.messaging.twilio_sms import TwilioSmsSender, TwilioWhatsAppSender
from integrations.messaging.whatsapp_cloud import WhatsAppCloudSender
from integrations.senders import ChannelRouter, FileSender, Sender


def build_sender(
    email: EmailSettings, sms: SmsSettings, whatsapp: WhatsAppSettings, outbox_dir: Path
) -> ChannelRouter:
    by_channel: dict[str, Sender] = {}
    if email.provider != "file":
        by_channel["email"] = _email(email)
    if sms.provider == "twilio":
        by_channel["sms"] = TwilioSmsSender(
            required(sms.account_sid, "SMS__ACCOUNT_SID"),
            required(sms.auth_token, "SMS__AUTH_TOKEN"),
            from_number=sms.from_number,
            messaging_service_sid=sms.messaging_service_sid,
        )
    if whatsapp.provider == "cloud":
        by_channel["whatsapp"] = WhatsAppCloudSender(
            required(whatsapp.access_token, "WHATSAPP__ACCESS_TOKEN"),
            required(whatsapp.phone_number_id, "WHATSAPP__PHONE_NUMBER_ID"),
            template_language=whatsapp.template_language,
        )
    elif whatsapp.provider == "twilio":
        by_channel["whatsapp"] = TwilioWhatsAppSender(
            required(whatsapp.account_sid, "WHATSAPP__ACCOUNT_SID"),
            required(whatsapp.auth_token, "WHATSAPP__AUTH_TOKEN"),
            from_number=required(whatsapp.from_number, "WHATSAPP__FROM_NUMBER"),
        )
    return ChannelRouter(by_channel, FileSender(outbox_dir))


def _email(email: EmailSettings) -> Sender:
    if email.provider == "smtp":
        return SmtpSender(
            email.smtp_host,
            email.smtp_port,
            from_address=email.from_address,
            security=email.smtp_security,
            username=email.smtp_username,
            password=email.smtp_password.get_secret_value() if email.smtp_password else None,
            message_id_namespace=email.message_id_namespace,
        )
    key = required(email.api_key, "EMAIL__API_KEY")
    if email.provider == "sendgrid":
        base = email.api_base_url or "https://api.sendgrid.com"
        return SendGridSender(key, email.from_address, base_url=base)
    base = email.api_base_url or "https://api.postmarkapp.com"
    return PostmarkSender(
        key, email.from_address, base_url=base, message_stream=email.postmark_message_stream
    )
