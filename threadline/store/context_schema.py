"""Tables of the accumulated context: what the items mean, derived and kept current.

Everything here can be rebuilt from the items (``threadline accumulate --rebuild``), except
what the user decided (confirmed or rejected merges), which is kept apart and re-applied.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from threadline.store.schema import metadata
from threadline.store.types import UTCDateTime, json_type

# People: identity.person_id says which person an identity belongs to; person_evidence
# says why, one row per identity joined.
person_evidence = Table(
    "person_evidence",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
    Column("identity_key", String(320), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "identity_key"),
)

# Keys that find identities again without a scan: "~addr:jane@x" (strong), "~name:doe" (weak).
identity_token = Table(
    "identity_token",
    metadata,
    Column("token", String(320), nullable=False),
    Column("identity_key", String(320), nullable=False),
    PrimaryKeyConstraint("token", "identity_key"),
    Index(None, "identity_key"),
)

# Co-occurrence, kept as items arrive: how many of an author's first items (by id, see
# ``people_tally``) name each other identity, and which items were counted, when.
identity_tally = Table(
    "identity_tally",
    metadata,
    Column("author_key", String(320), nullable=False),
    Column("other_key", String(320), nullable=False),
    Column("together", Integer, nullable=False),
    PrimaryKeyConstraint("author_key", "other_key"),
)

# One row per author whose tally is current: how many items it counts, up to which id.
identity_tally_state = Table(
    "identity_tally_state",
    metadata,
    Column("author_key", String(320), primary_key=True),
    Column("counted", Integer, nullable=False),
    Column("last_id", Integer, nullable=False),
)

tally_item = Table(
    "tally_item",
    metadata,
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
    Column("author_key", String(320), nullable=False),
    # The item's last_changed_at when it was counted: a later change means count again.
    Column("counted_change", UTCDateTime, nullable=False),
    Index(None, "author_key", "item_id"),
)

# The user's own decisions about people, which no rebuild may undo.
person_decision = Table(
    "person_decision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("identity_a", String(320), nullable=False),
    Column("identity_b", String(320), nullable=False),
    # merge | split
    Column("decision", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

merge_suggestion = Table(
    "merge_suggestion",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("identity_a", String(320), nullable=False),
    Column("identity_b", String(320), nullable=False),
    Column("score", Float, nullable=False),
    Column("evidence", Text, nullable=False),
    # open | accepted | rejected
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("identity_a", "identity_b"),
)

client = Table(
    "client",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    # config | inferred
    Column("origin", String(16), nullable=False),
    Column("rules", json_type(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

project = Table(
    "project",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(512), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("client_id", ForeignKey("client.id", ondelete="SET NULL")),
    Column("origin", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

item_client = Table(
    "item_client",
    metadata,
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", ForeignKey("client.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    PrimaryKeyConstraint("item_id", "client_id"),
    Index(None, "client_id"),
)

item_project = Table(
    "item_project",
    metadata,
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(64), nullable=False),
    PrimaryKeyConstraint("item_id", "project_id"),
    Index(None, "project_id"),
)

storyline = Table(
    "storyline",
    metadata,
    Column("id", Integer, primary_key=True),
    # The canonical id of its earliest item: stable while the storyline grows.
    Column("key", String(512), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    # open | resolved | waiting
    Column("status", String(16), nullable=False),
    Column("status_detail", Text),
    Column("first_at", UTCDateTime),
    Column("last_at", UTCDateTime),
    Column("participants", json_type(), nullable=False),
    Column("clients", json_type(), nullable=False),
    Column("terms", json_type(), nullable=False),
    # {ISO week: [status, status_detail, platforms]} as it stood at the end of each week
    # the storyline has items in: a week's note reads its week, so later items leave it be.
    Column("weekly", json_type()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "last_at"),
)

storyline_item = Table(
    "storyline_item",
    metadata,
    Column("storyline_id", ForeignKey("storyline.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("item_id"),
    Index(None, "storyline_id"),
)

# Whether an item is routine chatter of its place (``storyline_chatter``), kept so a fold
# reads the flag of an old neighbour instead of reading that neighbour's place again.
item_chatter = Table(
    "item_chatter",
    metadata,
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
    Column("chatter", Boolean, nullable=False),
    PrimaryKeyConstraint("item_id"),
)

# Bi-temporal facts: valid_from/valid_to say when it was true in the world; recorded_at /
# expired_at say when Threadline believed it. A new fact expires the one it supersedes.
fact = Table(
    "fact",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", String(512), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("attribute", String(64), nullable=False),
    Column("value", Text),
    Column("previous", Text),
    Column("valid_from", UTCDateTime),
    Column("valid_to", UTCDateTime),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("expired_at", UTCDateTime),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE")),
    Column("supersedes_id", ForeignKey("fact.id", ondelete="SET NULL")),
    Column("detail", json_type(), nullable=False),
    Index(None, "subject", "attribute"),
    Index(None, "valid_from"),
    Index(None, "item_id"),
)

# Relative dates in text ("EOD Friday"), resolved against the item's own time.
item_date = Table(
    "item_date",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
    Column("phrase", String(128), nullable=False),
    Column("resolved", UTCDateTime, nullable=False),
    Column("granularity", String(8), nullable=False),
    Index(None, "item_id"),
    Index(None, "resolved"),
)

weekly_note = Table(
    "weekly_note",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("client.id", ondelete="CASCADE"), nullable=False),
    Column("week", String(8), nullable=False),
    Column("body", json_type(), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("client_id", "week"),
)

# How far accumulation has folded: items whose last_changed_at is after the watermark.
accumulation_state = Table(
    "accumulation_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("watermark", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("detail", json_type(), nullable=False),
)


# Optional local embeddings (the ``embeddings`` extra): the fitted model, and one vector per
# live item under it. Vectors are float32 bytes, the same on both engines.
embedding_model = Table(
    "embedding_model",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("dims", Integer, nullable=False),
    Column("fitted_on", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

item_vector = Table(
    "item_vector",
    metadata,
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", ForeignKey("embedding_model.id", ondelete="CASCADE"), nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Index(None, "model_id"),
)
