"""Context tables: people evidence and decisions, clients, projects, storylines, bi-temporal
facts, resolved dates, weekly notes, and the accumulation watermark.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import threadline.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accumulation_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("watermark", threadline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_accumulation_state")),
    )
    op.create_table(
        "client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client")),
        sa.UniqueConstraint("name", name=op.f("uq_client_name")),
    )
    op.create_table(
        "merge_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_a", sa.String(length=320), nullable=False),
        sa.Column("identity_b", sa.String(length=320), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_suggestion")),
        sa.UniqueConstraint(
            "identity_a", "identity_b", name=op.f("uq_merge_suggestion_identity_a_identity_b")
        ),
    )
    op.create_table(
        "person_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_a", sa.String(length=320), nullable=False),
        sa.Column("identity_b", sa.String(length=320), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("created_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_decision")),
    )
    op.create_table(
        "storyline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_detail", sa.Text(), nullable=True),
        sa.Column("first_at", threadline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_at", threadline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "participants",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "clients",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyline")),
    )
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storyline_last_at"), ["last_at"], unique=False)

    op.create_table(
        "person_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("identity_key", sa.String(length=320), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_evidence_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_evidence")),
    )
    with op.batch_alter_table("person_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_evidence_identity_key"), ["identity_key"], unique=False
        )

    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_project_client_id_client"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
        sa.UniqueConstraint("key", name=op.f("uq_project_key")),
    )
    op.create_table(
        "weekly_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_weekly_note_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_note")),
        sa.UniqueConstraint("client_id", "week", name=op.f("uq_weekly_note_client_id_week")),
    )
    op.create_table(
        "fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("previous", sa.Text(), nullable=True),
        sa.Column("valid_from", threadline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_to", threadline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expired_at", threadline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_fact_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["fact.id"],
            name=op.f("fk_fact_supersedes_id_fact"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact")),
    )
    with op.batch_alter_table("fact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fact_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_fact_subject_attribute"), ["subject", "attribute"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fact_valid_from"), ["valid_from"], unique=False)

    op.create_table(
        "item_client",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_item_client_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_client_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "client_id", name=op.f("pk_item_client")),
    )
    with op.batch_alter_table("item_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_client_client_id"), ["client_id"], unique=False)

    op.create_table(
        "item_date",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(length=128), nullable=False),
        sa.Column("resolved", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granularity", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_date_item_id_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_date")),
    )
    with op.batch_alter_table("item_date", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_date_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_date_resolved"), ["resolved"], unique=False)

    op.create_table(
        "item_project",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_item_project_item_id_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_item_project_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "project_id", name=op.f("pk_item_project")),
    )
    with op.batch_alter_table("item_project", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_project_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "storyline_item",
        sa.Column("storyline_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("added_at", threadline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["item.id"],
            name=op.f("fk_storyline_item_item_id_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["storyline_id"],
            ["storyline.id"],
            name=op.f("fk_storyline_item_storyline_id_storyline"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_storyline_item")),
    )
    with op.batch_alter_table("storyline_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storyline_item_storyline_id"), ["storyline_id"], unique=False
        )

    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_last_changed_at"), ["last_changed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_last_changed_at"))

    with op.batch_alter_table("storyline_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storyline_item_storyline_id"))

    op.drop_table("storyline_item")
    with op.batch_alter_table("item_project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_project_project_id"))

    op.drop_table("item_project")
    with op.batch_alter_table("item_date", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_date_resolved"))
        batch_op.drop_index(batch_op.f("ix_item_date_item_id"))

    op.drop_table("item_date")
    with op.batch_alter_table("item_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_client_client_id"))

    op.drop_table("item_client")
    with op.batch_alter_table("fact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fact_valid_from"))
        batch_op.drop_index(batch_op.f("ix_fact_subject_attribute"))
        batch_op.drop_index(batch_op.f("ix_fact_item_id"))

    op.drop_table("fact")
    op.drop_table("weekly_note")
    op.drop_table("project")
    with op.batch_alter_table("person_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_evidence_identity_key"))

    op.drop_table("person_evidence")
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storyline_last_at"))

    op.drop_table("storyline")
    op.drop_table("person_decision")
    op.drop_table("merge_suggestion")
    op.drop_table("client")
    op.drop_table("accumulation_state")
