"""casusregister: casus, betrokkene, aanvraag, outbox

Revision ID: cr0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "cr0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "casus",
        sa.Column("casus_id", sa.String(36), primary_key=True),
        sa.Column("regio", sa.String(32), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("thema", sa.Integer, nullable=False),
        sa.Column("orientatie", sa.Integer, nullable=False),
        sa.Column("aanmelder_type", sa.Integer, nullable=False),
        sa.Column("aanmelder_organisatie", sa.String(200), nullable=False),
        sa.Column("criteria", sa.Text, nullable=False),
        sa.Column("procesregisseur", sa.String(128), nullable=False),
        sa.Column("topx", sa.Boolean, nullable=False),
        sa.Column("aangemeld_op", UtcDateTime, nullable=False),
        sa.Column("gewijzigd_op", UtcDateTime, nullable=False),
        sa.Column("afgesloten_op", UtcDateTime, nullable=True),
        sa.Column("afsluit_reden", sa.Integer, nullable=False),
        sa.Column("status_toelichting", sa.String(500), nullable=False),
        sa.Column("versie", sa.Integer, nullable=False),
    )
    op.create_index("ix_casus_zoeken", "casus", ["aangemeld_op", "casus_id"])
    op.create_index("ix_casus_status", "casus", ["status"])
    op.create_index("ix_casus_procesregisseur", "casus", ["procesregisseur"])
    op.create_table(
        "betrokkene",
        sa.Column("betrokkene_id", sa.String(36), primary_key=True),
        sa.Column(
            "casus_id",
            sa.String(36),
            sa.ForeignKey("casus.casus_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("volgorde", sa.Integer, nullable=False),
        sa.Column("bsn", sa.String(9), nullable=True, index=True),
        sa.Column("voornamen", sa.String(200), nullable=False),
        sa.Column("voorvoegsels", sa.String(50), nullable=False),
        sa.Column("achternaam", sa.String(200), nullable=False),
        sa.Column("geboortedatum", sa.Date, nullable=False, index=True),
        sa.Column("geslacht", sa.Integer, nullable=False),
    )
    op.create_table(
        "aanvraag",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column(
            "casus_id",
            sa.String(36),
            sa.ForeignKey("casus.casus_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("vingerafdruk", sa.String(64), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("volgnummer", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("gebeurtenis_id", sa.String(36), nullable=False, unique=True),
        sa.Column("casus_id", sa.String(36), nullable=False, index=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=False),
        sa.Column("aangemaakt_op", UtcDateTime, nullable=False),
        sa.Column("gepubliceerd_op", UtcDateTime, nullable=True),
    )
    op.create_index("ix_outbox_open", "outbox", ["gepubliceerd_op", "volgnummer"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("aanvraag")
    op.drop_table("betrokkene")
    op.drop_table("casus")
