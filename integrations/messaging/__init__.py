"""Messaging connectors: Twilio SMS and WhatsApp, Meta's WhatsApp Cloud API, Slack alerts.

Each client takes an injected `httpx.Client` (tests pass one over `httpx.MockTransport`),
sends every request through one method, applies its own timeouts, and raises the typed errors
of integrations/senders.py, subclassed in errors.py to carry the provider's error code. None
of them logs or raises with a phone number, a message body, a token or a webhook URL.
"""

from integrations.messaging.errors import (
    ProviderAuthError,
    ProviderPermanentError,
    ProviderTransientError,
    provider_code,
    suppress_reason,
)
from integrations.messaging.slack import (
    SlackAlert,
    SlackWebhook,
    batch_failed_alert,
    conversions_alert,
    referred_signup_alert,
    review_waiting_alert,
)
from integrations.messaging.twilio_sms import TwilioSmsSender, TwilioWhatsAppSender
from integrations.messaging.whatsapp_cloud import WhatsAppCloudSender
from integrations.messaging.whatsapp_template import TemplateError, template_headers

__all__ = [
    "ProviderAuthError",
    "ProviderPermanentError",
    "ProviderTransientError",
    "SlackAlert",
    "SlackWebhook",
    "TemplateError",
    "TwilioSmsSender",
    "TwilioWhatsAppSender",
    "WhatsAppCloudSender",
    "batch_failed_alert",
    "conversions_alert",
    "provider_code",
    "referred_signup_alert",
    "review_waiting_alert",
    "suppress_reason",
    "template_headers",
]
