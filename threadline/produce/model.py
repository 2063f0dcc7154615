"""The shapes every stage of production passes along: scope, context bundle, draft.

select → rank → compose → verify → render. A composer (offline or a language model) gets a
``ContextBundle`` that holds only in-scope items (the client wall is enforced when the bundle
is built), and returns a ``Draft`` of sections made of claims, each claim citing canonical
item ids. The verifier marks each claim kept, dropped or flagged and writes the report.
Renderers turn a verified draft into Markdown, HTML, Slack, Notion blocks or JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ClaimStatus = Literal["kept", "dropped", "flagged"]


class Scope(BaseModel):
    """What a deliverable may speak about: one client (or all, for a digest) and a window."""

    recipe: str
    client: str | None = None
    project: str | None = None
    event: str | None = None
    """For a meeting brief: the canonical id of the calendar event."""
    start: datetime
    end: datetime
    week: str | None = None
    """ISO week label when the deliverable is weekly, e.g. 2026-W47."""


class SourceItem(BaseModel):
    """One item the composer may cite, with what a citation shows about it."""

    id: str
    """Canonical id: slack:<channel>:<ts>, email:<Message-ID>, event:<UID>@<start>, notion:<id>."""
    platform: str
    container: str
    author: str
    occurred_at: datetime | None
    title: str | None = None
    text: str
    permalink: str | None = None
    clients: list[str] = Field(default_factory=list)
    storyline: str | None = None
    """Storyline key, when the item belongs to one."""


class ContextSection(BaseModel):
    """What selection found for one recipe section, ranked: entries with their item ids."""

    key: str
    entries: list[ContextEntry] = Field(default_factory=list)


class ContextEntry(BaseModel):
    """One selected thing to say something about: a storyline, a decision, a change, a risk,
    a meeting. ``summary`` is what the context engine already says about it."""

    kind: str
    summary: str
    items: list[str]
    salience: float = 0.0
    status: str | None = None
    when: datetime | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ContextBundle(BaseModel):
    """Everything a composer may use. Nothing outside the scope is ever in it."""

    scope: Scope
    items: dict[str, SourceItem]
    sections: list[ContextSection]
    previous: Draft | None = None
    """The last update of this recipe sent to this client, to lead with what changed."""
    people: dict[str, str] = Field(default_factory=dict)
    """Identity key → display name, for naming people in claims."""


class Claim(BaseModel):
    text: str
    citations: list[str]
    """Canonical ids of the items that support the claim."""
    status: ClaimStatus = "kept"
    reasons: list[str] = Field(default_factory=list)
    """Why the verifier dropped or flagged it."""


class Section(BaseModel):
    key: str
    title: str
    claims: list[Claim] = Field(default_factory=list)
    style: Literal["bullets", "prose"] = "bullets"


class Redaction(BaseModel):
    kind: str
    """api-key, password, token, card-number…"""
    item: str
    """The canonical id of the item it was found in."""


class VerificationReport(BaseModel):
    kept: int = 0
    dropped: int = 0
    flagged: int = 0
    problems: list[str] = Field(default_factory=list)
    """One line per dropped or flagged claim: the claim, and why."""
    redactions: list[Redaction] = Field(default_factory=list)
    composer_notes: list[str] = Field(default_factory=list)
    """What the composer said about itself: a fallback to offline, a repaired answer."""


class Draft(BaseModel):
    scope: Scope
    title: str
    greeting: str | None = None
    sign_off: str | None = None
    sections: list[Section]
    composer: str
    """offline, or backend:model, e.g. openai:gpt-4o-mini."""
    report: VerificationReport = Field(default_factory=VerificationReport)
    sources: dict[str, SourceItem] = Field(default_factory=dict)
    """The items cited by kept or flagged claims, for rendering the sources list."""
    created_at: datetime | None = None

    def shipped_claims(self) -> list[Claim]:
        return [c for s in self.sections for c in s.claims if c.status != "dropped"]


ContextSection.model_rebuild()
ContextBundle.model_rebuild()
