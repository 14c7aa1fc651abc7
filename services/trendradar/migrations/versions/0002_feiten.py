"""trendradar: the counting facts, kept from the region's own events (no identifiers)

Revision ID: tr0002
Revises: tr0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "tr0002"
down_revision = "tr0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tr_casus",
        sa.Column("casus_id", sa.String(36), primary_key=True),
        sa.Column("thema", sa.Integer, nullable=False),
        sa.Column("orientatie", sa.Integer, nullable=False),
        sa.Column("aangemeld_op", UtcDateTime, nullable=False),
        sa.Column("afgesloten_op", UtcDateTime, nullable=True),
        sa.Column("versie", sa.Integer, nullable=False),
    )
    op.create_index("ix_tr_casus_aangemeld_op", "tr_casus", ["aangemeld_op"])
    op.create_index("ix_tr_casus_afgesloten_op", "tr_casus", ["afgesloten_op"])
    op.create_table(
        "tr_match",
        sa.Column("match_id", sa.String(36), primary_key=True),
        sa.Column("casus_id", sa.String(36), nullable=False),
        sa.Column("zekerheid", sa.Integer, nullable=False),
        sa.Column("gevonden_op", UtcDateTime, nullable=False),
    )
    op.create_index("ix_tr_match_casus_id", "tr_match", ["casus_id"])
    op.create_index("ix_tr_match_gevonden_op", "tr_match", ["gevonden_op"])
    op.create_table(
        "tr_samenwerking",
        sa.Column("match_id", sa.String(36), primary_key=True),
        sa.Column("casus_id", sa.String(36), nullable=False),
        sa.Column("gevonden_op", UtcDateTime, nullable=False),
        sa.Column("gestart_op", UtcDateTime, nullable=False),
    )
    op.create_index("ix_tr_samenwerking_casus_id", "tr_samenwerking", ["casus_id"])
    op.create_index("ix_tr_samenwerking_gestart_op", "tr_samenwerking", ["gestart_op"])


def downgrade() -> None:
    op.drop_table("tr_samenwerking")
    op.drop_table("tr_match")
    op.drop_table("tr_casus")
