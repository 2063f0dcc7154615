"""Import units: fingerprints of the parts of an export already imported whole, so that
re-importing an unchanged export skips parsing them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_unit",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=1024), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("seen_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_import_unit_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "unit", name=op.f("pk_import_unit")),
    )


def downgrade() -> None:
    op.drop_table("import_unit")
