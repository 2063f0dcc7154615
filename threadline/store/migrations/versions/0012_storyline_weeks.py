"""Each storyline's status as it stood at the end of each week it has items in; each
item's chatter flag.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty for storylines folded before: notes read their current status until the
    # storylines folder writes them again (or ``threadline accumulate --rebuild``).
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "weekly",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    # Empty too: a flag not kept yet is worked out from the item's place and then kept.
    op.create_table(
        "item_chatter",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("chatter", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_chatter_item_id_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_chatter")),
    )


def downgrade() -> None:
    op.drop_table("item_chatter")
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_column("weekly")
