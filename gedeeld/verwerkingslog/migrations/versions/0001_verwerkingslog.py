"""verwerkingslog: LDV records, audit records, chain heads

Revision ID: vl0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from gedeeld.db import UtcDateTime

revision = "vl0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    kop = op.create_table(
        "ldv_ketenkop",
        sa.Column("keten", sa.String(32), primary_key=True),
        sa.Column("laatste_seq", sa.Integer, nullable=False),
        sa.Column("laatste_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        kop,
        [
            {"keten": "audit", "laatste_seq": 0, "laatste_hash": "0" * 64},
            {"keten": "verwerking", "laatste_seq": 0, "laatste_hash": "0" * 64},
        ],
    )
    op.create_table(
        "ldv_audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tijdstip", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("rol", sa.String(32), nullable=False),
        sa.Column("doel", sa.String(128), nullable=False),
        sa.Column("handeling", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("resultaat", sa.String(32), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False, index=True),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "ldv_verwerking",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16), nullable=True),
        sa.Column("naam", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start", UtcDateTime, nullable=False),
        sa.Column("eind", UtcDateTime, nullable=False),
        sa.Column("processing_activity_id", sa.String(256), nullable=False),
        sa.Column("data_subject_id", sa.String(64), nullable=False),
        sa.Column("data_subject_type", sa.String(32), nullable=False),
        sa.Column("foreign_operation", sa.String(128), nullable=True),
        sa.Column("audit_seq", sa.Integer, sa.ForeignKey("ldv_audit.seq"), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_ldv_verwerking_subject", "ldv_verwerking", ["data_subject_id"])
    op.create_index("ix_ldv_verwerking_trace", "ldv_verwerking", ["trace_id"])


def downgrade() -> None:
    op.drop_table("ldv_verwerking")
    op.drop_table("ldv_audit")
    op.drop_table("ldv_ketenkop")
