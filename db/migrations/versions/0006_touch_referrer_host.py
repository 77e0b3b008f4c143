"""touches.referrer_host: the host of the page a click came from (coupon-site checks)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referrer_host", sa.String(length=253), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.drop_column("referrer_host")
