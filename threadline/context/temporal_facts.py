"""Facts from an item's history: what changed (moved, renamed, cancelled, edited, a Notion
status), what was decided, and what is due.

An item's history is its states, oldest first: one per ``item_version`` row plus the current
row. Each fact carries two clocks, both taken from the store so that folding is repeatable:
``valid_from`` is when the change happened in the world (the platform's own time) and
``recorded_at`` is when Threadline first saw the state that shows it. Which fact a later one
supersedes is worked out afterwards, per (subject, attribute), by the timeline folder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, select

from threadline.context.relative_dates import FoundDate, find_dates
from threadline.ids import instance_start
from threadline.store.schema import item, item_version

MAX_VALUE = 2000
# "decision:" ends in punctuation, so it sits outside the trailing word boundary.
_DECISION = re.compile(
    r"\b(?:we(?:'ve|\s+have)?\s+decided|decided\s+to|agreed\s+to|we\s+agreed"
    r"|going\s+with|go\s+with)\b|\bdecision\s*:",
    re.IGNORECASE,
)
# "instead of" alone is mostly description ("2s instead of 20s"); it counts as a decision
# only beside a plan.
_INSTEAD = re.compile(r"\binstead\s+of\b", re.IGNORECASE)
_PLAN = re.compile(
    r"\b(?:let'?s|we'?ll|we\s+will|we\s+are\s+going|we'?re\s+going|switch(?:ing)?\s+to)\b",
    re.IGNORECASE,
)
_DECISION_TITLE = re.compile(r"^\s*decision\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_RECURRENCE_ID = re.compile(r"^RECURRENCE-ID", re.MULTILINE)


@dataclass(frozen=True)
class State:
    version: int
    title: str | None
    text: str
    occurred_at: datetime | None
    raw: Any
    deleted: bool
    valid_from: datetime | None
    """World time this state began, when the platform says (else None)."""
    valid_to: datetime | None
    """World time it was replaced; None for the current state."""
    recorded_at: datetime
    """When Threadline first saw this state."""
    replaced_at: datetime | None
    """When Threadline saw the state that replaced it; None for the current state."""


@dataclass(frozen=True)
class ItemHistory:
    id: int
    canonical_id: str
    platform: str
    kind: str
    thread_id: str | None
    native: dict[str, str]
    states: list[State]

    @property
    def current(self) -> State:
        return self.states[-1]


def load_histories(conn: Connection, ids: Sequence[int]) -> dict[int, ItemHistory]:
    """The items and their earlier versions, two indexed queries per call."""
    if not ids:
        return {}
    rows = conn.execute(select(item).where(item.c.id.in_(list(ids)))).all()
    versioned = [r.id for r in rows if r.version > 1]
    versions: dict[int, list[Any]] = {}
    if versioned:
        query = (
            select(item_version)
            .where(item_version.c.item_id.in_(versioned))
            .order_by(item_version.c.item_id, item_version.c.version)
        )
        for version in conn.execute(query):
            versions.setdefault(version.item_id, []).append(version)
    return {row.id: history_of(row, versions.get(row.id, [])) for row in rows}


def history_of(row: Any, versions: Sequence[Any]) -> ItemHistory:
    """Rebuild every state; ``change`` says what replaced a version, hence its deleted flag."""
    deleted_after = bool(row.deleted)
    flags: list[bool] = []
    for version in reversed(versions):
        if version.change == "deleted":
            deleted_after = False
        elif version.change == "restored":
            deleted_after = True
        flags.append(deleted_after)
    flags.reverse()
    states: list[State] = []
    recorded = row.first_seen_at
    for version, deleted in zip(versions, flags, strict=True):
        states.append(
            State(
                version=version.version,
                title=version.title,
                text=version.text,
                occurred_at=version.occurred_at,
                raw=version.raw,
                deleted=deleted,
                valid_from=version.valid_from,
                valid_to=version.valid_to,
                recorded_at=recorded,
                replaced_at=version.recorded_at,
            )
        )
        recorded = version.recorded_at
    valid_from = versions[-1].valid_to if versions else (row.updated_at or row.created_at)
    states.append(
        State(
            version=row.version,
            title=row.title,
            text=row.text,
            occurred_at=row.occurred_at,
            raw=row.raw,
            deleted=bool(row.deleted),
            valid_from=valid_from,
            valid_to=None,
            recorded_at=recorded,
            replaced_at=None,
        )
    )
    return ItemHistory(
        id=row.id,
        canonical_id=row.canonical_id,
        platform=row.platform,
        kind=row.kind,
        thread_id=row.thread_id,
        native=dict(row.native or {}),
        states=states,
    )


def stamp(value: datetime | None) -> str | None:
    return instance_start(value.astimezone(UTC)) if value else None


def event_start(history: ItemHistory, state: State) -> str | None:
    """The instance start as the importer wrote it (a date for all-day events)."""
    if isinstance(state.raw, dict) and isinstance(state.raw.get("instance_start"), str):
        return str(state.raw["instance_start"])
    return stamp(state.occurred_at)


def original_start(history: ItemHistory) -> str | None:
    """The start the series' rule gives this instance: part of its canonical id."""
    value = history.native.get("instance_start")
    if value:
        return value
    _, sep, tail = history.canonical_id.rpartition("@")
    return tail if sep else None


def is_override(history: ItemHistory, state: State) -> bool:
    ics = state.raw.get("ics") if isinstance(state.raw, dict) else None
    if isinstance(ics, str):
        return bool(_RECURRENCE_ID.search(ics))
    return state is history.current and "recurrence_id" in history.native


def decision_subject(history: ItemHistory) -> str:
    """Decisions supersede each other within a conversation; a Notion page is its own."""
    if history.platform == "notion" or not history.thread_id:
        return history.canonical_id
    return history.thread_id


@dataclass(frozen=True)
class Moment:
    valid_from: datetime | None
    recorded_at: datetime


class FactBuilder:
    """Collects one item's facts, numbering them so their order is stable."""

    def __init__(self, history: ItemHistory) -> None:
        self.history = history
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        kind: str,
        attribute: str,
        value: str | None,
        previous: str | None,
        at: Moment,
        *,
        subject: str | None = None,
        **detail: Any,
    ) -> None:
        self.rows.append(
            {
                "subject": subject or self.history.canonical_id,
                "kind": kind,
                "attribute": attribute,
                "value": _cap(value),
                "previous": _cap(previous),
                "valid_from": at.valid_from,
                "valid_to": None,
                "recorded_at": at.recorded_at,
                "expired_at": None,
                "item_id": self.history.id,
                "supersedes_id": None,
                "detail": {"step": len(self.rows), **detail},
            }
        )


def change_facts(history: ItemHistory, series_title: str | None) -> list[dict[str, Any]]:
    """Changes between consecutive states, and what the first state already shows."""
    builder = FactBuilder(history)
    _first_state(builder, series_title)
    for before, after in zip(history.states, history.states[1:], strict=False):
        at = Moment(before.valid_to, before.replaced_at or after.recorded_at)
        _compare(builder, before, after, at)
    return builder.rows


def _kind(history: ItemHistory) -> str:
    return {"calendar": "event", "notion": "notion"}.get(history.platform, "message")


def _first_state(builder: FactBuilder, series_title: str | None) -> None:
    history = builder.history
    first = history.states[0]
    at = Moment(first.valid_from, first.recorded_at)
    if history.platform == "calendar":
        # One export already shows an overridden instance apart from its series.
        planned, actual = original_start(history), event_start(history, first)
        overridden = is_override(history, first) and series_title
        label = series_title if overridden else first.title
        context = {"label": label, "start": planned or actual, "source": "override"}
        if planned and actual and planned != actual:
            builder.add("event", "start", actual, planned, at, **context)
        if overridden and first.title != series_title:
            builder.add("event", "title", first.title, series_title, at, **context)
        if first.deleted:
            builder.add("event", "status", "cancelled", None, at, **context)
    elif first.deleted:
        builder.add(_kind(history), "status", "deleted", None, at, source="first-seen")


def _compare(builder: FactBuilder, before: State, after: State, at: Moment) -> None:
    history = builder.history
    kind = _kind(history)
    calendar = history.platform == "calendar"
    context: dict[str, Any] = {}
    if calendar:
        # What the event was called and when it was, to say "X (Thu 15:00) moved to ...".
        context = {"label": before.title, "start": event_start(history, before)}
    if before.deleted != after.deleted:
        gone, live = ("cancelled", "scheduled") if calendar else ("deleted", "present")
        value, previous = (gone, live) if after.deleted else (live, gone)
        change = "deleted" if after.deleted else "restored"
        builder.add(kind, "status", value, previous, at, change=change, **context)
    if calendar:
        old, new = event_start(history, before), event_start(history, after)
        if old != new:
            builder.add(kind, "start", new, old, at, change="moved", **context)
    elif before.deleted or after.deleted:
        # A tombstone's text is whatever the platform left behind, not an edit.
        return
    if (before.title or "") != (after.title or ""):
        builder.add(kind, "title", after.title, before.title, at, change="renamed", **context)
    if history.platform == "notion" and history.kind == "row":
        for name, old, new in _property_changes(before.raw, after.raw):
            builder.add(kind, f"property:{name}"[:64], new, old, at, change="edited")
    elif not calendar and before.text != after.text:
        builder.add(kind, "text", after.text, before.text, at, change="edited")


def _properties(raw: Any) -> dict[str, str]:
    props = raw.get("properties") if isinstance(raw, dict) else None
    return {str(k): str(v) for k, v in props.items()} if isinstance(props, dict) else {}


def _property_changes(old_raw: Any, new_raw: Any) -> list[tuple[str, str | None, str | None]]:
    old, new = _properties(old_raw), _properties(new_raw)
    return [
        (name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def _since(history: ItemHistory) -> datetime:
    """When Threadline first saw the current text (an edit elsewhere does not renew it)."""
    current = history.current
    recorded = current.recorded_at
    for state in reversed(history.states[:-1]):
        if state.deleted or state.text != current.text or state.title != current.title:
            break
        recorded = state.recorded_at
    return recorded


def item_dates(history: ItemHistory, tz: tzinfo) -> list[FoundDate]:
    """Dates written in a live message, email or page; an event's own time needs none."""
    current = history.current
    if history.platform == "calendar" or current.deleted or current.occurred_at is None:
        return []
    found: dict[tuple[str, datetime], FoundDate] = {}
    for text in (current.title or "", current.text):
        for date in find_dates(text, current.occurred_at, tz):
            found.setdefault((date.phrase.lower(), date.resolved), date)
    return list(found.values())


def meaning_facts(history: ItemHistory, dates: list[FoundDate]) -> list[dict[str, Any]]:
    """Decisions and deadlines stated in the item's current text."""
    current = history.current
    if current.deleted or history.platform == "calendar":
        return []
    builder = FactBuilder(history)
    at = Moment(current.occurred_at, _since(history))
    subject = decision_subject(history)
    sentence = _decision_sentence(current.text)
    if sentence is None and current.title and _DECISION_TITLE.search(current.title):
        sentence = current.title.strip()
    if sentence is not None:
        builder.add("decision", "decision", sentence, None, at, subject=subject)
    due = next((d for d in dates if d.deadline), None)
    if due is not None:
        builder.add(
            "due",
            "due",
            stamp(due.resolved),
            None,
            at,
            subject=subject,
            phrase=due.phrase,
            granularity=due.granularity,
        )
    return builder.rows


def _decision_sentence(text: str) -> str | None:
    for sentence in _SENTENCE.split(text):
        clean = " ".join(sentence.split()).lstrip("-*•> ")
        if _DECISION.search(clean) or (_INSTEAD.search(clean) and _PLAN.search(clean)):
            return clean[:500]
    return None


def _cap(value: str | None) -> str | None:
    return value if value is None or len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"
