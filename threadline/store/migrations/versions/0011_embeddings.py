"""Optional local embeddings: the fitted model and a vector per item; an index that finds
a week's tombstones without reading the week.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embedding_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dims", sa.Integer(), nullable=False),
        sa.Column("fitted_on", sa.Integer(), nullable=False),
        sa.Column("created_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embedding_model")),
    )
    op.create_table(
        "item_vector",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_vector_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["embedding_model.id"],
            name=op.f("fk_item_vector_model_id_embedding_model"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_vector")),
    )
    with op.batch_alter_table("item_vector", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_vector_model_id"), ["model_id"], unique=False)
    op.create_index(
        "ix_item_tombstone_occurred_at",
        "item",
        ["occurred_at"],
        unique=False,
        sqlite_where=sa.text("deleted = 1"),
        postgresql_where=sa.text("deleted"),
    )


def downgrade() -> None:
    op.drop_index("ix_item_tombstone_occurred_at", table_name="item")
    with op.batch_alter_table("item_vector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_vector_model_id"))
    op.drop_table("item_vector")
    op.drop_table("embedding_model")
