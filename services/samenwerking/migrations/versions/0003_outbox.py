"""samenwerking: the generic outbox (sw_outbox replaces sw_uitgaand) and the own references

Revision ID: sw0003
Revises: sw0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime
from gedeeld.nats.outbox import maak_tabel
from gedeeld.zvh.v1 import federatie_pb2

revision = "sw0003"
down_revision = "sw0002"
branch_labels = None
depends_on = None

_uitgaand = sa.table(
    "sw_uitgaand",
    sa.column("bericht_id", sa.String),
    sa.column("ontvanger", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("gepubliceerd", sa.Boolean),
    sa.column("aangemaakt_op", UtcDateTime),
)
_outbox = sa.table(
    "sw_outbox",
    sa.column("volgnummer", sa.Integer),
    sa.column("gebeurtenis_id", sa.String),
    sa.column("subject", sa.String),
    sa.column("payload", sa.LargeBinary),
    sa.column("traceparent", sa.String),
    sa.column("aangemaakt_op", UtcDateTime),
    sa.column("gepubliceerd_op", UtcDateTime),
)


def upgrade() -> None:
    maak_tabel("sw_outbox")
    conn = op.get_bind()
    # Every overleg message moves over in its order, published or not; the subject names the
    # sender, which the signed envelope carries.
    rijen = conn.execute(sa.select(_uitgaand).order_by(_uitgaand.c.aangemaakt_op)).all()
    for r in rijen:
        afzender = federatie_pb2.Ondertekend.FromString(r.data).afzender
        conn.execute(
            _outbox.insert().values(
                gebeurtenis_id=r.bericht_id,
                subject=f"zvh.overleg.{r.ontvanger}.{afzender}",
                payload=r.data,
                traceparent="",
                aangemaakt_op=r.aangemaakt_op,
                gepubliceerd_op=r.aangemaakt_op if r.gepubliceerd else None,
            )
        )
    op.drop_table("sw_uitgaand")
    op.create_table(
        "sw_referentie",
        sa.Column("referentie", sa.String(32), primary_key=True),
        sa.Column("casus_id", sa.String(36), nullable=False),
    )
    # The references of the matches known so far; signalering announces the others at its start.
    op.execute(
        "INSERT INTO sw_referentie (referentie, casus_id) "
        "SELECT eigen_referentie, MIN(casus_id) FROM sw_match GROUP BY eigen_referentie"
    )


def downgrade() -> None:
    op.drop_table("sw_referentie")
    op.create_table(
        "sw_uitgaand",
        sa.Column("bericht_id", sa.String(36), primary_key=True),
        sa.Column("ontvanger", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("gepubliceerd", sa.Boolean, nullable=False, index=True),
        sa.Column("aangemaakt_op", UtcDateTime, nullable=False),
    )
    conn = op.get_bind()
    # Overleg messages only (the subject names the recipient); the region's own events have no
    # place in the old table.
    rijen = conn.execute(
        sa.select(_outbox).where(_outbox.c.subject.like("zvh.overleg.%")).order_by(_outbox.c.volgnummer)
    ).all()
    for r in rijen:
        conn.execute(
            _uitgaand.insert().values(
                bericht_id=r.gebeurtenis_id,
                ontvanger=r.subject.split(".")[2],
                data=r.payload,
                gepubliceerd=r.gepubliceerd_op is not None,
                aangemaakt_op=r.aangemaakt_op,
            )
        )
    op.drop_table("sw_outbox")
