"""A weekly note as data: sections of entries, every entry citing canonical item ids.

The stored body holds identity keys, never person names: people merge and rename after a
note is written, and a body that named them would differ between incremental folding and
a rebuild. Names are resolved when the note is read (``note_render.with_names``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

SECTION_TITLES = {
    "storylines": "Storylines",
    "decisions": "Decisions",
    "changes": "Changes",
    "risks": "Open risks",
    "upcoming": "Upcoming meetings",
    "people": "Who was involved",
}
SECTION_ORDER = tuple(SECTION_TITLES)


class Entry(BaseModel):
    text: str
    citations: list[str] = Field(default_factory=list)
    """Canonical ids of the items that support this entry."""
    at: str | None = None
    """ISO time the entry is about, when it has one."""
    detail: dict[str, Any] = Field(default_factory=dict)


class Section(BaseModel):
    key: str
    title: str
    entries: list[Entry] = Field(default_factory=list)


class Source(BaseModel):
    id: str
    platform: str
    container: str
    author: str | None = None
    """An identity key in the stored body; a display name once read with names."""
    occurred_at: str | None = None
    title: str | None = None
    permalink: str | None = None


class NoteBody(BaseModel):
    client: str
    week: str
    start: str
    end: str
    sections: list[Section] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def cited(self) -> set[str]:
        return {c for s in self.sections for e in s.entries for c in e.citations}


class NoteView(BaseModel):
    """What ``threadline context`` shows: a body plus when it last changed."""

    body: NoteBody
    updated_at: str | None = None
    as_of: str | None = None
