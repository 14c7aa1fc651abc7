"""samenwerking: when joint handling was first agreed (for the trend radar)

Revision ID: sw0002
Revises: sw0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "sw0002"
down_revision = "sw0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sw_match") as batch:
        batch.add_column(sa.Column("samenwerking_op", UtcDateTime, nullable=True))
    # Matches agreed before this column existed: their last change is the best estimate there is.
    op.execute("UPDATE sw_match SET samenwerking_op = gewijzigd_op WHERE status = 'SAMENWERKING'")


def downgrade() -> None:
    with op.batch_alter_table("sw_match") as batch:
        batch.drop_column("samenwerking_op")
