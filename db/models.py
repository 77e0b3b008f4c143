"""The tables. Guarantees live in constraints, so they hold whatever code writes the rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import Id, Json, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def core_table(model: Any) -> Table:
    """The Core table: executemany UPDATEs keyed by bindparam need it, not the ORM entity."""
    return cast(Table, model.__table__)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json}


def _pk() -> Mapped[int]:
    return mapped_column(Id, primary_key=True, autoincrement=True)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), server_default=utcnow(), nullable=False)


class Customer(Base):
    """The CRM mirror: one row per (source, external_id), refreshed by every sync."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = _pk()
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320), index=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    customer_since: Mapped[datetime | None]
    nps_score: Mapped[int | None] = mapped_column(SmallInteger)
    nps_at: Mapped[datetime | None]
    orders_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_spend_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str | None] = mapped_column(String(3))
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    support_positive: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    support_negative: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    email_opens_90d: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    email_clicks_90d: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reviews_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    consent_whatsapp: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(32))
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    attributes: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class Program(Base):
    """A program's identity; its rules live in versions so old referrals keep their rules."""

    __tablename__ = "programs"

    id: Mapped[int] = _pk()
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class ProgramVersion(Base):
    __tablename__ = "program_versions"
    __table_args__ = (UniqueConstraint("program_id", "version"),)

    id: Mapped[int] = _pk()
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    version: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]]
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class Advocate(Base):
    """A customer enrolled in a program; enrolment happens once and is never repeated."""

    __tablename__ = "advocates"
    __table_args__ = (
        UniqueConstraint("program_id", "customer_id"),
        # Target of referral_codes' composite key, so a code's copies can't disagree.
        UniqueConstraint("id", "program_id", "customer_id"),
    )

    id: Mapped[int] = _pk()
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    score: Mapped[int | None] = mapped_column(Integer)
    enrolled_via: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(32))
    enrolled_at: Mapped[datetime] = _created()


class ReferralCode(Base):
    """UNIQUE(code) everywhere; one live (unrevoked) code per advocate per program."""

    __tablename__ = "referral_codes"
    __table_args__ = (
        # One check instead of three: the advocate, and that program and customer are its own.
        ForeignKeyConstraint(
            ["advocate_id", "program_id", "customer_id"],
            ["advocates.id", "advocates.program_id", "advocates.customer_id"],
        ),
        Index(
            "uq_referral_codes_live_per_advocate",
            "program_id",
            "advocate_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = _pk()
    program_id: Mapped[int] = mapped_column(Id)
    advocate_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id, index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    is_vanity: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None]


class Touch(Base):
    """Append-only: clicks, visits, shares and coupon uses. IP and user agent are hashed."""

    __tablename__ = "touches"
    __table_args__ = (Index("ix_touches_visitor_time", "visitor_id", "occurred_at"),)

    id: Mapped[int] = _pk()
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("referral_codes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    ua_hash: Mapped[str | None] = mapped_column(String(64))
    utm: Mapped[dict[str, Any] | None]
    # The page the click came from, host only (a query string can carry anything).
    referrer_host: Mapped[str | None] = mapped_column(String(253))
    source_event_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # Defaults to the database clock: a live click is stamped as it is written.
    occurred_at: Mapped[datetime] = _created()
    recorded_at: Mapped[datetime] = _created()


class Referral(Base):
    """One referrer per referee per program, made under one program version."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("program_id", "referee_id"),
        CheckConstraint("referrer_id <> referee_id", name="not_self"),
        CheckConstraint(
            "status IN ('pending','qualified','flagged','approved','rewarded','rejected','voided')",
            name="status",
        ),
        Index("ix_referrals_program_status", "program_id", "status"),
        Index("ix_referrals_referrer", "referrer_id", "program_id"),
    )

    id: Mapped[int] = _pk()
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    program_version_id: Mapped[int] = mapped_column(ForeignKey("program_versions.id"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    referee_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("referral_codes.id"))
    attribution_model: Mapped[str] = mapped_column(String(32))
    attributed_by: Mapped[str] = mapped_column(String(16))
    # The channel of the link clicked (the latest click before the referral), or
    # promo_code; None for a link shared without a channel.
    channel: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    referred_at: Mapped[datetime]
    # No foreign key: conversions already point at referrals, and a cycle would force
    # ALTER-based DDL that SQLite cannot run.
    qualifying_conversion_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created()
    status_changed_at: Mapped[datetime] = _created()


class Conversion(Base):
    """Sign-ups, purchases, renewals and refunds as the shop or CRM reported them."""

    __tablename__ = "conversions"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("kind IN ('signup','purchase','renewal','refund')", name="kind"),
        Index("ix_conversions_customer_time", "customer_id", "occurred_at"),
        # The pipeline's queue: only the conversions still to process, so marking one
        # processed removes it rather than adding an entry nothing reads.
        Index(
            "ix_conversions_unprocessed",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
        # The fraud facts: sign-ups per device and per network, and promo codes typed
        # without a referral link. Partial, so the pipeline's other writes pay little.
        Index(
            "ix_conversions_signup_device",
            "device_id",
            "occurred_at",
            postgresql_where=text("kind = 'signup' AND device_id IS NOT NULL"),
            sqlite_where=text("kind = 'signup' AND device_id IS NOT NULL"),
        ),
        Index(
            "ix_conversions_signup_ip",
            "ip_hash",
            "occurred_at",
            postgresql_where=text("kind = 'signup' AND ip_hash IS NOT NULL"),
            sqlite_where=text("kind = 'signup' AND ip_hash IS NOT NULL"),
        ),
        Index(
            "ix_conversions_typed_code",
            "referral_code",
            "occurred_at",
            postgresql_where=text("referral_code IS NOT NULL AND visitor_id IS NULL"),
            sqlite_where=text("referral_code IS NOT NULL AND visitor_id IS NULL"),
        ),
    )

    id: Mapped[int] = _pk()
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str | None] = mapped_column(String(3))
    referral_code: Mapped[str | None] = mapped_column(String(32))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    ua_hash: Mapped[str | None] = mapped_column(String(64))
    payment_fingerprint: Mapped[str | None] = mapped_column(String(64))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = _created()
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(64))


class FraudSignal(Base):
    __tablename__ = "fraud_signals"
    __table_args__ = (UniqueConstraint("referral_id", "rule"),)

    id: Mapped[int] = _pk()
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created()


class Review(Base):
    """Append-only decisions on flagged referrals and manual reward approvals."""

    __tablename__ = "reviews"

    id: Mapped[int] = _pk()
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("reward_grants.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = _created()


class RewardGrant(Base):
    """A reward owed to someone. The idempotency key comes from the business identity
    (program, referral or milestone, role), so a retried batch cannot grant twice."""

    __tablename__ = "reward_grants"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint(
            "status IN ('pending','approved','issued','rejected','clawed_back',"
            "'needs_reconciliation')",
            name="status",
        ),
        Index("ix_reward_grants_status_hold", "status", "hold_until"),
    )

    id: Mapped[int] = _pk()
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    reward_type: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(String(200))
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    coupon_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(24), default="pending")
    hold_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    approved_at: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    status_changed_at: Mapped[datetime] = _created()


class LedgerEntry(Base):
    """Append-only double entry: each transaction's postings sum to zero per currency."""

    __tablename__ = "ledger_entries"
    # No index by account: nothing reads the ledger that way, and each posting paid for one.
    __table_args__ = (UniqueConstraint("transaction_id", "account"),)

    id: Mapped[int] = _pk()
    transaction_id: Mapped[str] = mapped_column(String(200))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("reward_grants.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    account: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = _created()


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','claimed','sent','failed','dead','needs_reconciliation')",
            name="status",
        ),
        Index("ix_outbox_due", "status", "available_at"),
    )

    id: Mapped[int] = _pk()
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    template: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(24), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    available_at: Mapped[datetime] = _created()
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Indexed: providers' delivery events (bounces, opens) name the message by this id.
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None]


class InboxEvent(Base):
    """Every webhook and event as received, kept for good: the dedupe key never expires."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("source", "event_id"), Index("ix_inbox_status", "status"))

    id: Mapped[int] = _pk()
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="received")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = _created()
    processed_at: Mapped[datetime | None]


class Suppression(Base):
    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = _pk()
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class SyncWatermark(Base):
    """How far each CRM source has been read, so a sync pulls only what changed since."""

    __tablename__ = "sync_watermarks"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = _created()


class ExperimentExposure(Base):
    """Who saw which arm of a reward experiment, from the first invitation on; held-out
    advocates are recorded too (arm NULL), never invited, for the incrementality read."""

    __tablename__ = "experiment_exposures"

    experiment: Mapped[str] = mapped_column(String(63), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    arm: Mapped[str | None] = mapped_column(String(100))
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    exposed_at: Mapped[datetime] = _created()


class CrmPush(Base):
    """What each CRM was last told about a contact, as a fingerprint of the values: the
    write-back pushes a contact again only when its values differ."""

    __tablename__ = "crm_pushes"

    target: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    pushed_at: Mapped[datetime] = _created()


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = _pk()
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    audience: Mapped[dict[str, Any] | None]
    multiplier_bp: Mapped[int] = mapped_column(Integer, default=10_000, server_default="10000")
    bonus_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = _created()


class Invitation(Base):
    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_customer_time", "customer_id", "created_at"),)

    id: Mapped[int] = _pk()
    # e.g. invite:{program}:{customer}:{trigger}:{event or day}: a re-run invites nobody twice.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = _created()
    opened_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = _pk()
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    arms: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = _created()
