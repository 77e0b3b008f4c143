"""conversions: the index of unprocessed conversions holds only those (partial, by id),
instead of every conversion by its processed_at, which nothing reads

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_UNPROCESSED = "processed_at IS NULL"


def upgrade() -> None:
    op.drop_index("ix_conversions_unprocessed", table_name="conversions")
    op.create_index(
        "ix_conversions_unprocessed",
        "conversions",
        ["id"],
        unique=False,
        postgresql_where=sa.text(_UNPROCESSED),
        sqlite_where=sa.text(_UNPROCESSED),
    )


def downgrade() -> None:
    op.drop_index("ix_conversions_unprocessed", table_name="conversions")
    op.create_index("ix_conversions_unprocessed", "conversions", ["processed_at", "id"])
