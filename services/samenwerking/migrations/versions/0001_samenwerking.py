"""samenwerking: matches' joint handling, change feed, messages, overleg outbox

Revision ID: sw0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "sw0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sw_match",
        sa.Column("match_id", sa.String(36), primary_key=True),
        sa.Column("casus_id", sa.String(36), nullable=False, index=True),
        sa.Column("betrokkene_id", sa.String(36), nullable=False),
        sa.Column("eigen_referentie", sa.String(32), nullable=False),
        sa.Column("andere_regio", sa.String(32), nullable=False),
        sa.Column("andere_referentie", sa.String(32), nullable=False),
        sa.Column("zekerheid", sa.Integer, nullable=False),
        sa.Column("sleutel_types", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("regie", sa.String(32), nullable=False),
        sa.Column("voorgesteld_door", sa.String(32), nullable=False),
        sa.Column("reden", sa.String(500), nullable=False),
        sa.Column("contact_regio", sa.String(200), nullable=False),
        sa.Column("contact_procesregisseur", sa.String(200), nullable=False),
        sa.Column("eigen_contact", sa.String(200), nullable=False),
        sa.Column("contact_verstuurd", sa.Boolean, nullable=False),
        sa.Column("aangemaakt_op", UtcDateTime, nullable=False),
        sa.Column("gewijzigd_op", UtcDateTime, nullable=False),
        sa.UniqueConstraint("eigen_referentie", "andere_regio", "andere_referentie", name="uq_sw_match"),
    )
    op.create_index("ix_sw_match_andere", "sw_match", ["andere_regio", "andere_referentie"])
    op.create_table(
        "sw_kop",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("laatste", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO sw_kop (id, laatste) VALUES (1, 0)")
    op.create_table(
        "sw_wijziging",
        sa.Column("volgnummer", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("match_id", sa.String(36), nullable=False, index=True),
        sa.Column("nieuw", sa.Boolean, nullable=False),
        sa.Column("tijdstip", UtcDateTime, nullable=False),
    )
    op.create_table(
        "sw_bericht",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("match_id", sa.String(36), nullable=False, index=True),
        sa.Column("regio", sa.String(32), nullable=False),
        sa.Column("tekst", sa.Text, nullable=False),
        sa.Column("tijdstip", UtcDateTime, nullable=False),
    )
    op.create_table(
        "sw_ontvangen",
        sa.Column("bericht_id", sa.String(64), primary_key=True),
        sa.Column("ontvangen_op", UtcDateTime, nullable=False),
    )
    op.create_table(
        "sw_uitgaand",
        sa.Column("bericht_id", sa.String(36), primary_key=True),
        sa.Column("ontvanger", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("gepubliceerd", sa.Boolean, nullable=False, index=True),
        sa.Column("aangemaakt_op", UtcDateTime, nullable=False),
    )
    op.create_table(
        "sw_casus",
        sa.Column("casus_id", sa.String(36), primary_key=True),
        sa.Column("procesregisseur", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for tabel in (
        "sw_casus",
        "sw_uitgaand",
        "sw_ontvangen",
        "sw_bericht",
        "sw_wijziging",
        "sw_kop",
        "sw_match",
    ):
        op.drop_table(tabel)
