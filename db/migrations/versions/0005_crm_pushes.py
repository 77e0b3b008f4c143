"""crm_pushes: what each CRM was last told about a contact (write-back)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:30:00
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_pushes",
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "pushed_at",
            db.types.UTCDateTime(timezone=True),
            server_default=db.types.utcnow(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_crm_pushes_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("target", "customer_id", name=op.f("pk_crm_pushes")),
    )


def downgrade() -> None:
    op.drop_table("crm_pushes")
