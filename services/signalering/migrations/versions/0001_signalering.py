"""signalering: token index, own signals, matches

Revision ID: sg0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "sg0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sg_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token", sa.LargeBinary(64), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("sleutel_type", sa.String(32), nullable=False),
        sa.Column("casus_id", sa.String(36), nullable=False),
        sa.Column("betrokkene_id", sa.String(36), nullable=False),
        sa.Column("referentie", sa.String(32), nullable=False),
    )
    op.create_index("ix_sg_token_token", "sg_token", ["token", "epoch"])
    op.create_index("ix_sg_token_casus", "sg_token", ["casus_id"])
    op.create_table(
        "sg_signaal",
        sa.Column("referentie", sa.String(32), primary_key=True),
        sa.Column("signaal_id", sa.String(36), nullable=False, unique=True),
        sa.Column("casus_id", sa.String(36), nullable=False, index=True),
        sa.Column("betrokkene_id", sa.String(36), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("verloopt_op", UtcDateTime, nullable=False),
        sa.Column("ingetrokken", sa.Boolean, nullable=False),
        sa.Column("gepubliceerd", sa.Boolean, nullable=False),
    )
    op.create_table(
        "sg_match",
        sa.Column("match_id", sa.String(36), primary_key=True),
        sa.Column("eigen_casus_id", sa.String(36), nullable=False, index=True),
        sa.Column("eigen_betrokkene_id", sa.String(36), nullable=False),
        sa.Column("eigen_referentie", sa.String(32), nullable=False),
        sa.Column("andere_regio", sa.String(32), nullable=False),
        sa.Column("andere_referentie", sa.String(32), nullable=False),
        sa.Column("sleutel_types", sa.String(200), nullable=False),
        sa.Column("zekerheid", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("aangemaakt_op", UtcDateTime, nullable=False),
        sa.Column("gewijzigd_op", UtcDateTime, nullable=False),
        sa.UniqueConstraint("eigen_referentie", "andere_regio", "andere_referentie", name="uq_sg_match"),
    )
    op.create_index("ix_sg_match_andere", "sg_match", ["andere_regio", "andere_referentie"])


def downgrade() -> None:
    op.drop_table("sg_match")
    op.drop_table("sg_signaal")
    op.drop_table("sg_token")
