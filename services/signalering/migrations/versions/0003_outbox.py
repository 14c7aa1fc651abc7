"""signalering: the outbox of region-local events (MatchGevonden, MatchGesloten, SignaalReferentie)

Revision ID: sg0003
Revises: sg0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.nats.outbox import maak_tabel

revision = "sg0003"
down_revision = "sg0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    maak_tabel("sg_outbox")
    # Existing references are announced to samenwerking at the next start (gemeld false).
    with op.batch_alter_table("sg_signaal") as batch:
        batch.add_column(sa.Column("gemeld", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("sg_signaal") as batch:
        batch.drop_column("gemeld")
    op.drop_table("sg_outbox")
