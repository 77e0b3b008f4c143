"""What `referral export` writes for BI tools: the engine's tables, each as a fixed list of
columns, read in keyset-ordered chunks so a million rows never sit in memory at once.
No names, email addresses or phone numbers leave: customers go out by id and CRM id."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Advocate,
    Conversion,
    Customer,
    FraudSignal,
    Invitation,
    LedgerEntry,
    Program,
    Referral,
    Review,
    RewardGrant,
    Touch,
)


@dataclass(frozen=True, slots=True)
class Export:
    name: str
    model: Any
    columns: tuple[str, ...]


EXPORTS: tuple[Export, ...] = (
    Export("programs", Program, ("id", "slug", "name", "type", "current_version")),
    Export(
        "customers",
        Customer,
        (
            "id",
            "source",
            "external_id",
            "segment",
            "country",
            "customer_since",
            "nps_score",
            "orders_count",
            "total_spend_minor",
            "currency",
            "tier",
            "created_at",
        ),
    ),
    Export("advocates", Advocate, ("id", "program_id", "customer_id", "score", "enrolled_via")),
    Export(
        "touches",
        Touch,
        ("id", "program_id", "code_id", "kind", "channel", "referrer_host", "occurred_at"),
    ),
    Export(
        "referrals",
        Referral,
        (
            "id",
            "program_id",
            "program_version_id",
            "referrer_id",
            "referee_id",
            "attribution_model",
            "attributed_by",
            "channel",
            "status",
            "status_reason",
            "referred_at",
            "qualifying_conversion_id",
            "created_at",
            "status_changed_at",
        ),
    ),
    Export(
        "conversions",
        Conversion,
        (
            "id",
            "source",
            "external_id",
            "kind",
            "customer_id",
            "order_id",
            "amount_minor",
            "currency",
            "referral_id",
            "occurred_at",
            "outcome",
        ),
    ),
    Export(
        "reward_grants",
        RewardGrant,
        (
            "id",
            "program_id",
            "referral_id",
            "beneficiary_id",
            "role",
            "reward_type",
            "amount_minor",
            "currency",
            "campaign_id",
            "status",
            "hold_until",
            "created_at",
        ),
    ),
    Export(
        "ledger_entries",
        LedgerEntry,
        (
            "id",
            "transaction_id",
            "grant_id",
            "customer_id",
            "account",
            "kind",
            "amount_minor",
            "currency",
            "created_at",
        ),
    ),
    Export(
        "invitations",
        Invitation,
        (
            "id",
            "program_id",
            "campaign_id",
            "customer_id",
            "channel",
            "trigger",
            "created_at",
            "opened_at",
            "clicked_at",
        ),
    ),
    Export(
        "fraud_signals",
        FraudSignal,
        ("id", "referral_id", "rule", "severity", "score", "reason_code", "created_at"),
    ),
    Export(
        "reviews",
        Review,
        ("id", "referral_id", "grant_id", "decision", "decided_by", "decided_at"),
    ),
)


def export_named(names: Sequence[str]) -> list[Export]:
    known = {e.name: e for e in EXPORTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(unknown[0])
    return [known[n] for n in names] if names else list(EXPORTS)


def chunks(session: Session, export: Export, size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in id order, `size` at a time."""
    columns = [getattr(export.model, c) for c in export.columns]
    after = 0
    while True:
        rows = session.execute(
            select(*columns).where(export.model.id > after).order_by(export.model.id).limit(size)
        ).all()
        if not rows:
            return
        yield [tuple(r) for r in rows]
        after = rows[-1][0]
