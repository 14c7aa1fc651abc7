"""casusregister: mark casussen whose personal data the bewaartermijn job removed

Revision ID: cr0002
Revises: cr0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "cr0002"
down_revision = "cr0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("casus") as batch:
        batch.add_column(sa.Column("gegevens_verwijderd_op", UtcDateTime, nullable=True))
    op.create_index("ix_casus_afgesloten", "casus", ["afgesloten_op"])


def downgrade() -> None:
    op.drop_index("ix_casus_afgesloten", "casus")
    with op.batch_alter_table("casus") as batch:
        batch.drop_column("gegevens_verwijderd_op")
