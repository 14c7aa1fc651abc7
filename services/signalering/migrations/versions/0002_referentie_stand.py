"""signalering: the newest signal state per other region's reference

Revision ID: sg0002
Revises: sg0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "sg0002"
down_revision = "sg0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sg_referentie_stand",
        sa.Column("regio", sa.String(32), primary_key=True),
        sa.Column("referentie", sa.String(32), primary_key=True),
        sa.Column("tijdstip", UtcDateTime, nullable=False),
        sa.Column("signaal_id", sa.String(64), nullable=False),
        sa.Column("ingetrokken", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sg_referentie_stand")
