"""Co-occurrence tallies: per author, how many of their first items name each identity.

An upgraded store starts with no tallies; each author's is counted the first time it is
needed (``people_tally.ensure``), so nothing has to be folded again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_tally",
        sa.Column("author_key", sa.String(length=320), nullable=False),
        sa.Column("other_key", sa.String(length=320), nullable=False),
        sa.Column("together", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("author_key", "other_key", name=op.f("pk_identity_tally")),
    )
    op.create_table(
        "identity_tally_state",
        sa.Column("author_key", sa.String(length=320), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("author_key", name=op.f("pk_identity_tally_state")),
    )
    op.create_table(
        "tally_item",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("author_key", sa.String(length=320), nullable=False),
        sa.Column(
            "counted_change", threadline.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["item.id"],
            name=op.f("fk_tally_item_item_id_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_tally_item")),
    )
    with op.batch_alter_table("tally_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tally_item_author_key_item_id"), ["author_key", "item_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tally_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tally_item_author_key_item_id"))
    op.drop_table("tally_item")
    op.drop_table("identity_tally_state")
    op.drop_table("identity_tally")
