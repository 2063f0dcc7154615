"""The tables, in SQLAlchemy Core. Alembic migrations create them; code reads them from here.

Time is data: an edited item keeps its earlier text in ``item_version``; a deleted item
stays as a tombstone (``deleted`` set, ``deleted_at`` recorded). Nothing is erased.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from threadline.store.types import UTCDateTime, json_type

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

source = Table(
    "source",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("account", String(255), nullable=False),
    Column("label", String(255), nullable=False, default=""),
    Column("added_at", UTCDateTime, nullable=False),
    Column("last_import_at", UTCDateTime),
    UniqueConstraint("platform", "kind", "account"),
)

# A live connection to one account. Its secrets are NOT here: they live encrypted apart
# (threadline.connectors.credentials), keyed by the connection id.
connection = Table(
    "connection",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(32), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("account", String(255), nullable=False),
    Column("label", String(255), nullable=False, default=""),
    Column("source_id", ForeignKey("source.id")),
    Column("api_url", Text),
    Column("scopes", json_type(), nullable=False),
    Column("options", json_type(), nullable=False),
    # The resume point, saved in the same transaction as the page of items it follows.
    Column("cursor", json_type()),
    Column("cadence_seconds", Integer, nullable=False),
    # never | ok | error | auth (reconnect needed) | paused
    Column("status", String(16), nullable=False),
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("items", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("name", "account"),
)

import_run = Table(
    "import_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("source.id"), nullable=False),
    Column("importer", String(32), nullable=False),
    Column("path", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    # running -> done | empty | failed; a run left "running" was interrupted.
    Column("status", String(16), nullable=False),
    Column("added", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("error", Text),
)

# One row per unit of an export already imported whole (a Slack day file, an mbox message):
# an unchanged unit is skipped on re-import instead of parsed again.
import_unit = Table(
    "import_unit",
    metadata,
    Column("source_id", ForeignKey("source.id", ondelete="CASCADE"), nullable=False),
    Column("unit", String(1024), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("items", Integer, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source_id", "unit"),
)

item = Table(
    "item",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("canonical_id", String(512), nullable=False, unique=True),
    Column("platform", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source_id", ForeignKey("source.id"), nullable=False),
    Column("native", json_type(), nullable=False),
    Column("container_id", String(512), nullable=False),
    Column("container_name", String(512)),
    Column("thread_id", String(512)),
    Column("author_key", String(320)),
    Column("recipients", json_type(), nullable=False),
    Column("created_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("occurred_at", UTCDateTime),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("permalink", Text),
    Column("labels", json_type(), nullable=False),
    Column("attachments", json_type(), nullable=False),
    Column("raw", json_type()),
    Column("content_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("deleted_at", UTCDateTime),
    # Recorded time (when Threadline learned it), beside the platform's own valid times.
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_changed_at", UTCDateTime, nullable=False),
    # Container then time: a channel's neighbours of a message, a week of a mailbox thread.
    Index(None, "platform", "container_id", "occurred_at"),
    Index(None, "thread_id"),
    Index(None, "occurred_at"),
    Index(None, "author_key"),
    Index(None, "last_changed_at"),
    # The few tombstones of a week (a cancelled meeting), without reading the week's items.
    # Partial, so that no query over live items takes it for the time order.
    Index(
        "ix_item_tombstone_occurred_at",
        "occurred_at",
        sqlite_where=text("deleted = 1"),
        postgresql_where=text("deleted"),
    ),
)

item_version = Table(
    "item_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    # edited | deleted | restored: what replaced this version.
    Column("change", String(16), nullable=False),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("occurred_at", UTCDateTime),
    Column("content_hash", String(64), nullable=False),
    Column("raw", json_type()),
    Column("valid_from", UTCDateTime),
    Column("valid_to", UTCDateTime),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", "version"),
)

person = Table(
    "person",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

identity = Table(
    "identity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(320), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("value", String(320), nullable=False),
    Column("display_name", String(255)),
    Column("platform", String(16), nullable=False),
    Column("person_id", ForeignKey("person.id")),
    Column("profile", json_type(), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Index(None, "person_id"),
)

link = Table(
    "link",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("from_id", String(512), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("target", String(1024), nullable=False),
    UniqueConstraint("from_id", "kind", "target"),
    Index(None, "target"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("source_id", ForeignKey("source.id")),
    Column("import_run_id", ForeignKey("import_run.id")),
    Column("platform", String(16), nullable=False),
    Column("file", Text, nullable=False),
    Column("position", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
