"""experiment_exposures: who saw which arm of a reward experiment, and who was held out

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:30:00
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiment_exposures",
        sa.Column("experiment", sa.String(length=63), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("arm", sa.String(length=100), nullable=True),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column(
            "exposed_at",
            db.types.UTCDateTime(timezone=True),
            server_default=db.types.utcnow(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_experiment_exposures_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_experiment_exposures_program_id_programs"),
        ),
        sa.PrimaryKeyConstraint(
            "experiment", "customer_id", name=op.f("pk_experiment_exposures")
        ),
    )


def downgrade() -> None:
    op.drop_table("experiment_exposures")
