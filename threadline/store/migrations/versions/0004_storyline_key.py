"""Storyline key: the canonical id of a storyline's earliest item, so that recomputing a
neighbourhood of the graph finds the same storyline again instead of making a new one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Storylines are derived data: clear them rather than invent keys; accumulate refills them.
    op.execute("DELETE FROM storyline_item")
    op.execute("DELETE FROM storyline")
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=512), nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_storyline_key"), ["key"])


def downgrade() -> None:
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_storyline_key"), type_="unique")
        batch_op.drop_column("key")
