"""Identity key index: find identities by address or name token without scanning, and
persons' identities by an index on identity.person_id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_token",
        sa.Column("token", sa.String(length=320), nullable=False),
        sa.Column("identity_key", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("token", "identity_key", name=op.f("pk_identity_token")),
    )
    with op.batch_alter_table("identity_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_token_identity_key"), ["identity_key"], unique=False
        )

    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_person_id"))

    with op.batch_alter_table("identity_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_token_identity_key"))

    op.drop_table("identity_token")
