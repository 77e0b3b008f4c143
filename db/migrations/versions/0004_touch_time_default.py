"""touches: occurred_at defaults to the database clock (live clicks are COPied without it)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:45:00
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.alter_column(
            "occurred_at",
            existing_type=db.types.UTCDateTime(timezone=True),
            server_default=db.types.utcnow(),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.alter_column(
            "occurred_at",
            existing_type=db.types.UTCDateTime(timezone=True),
            server_default=None,
            existing_nullable=False,
        )
