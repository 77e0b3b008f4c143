"""conversions: partial indexes for the fraud facts (sign-ups per device and network,
promo codes typed without a referral link)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEXES = (
    (
        "ix_conversions_signup_device",
        ["device_id", "occurred_at"],
        "kind = 'signup' AND device_id IS NOT NULL",
    ),
    (
        "ix_conversions_signup_ip",
        ["ip_hash", "occurred_at"],
        "kind = 'signup' AND ip_hash IS NOT NULL",
    ),
    (
        "ix_conversions_typed_code",
        ["referral_code", "occurred_at"],
        "referral_code IS NOT NULL AND visitor_id IS NULL",
    ),
)


def upgrade() -> None:
    for name, columns, where in _INDEXES:
        op.create_index(
            name,
            "conversions",
            columns,
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _columns, _where in _INDEXES:
        op.drop_index(name, table_name="conversions")
