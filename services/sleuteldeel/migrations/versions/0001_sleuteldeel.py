"""sleuteldeel: requests seen, evaluations per region per day, onboarding windows used

Revision ID: sd0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "sd0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sd_verzoek",
        sa.Column("aanvrager", sa.String(32), primary_key=True),
        sa.Column("verzoek_id", sa.String(64), primary_key=True),
        sa.Column("verloopt_op", UtcDateTime, nullable=False),
    )
    op.create_index("ix_sd_verzoek_verloopt_op", "sd_verzoek", ["verloopt_op"])
    op.create_table(
        "sd_dagtelling",
        sa.Column("aanvrager", sa.String(32), primary_key=True),
        sa.Column("dag", sa.String(10), primary_key=True),
        sa.Column("evaluaties", sa.Integer, nullable=False),
    )
    op.create_table(
        "sd_onboarding",
        sa.Column("vingerafdruk", sa.String(64), primary_key=True),
        sa.Column("aanvrager", sa.String(32), nullable=False),
        sa.Column("extra", sa.Integer, nullable=False),
        sa.Column("gebruikt", sa.Integer, nullable=False),
        sa.Column("tot", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sd_onboarding")
    op.drop_table("sd_dagtelling")
    op.drop_index("ix_sd_verzoek_verloopt_op", "sd_verzoek")
    op.drop_table("sd_verzoek")
