"""Tables of production: drafts, the user's edits to them, and what was learned from edits."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from threadline.store.schema import metadata
from threadline.store.types import UTCDateTime, json_type

draft = Table(
    "draft",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recipe", String(64), nullable=False),
    Column("client", String(255)),
    # The slot the draft is for, e.g. "2026-W47": one recipe/client/slot has one live draft.
    Column("slot", String(64), nullable=False),
    # draft | approved | sent | rejected | superseded
    Column("status", String(16), nullable=False),
    Column("composer", String(128), nullable=False),
    # The threadline.produce.model.Draft, verified, as JSON.
    Column("body", json_type(), nullable=False),
    # The text the user edited, when they did (Markdown); the body stays what was composed.
    Column("edited_markdown", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("reason", Text),
    Index(None, "recipe", "client", "slot"),
    Index(None, "status"),
)

draft_edit = Table(
    "draft_edit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("draft_id", ForeignKey("draft.id", ondelete="CASCADE"), nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("diff", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "draft_id"),
)

preference = Table(
    "preference",
    metadata,
    Column("id", Integer, primary_key=True),
    # "*" for everything, a recipe name, or "recipe:client".
    Column("scope", String(320), nullable=False),
    # e.g. section_order, section_style:highlights, greeting, sign_off, name_style,
    # cut_phrase, add_phrase, date_format, section_length:risks, detail
    Column("key", String(128), nullable=False),
    Column("value", json_type(), nullable=False),
    # The draft_edit ids it was learned from.
    Column("evidence", json_type(), nullable=False),
    Column("pinned", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "scope", "key"),
)
