"""trendradar: privacy ledger (append-only) and received releases

Revision ID: tr0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "tr0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tr_grootboek",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("regio", sa.String(32), nullable=False),
        sa.Column("jaar", sa.Integer, nullable=False),
        sa.Column("jaar_volgnummer", sa.Integer, nullable=False),
        sa.Column("periode", sa.String(7), nullable=False),
        sa.Column("release_id", sa.String(64), nullable=False),
        sa.Column("versie", sa.Integer, nullable=False),
        sa.Column("epsilon", sa.Float, nullable=False),
        sa.Column("ondertekend", sa.LargeBinary, nullable=False),
        sa.Column("aangemaakt_op", UtcDateTime, nullable=False),
        sa.UniqueConstraint("regio", "periode", "versie", name="uq_tr_grootboek_versie"),
        sa.UniqueConstraint("regio", "jaar", "jaar_volgnummer", name="uq_tr_grootboek_volgorde"),
    )
    # Append-only: the budget spent must never shrink, and a release never changes.
    if op.get_bind().dialect.name == "sqlite":
        for wat in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER tr_grootboek_geen_{wat.lower()} BEFORE {wat} ON tr_grootboek "
                "BEGIN SELECT RAISE(ABORT, 'tr_grootboek is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION tr_grootboek_alleen_toevoegen() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'tr_grootboek is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER tr_grootboek_alleen_toevoegen BEFORE UPDATE OR DELETE ON tr_grootboek "
            "FOR EACH ROW EXECUTE FUNCTION tr_grootboek_alleen_toevoegen()"
        )
    op.create_table(
        "tr_ontvangen",
        sa.Column("regio", sa.String(32), primary_key=True),
        sa.Column("periode", sa.String(7), primary_key=True),
        sa.Column("versie", sa.Integer, primary_key=True),
        sa.Column("release", sa.LargeBinary, nullable=False),
        sa.Column("ontvangen_op", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tr_ontvangen")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER tr_grootboek_alleen_toevoegen ON tr_grootboek")
        op.execute("DROP FUNCTION tr_grootboek_alleen_toevoegen()")
    op.drop_table("tr_grootboek")
