"""Tables of autonomy: schedules and their slots, event triggers, deliveries, web users."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from threadline.store.schema import metadata
from threadline.store.types import UTCDateTime, json_type

schedule = Table(
    "schedule",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recipe", String(64), nullable=False),
    Column("client", String(255)),
    # A clock rule ("fri 15:00", or five-field cron) or an event trigger
    # ("before-external-meeting 2h", "storyline-status-change").
    Column("kind", String(16), nullable=False),
    Column("rule", String(255), nullable=False),
    Column("timezone", String(64), nullable=False),
    # Destinations, e.g. ["email:jane@acme.example", "slack:#acme-updates", "notion:<page>"].
    Column("deliver", json_type(), nullable=False),
    Column("auto_send", Boolean, nullable=False, default=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("options", json_type(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# One row per slot (or per trigger event) a schedule has handled: the unique key is what makes
# "never drafts twice for the same slot, even after a restart" hold.
schedule_run = Table(
    "schedule_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("schedule_id", ForeignKey("schedule.id", ondelete="CASCADE"), nullable=False),
    Column("slot", String(255), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("ran_at", UTCDateTime, nullable=False),
    Column("late", Boolean, nullable=False, default=False),
    # drafted | failed
    Column("status", String(16), nullable=False),
    Column("draft_id", ForeignKey("draft.id", ondelete="SET NULL")),
    Column("error", Text),
    UniqueConstraint("schedule_id", "slot"),
)

delivery = Table(
    "delivery",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("draft_id", ForeignKey("draft.id", ondelete="CASCADE"), nullable=False),
    Column("destination", String(512), nullable=False),
    # sha256(draft id, destination): a draft goes to a destination once, whatever retries.
    Column("idempotency_key", String(64), nullable=False, unique=True),
    # pending | sending | sent | failed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("message_id", Text),
    Column("permalink", Text),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index(None, "status"),
)

web_user = Table(
    "web_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

api_token = Table(
    "api_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False),
    # argon2 hash of the token; the token itself is shown once, at creation.
    Column("token_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), nullable=False),
    Column("remote", String(64), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "remote", "at"),
)
