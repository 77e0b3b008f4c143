"""referrals.channel: where the referral came from (the clicked link's channel, or
promo_code), for the report's sources

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("channel")
