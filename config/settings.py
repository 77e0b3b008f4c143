"""Every setting the engine reads, from `REFERRAL_*` environment variables or a `.env` file.

Settings are read once at the edge (CLI, flow entry, web app start) and passed down as
values; nothing below the edge reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from referral.portal import portal_key
from referral.quiet_hours import QuietHours, resolve_zone
from referral.unsubscribe import link_key

DEFAULT_DATA_DIR = Path("data")


class DatabaseSettings(BaseModel):
    """`REFERRAL_DATABASE__*`; the URL itself is also accepted as `REFERRAL_DATABASE_URL`."""

    url: str = ""
    echo: bool = False
    pool_size: Annotated[int, Field(ge=1, le=200)] = 5

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if url and not url.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # The bare scheme would pick psycopg2, which is not installed.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url


class WebSettings(BaseModel):
    """`REFERRAL_WEB__*`: the public HTTP service."""

    public_base_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    # Where an unknown or revoked referral code sends people: set it to the shop's home.
    fallback_url: str = "https://example.com/"
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    # How long an advocate's dashboard link (/portal/{token}) in a message keeps working.
    portal_link_days: Annotated[int, Field(ge=1, le=365)] = 30

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        return cls._absolute_url(url).rstrip("/")

    @field_validator("fallback_url")
    @classmethod
    def _absolute_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return url


def _comma_separated(value: object) -> object:
    """`a,b,c` in the environment; a list when set from code."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# A list read from one environment variable as comma-separated text, not JSON.
CommaList = Annotated[list[SecretStr], NoDecode]


class WebhookSettings(BaseModel):
    """`REFERRAL_WEBHOOKS__*`: one secret per signing source; lists accept several secrets at
    once so a secret can be rotated without refusing the sender's in-flight deliveries."""

    standard_secrets: CommaList = []
    hubspot_client_secret: CommaList = []
    stripe_secrets: CommaList = []
    twilio_auth_token: SecretStr | None = None
    salesforce_org_ids: Annotated[list[str], NoDecode] = []
    # SendGrid's signed event webhook: its verification key(s), base64, as its settings show.
    sendgrid_public_keys: Annotated[list[str], NoDecode] = []
    # Postmark's webhooks are unsigned: they carry basic-auth credentials in their URL.
    postmark_username: str | None = None
    postmark_password: SecretStr | None = None
    # Twilio signs the URL it called; behind a proxy that is the public one, not ours.
    public_base_url: str | None = None

    _split = field_validator(
        "standard_secrets",
        "hubspot_client_secret",
        "stripe_secrets",
        "salesforce_org_ids",
        "sendgrid_public_keys",
        mode="before",
    )(_comma_separated)


class EmailSettings(BaseModel):
    """`REFERRAL_EMAIL__*`: how emails leave. `file` writes them to <data dir>/outbox."""

    provider: Literal["file", "smtp", "sendgrid", "postmark"] = "file"
    from_address: str = "Referrals <referrals@example.com>"
    smtp_host: str = "localhost"
    smtp_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    api_key: SecretStr | None = None  # SendGrid API key or Postmark server token
    api_base_url: str | None = None  # e.g. SendGrid's EU host
    postmark_message_stream: str = "outbound"
    # One per database: idempotency keys start again in a new database, Message-IDs must not.
    message_id_namespace: str = ""
    # The provider's pace for this account, messages a second (empty: as fast as it takes).
    rate_per_second: Annotated[float, Field(gt=0)] | None = None


class SmsSettings(BaseModel):
    """`REFERRAL_SMS__*`."""

    provider: Literal["file", "twilio"] = "file"
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    # The provider's pace for this account, messages a second (empty: as fast as it takes).
    rate_per_second: Annotated[float, Field(gt=0)] | None = None


class WhatsAppSettings(BaseModel):
    """`REFERRAL_WHATSAPP__*`: Meta's Cloud API (template messages) or Twilio."""

    provider: Literal["file", "cloud", "twilio"] = "file"
    access_token: SecretStr | None = None
    phone_number_id: str | None = None
    template_language: str = "en"
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    from_number: str | None = None
    # The provider's pace for this account, messages a second (empty: as fast as it takes).
    rate_per_second: Annotated[float, Field(gt=0)] | None = None


class SlackSettings(BaseModel):
    """`REFERRAL_SLACK__*`: team alerts. The webhook URL is itself the secret."""

    webhook_url: SecretStr | None = None


class DeliverySettings(BaseModel):
    """`REFERRAL_DELIVERY__*`: when text messages may go out."""

    # SMS and WhatsApp wait out these hours in the recipient's time zone; empty: any time.
    quiet_hours: str = "21:00-08:00"
    # For customers whose CRM record has no time zone.
    default_timezone: str = "UTC"

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, spec: str) -> str:
        if spec.strip():
            QuietHours.parse(spec)  # raises ValueError naming what is wrong
        return spec.strip()

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        resolve_zone(name, name)  # an unknown default is refused here, not at 9 p.m.
        return name


class CrmSettings(BaseModel):
    """`REFERRAL_CRM__*`: where sync-crm reads customers from, and what push-crm tells it."""

    provider: Literal["file", "hubspot", "salesforce"] = "file"
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 2_000
    # Provider property -> customer column (see integrations/crm/fields.py); empty: defaults.
    field_map: dict[str, str] = {}
    hubspot_access_token: SecretStr | None = None
    salesforce_login_url: str = "https://login.salesforce.com"
    salesforce_auth: Literal["client_credentials", "jwt"] = "client_credentials"
    salesforce_client_id: str | None = None
    salesforce_client_secret: SecretStr | None = None
    salesforce_username: str | None = None
    salesforce_private_key: SecretStr | None = None  # PEM
    salesforce_object: Literal["Contact", "Lead"] = "Contact"
    # Write-back (push-crm): logical property -> the provider's name, over its defaults
    # (integrations/crm/fields.py); an empty name leaves the property out.
    writeback_properties: dict[str, str] = {}
    # The sales rep who gets referred leads (HubSpot owner id, Salesforce user id); unset:
    # leads go to nobody (the file CRM writes them down regardless).
    lead_owner_id: str | None = None
    lead_max_age_days: Annotated[int, Field(ge=1, le=90)] = 7


class PrefectSettings(BaseModel):
    """`REFERRAL_PREFECT__*`: how flows are run."""

    task_workers: Annotated[int, Field(ge=1, le=64)] = 4
    work_pool: str = "referral-process"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REFERRAL_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    database: DatabaseSettings = DatabaseSettings()
    web: WebSettings = WebSettings()
    prefect: PrefectSettings = PrefectSettings()
    webhooks: WebhookSettings = WebhookSettings()
    email: EmailSettings = EmailSettings()
    sms: SmsSettings = SmsSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    crm: CrmSettings = CrmSettings()
    delivery: DeliverySettings = DeliverySettings()
    slack: SlackSettings = SlackSettings()
    # Bearer keys for /v1 (`REFERRAL_API_KEYS=key1,key2`); none set means /v1 refuses all.
    api_keys: CommaList = []
    # The CRM whose ids events carry as customer.external_id.
    customer_source: Annotated[str, Field(min_length=1, max_length=32)] = "crm"
    batch_size: Annotated[int, Field(ge=100, le=1_000_000)] = 5_000
    # Keys hashes of IPs, user agents and addresses so stored fingerprints can't be reversed
    # by a dictionary attack on the table alone.
    hash_pepper: SecretStr = SecretStr("change-me-in-production")
    default_region: Annotated[str, Field(min_length=2, max_length=2)] = "US"

    _split_keys = field_validator("api_keys", mode="before")(_comma_separated)

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, url: str) -> str:
        return DatabaseSettings._known_backend(url)

    @property
    def unsubscribe_key(self) -> bytes:
        """Signs unsubscribe links: derived from the hash pepper, never the pepper itself.
        The relay that writes the links and the web page that reads them share this one."""
        return link_key(self.hash_pepper.get_secret_value().encode())

    @property
    def portal_key(self) -> bytes:
        """Signs advocates' dashboard links; derived from the pepper like the unsubscribe
        key, under its own context, so neither link can pass for the other."""
        return portal_key(self.hash_pepper.get_secret_value().encode())

    @property
    def resolved_database_url(self) -> str:
        """`REFERRAL_DATABASE_URL` wins, then `REFERRAL_DATABASE__URL`, then a SQLite file."""
        url = self.database_url or self.database.url
        if url:
            return url
        return f"sqlite:///{(self.data_dir / 'referral.db').as_posix()}"


class SettingsError(Exception):
    """A setting has a value the engine cannot use; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        location = "__".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        raise SettingsError(f"REFERRAL_{location}: {message}") from None


def required(value: str | SecretStr | None, variable: str) -> str:
    """A credential a chosen provider cannot do without: its value, or a SettingsError
    naming the variable to set (`REFERRAL_` + variable)."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not text:
        raise SettingsError(f"REFERRAL_{variable} is not set")
    return text
