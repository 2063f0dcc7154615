"""Index items by container and time, so the neighbours of a message in its channel and a
client's window of activity are index range scans rather than scans of the container.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_platform_container_id")
        batch_op.create_index(
            "ix_item_platform_container_id_occurred_at",
            ["platform", "container_id", "occurred_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_platform_container_id_occurred_at")
        batch_op.create_index(
            "ix_item_platform_container_id", ["platform", "container_id"], unique=False
        )
