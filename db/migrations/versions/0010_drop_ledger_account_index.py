"""Drop ix_ledger_account: no query reads the ledger by account (balances go by customer,
clawbacks by grant), and every posting paid for it (15% of the ledger insert)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:40:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_account")


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_account", ["account", "currency"], unique=False)
