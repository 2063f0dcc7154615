"""What importers and connectors hand to the store: validated records at the edge.

An importer yields a stream of these. The store alone decides whether each one is new,
changed or unchanged, so every importer and every live connector shares one save path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Platform = Literal["slack", "email", "calendar", "notion"]
IdentityKind = Literal["email", "slack", "notion"]
LinkKind = Literal["reply_to", "thread", "mention", "reference"]


def as_utc(value: datetime | None) -> datetime | None:
    """Every stored time is timezone-aware UTC; a naive time is a bug at the edge."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()}: attach a timezone before storing")
    return value.astimezone(UTC)


class SourceInfo(BaseModel):
    """A connected account or an imported archive."""

    platform: Platform
    kind: str = Field(description="importer or connector name, e.g. 'slack-export'")
    account: str = Field(description="workspace, mailbox or calendar identity")
    label: str = ""


class IdentityRef(BaseModel):
    """One identity on one platform: an email address, a Slack user id, a Notion user id."""

    model_config = ConfigDict(frozen=True)

    kind: IdentityKind
    value: str
    display_name: str | None = None

    @field_validator("value")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return value.strip()

    @property
    def key(self) -> str:
        value = self.value.lower() if self.kind == "email" else self.value
        return f"{self.kind}:{value}"


class IdentityRecord(BaseModel):
    """An identity seen in an export's user list, with what the platform says about it."""

    identity: IdentityRef
    platform: Platform
    profile: dict[str, Any] = Field(default_factory=dict)
    """Platform facts useful for merging later: a Slack profile's email, real name, title."""


class LinkRef(BaseModel):
    """A relation from an item to another item or URL, by canonical id or URL."""

    model_config = ConfigDict(frozen=True)

    kind: LinkKind
    target: str


class Attachment(BaseModel):
    name: str
    mime_type: str | None = None
    size: int | None = None
    url: str | None = None


class ItemRecord(BaseModel):
    """One normalized unit of content: a message, an email, an event instance, a page or row."""

    platform: Platform
    kind: str
    canonical_id: str
    native: dict[str, str] = Field(default_factory=dict)
    container_id: str
    container_name: str | None = None
    thread_id: str | None = None
    author: IdentityRef | None = None
    recipients: list[IdentityRef] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    occurred_at: datetime | None = None
    title: str | None = None
    text: str = ""
    permalink: str | None = None
    raw: Any = None
    deleted: bool = False
    links: list[LinkRef] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)

    @field_validator("created_at", "updated_at", "occurred_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)


class QuarantineRecord(BaseModel):
    """Something that could not be read, kept whole so nothing is lost."""

    platform: Platform
    file: str
    position: str
    reason: str
    raw: bytes = b""


class UnitDone(BaseModel):
    """The end of one unit of an export: a Slack day file, an mbox message, a Notion file,
    the events of one iCalendar UID. Its fingerprint (of the unit's bytes and the importer's
    version) lets the next import of the same export skip parsing what has not changed.
    """

    unit: str
    fingerprint: str
    items: int
    skipped: bool = False
    """True when the unit was recognised as unchanged and not parsed: ``items`` then counts
    the items it held last time, all unchanged."""


KnownUnits = Callable[[str, str], "int | None"]
"""``known(unit, fingerprint)``: the item count if that unit was imported whole with that
fingerprint before, else None. The runner hands one to importers that accept it."""


Record = ItemRecord | IdentityRecord | QuarantineRecord | UnitDone
