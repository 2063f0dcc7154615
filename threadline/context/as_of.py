"""Questions about time: what is known about a subject, what changed in a span, how an item
or the calendar looked at a given moment (in the world, or in what Threadline believed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from threadline.context.temporal_facts import ItemHistory, State, history_of, load_histories
from threadline.ids import instance_start
from threadline.store.context_schema import fact, storyline_item
from threadline.store.schema import item, item_version

_ITEM_KINDS = ("event", "message", "notion")
_CHUNK = 500


@dataclass(frozen=True)
class FactView:
    id: int
    subject: str
    kind: str
    attribute: str
    value: str | None
    previous: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    recorded_at: datetime
    expired_at: datetime | None
    item: str | None
    """Canonical id of the item the fact comes from: its citation."""
    supersedes_id: int | None
    detail: dict[str, Any]


@dataclass
class Change:
    at: datetime
    """When it happened in the world (else when Threadline learned it)."""
    recorded_at: datetime
    kind: str
    subject: str
    summary: str
    citations: list[str]
    facts: list[FactView] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "kind": self.kind,
            "subject": self.subject,
            "summary": self.summary,
            "citations": self.citations,
            "facts": [
                {"attribute": f.attribute, "previous": f.previous, "value": f.value}
                for f in self.facts
            ],
        }


@dataclass(frozen=True)
class ItemAsOf:
    canonical_id: str
    version: int
    title: str | None
    text: str
    occurred_at: datetime | None
    deleted: bool


@dataclass(frozen=True)
class EventAsOf:
    canonical_id: str
    title: str | None
    start: datetime | None
    cancelled: bool
    facts: list[FactView]
    """The facts about this event Threadline held at that moment."""


def _views(conn: Connection, *conditions: Any) -> list[FactView]:
    query = (
        select(fact, item.c.canonical_id)
        .select_from(fact.outerjoin(item, item.c.id == fact.c.item_id))
        .where(*conditions)
        .order_by(fact.c.valid_from, fact.c.recorded_at, fact.c.id)
    )
    return [
        FactView(
            id=r.id,
            subject=r.subject,
            kind=r.kind,
            attribute=r.attribute,
            value=r.value,
            previous=r.previous,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            recorded_at=r.recorded_at,
            expired_at=r.expired_at,
            item=r.canonical_id,
            supersedes_id=r.supersedes_id,
            detail=dict(r.detail or {}),
        )
        for r in conn.execute(query)
    ]


def facts_about(conn: Connection, subject: str) -> list[FactView]:
    """Facts on a subject (an item or thread id), or on every item of ``storyline:<id>``."""
    if subject.startswith("storyline:") and subject[10:].isdigit():
        members = select(storyline_item.c.item_id).where(
            storyline_item.c.storyline_id == int(subject[10:])
        )
        return _views(conn, fact.c.item_id.in_(members))
    return _views(conn, fact.c.subject == subject)


def changes_between(
    conn: Connection,
    start: datetime | None,
    end: datetime | None,
    client_item_ids: Collection[int] | None = None,
    *,
    as_of: datetime | None = None,
    tz: tzinfo = UTC,
) -> list[Change]:
    """Changes that happened in [start, end), or moved an event into or out of it.

    With ``as_of``, only what Threadline had learned by then.
    """
    happened = fact.c.valid_from.is_(None) & _within(fact.c.recorded_at, start, end)
    conditions: list[Any] = [or_(_within(fact.c.valid_from, start, end), happened)]
    if start is not None or end is not None:
        # An event moved, renamed or cancelled counts where it was, or now is, on the calendar.
        lo, hi = (stamp_of(start), stamp_of(end))
        was = fact.c.detail["start"].as_string()
        conditions.append(
            and_(
                fact.c.kind == "event",
                or_(_within(item.c.occurred_at, start, end), _within(was, lo, hi)),
            )
        )
    where: list[Any] = [or_(*conditions)]
    if as_of is not None:
        where.append(fact.c.recorded_at <= as_of)
    views = _views(conn, *where)
    if client_item_ids is not None:
        allowed = set(client_item_ids)
        item_ids = _item_ids(conn, {v.item for v in views if v.item})
        views = [v for v in views if v.item and item_ids.get(v.item) in allowed]
    superseded = _superseded_items(conn, views)
    groups: dict[tuple[Any, ...], list[FactView]] = {}
    for view in views:
        key: tuple[Any, ...] = (view.item, view.valid_from, view.recorded_at)
        if view.kind not in _ITEM_KINDS:
            key = (view.id,)
        groups.setdefault(key, []).append(view)
    changes = [_change(group, superseded, tz) for group in groups.values()]
    changes.sort(key=lambda c: (c.at, c.recorded_at, c.citations))
    return changes


def _within(column: Any, start: Any, end: Any) -> Any:
    parts = [column.is_not(None)]
    if start is not None:
        parts.append(column >= start)
    if end is not None:
        parts.append(column < end)
    return and_(*parts)


def stamp_of(value: datetime | None) -> str | None:
    return instance_start(value) if value is not None else None


def _item_ids(conn: Connection, canonical: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(canonical)
    for n in range(0, len(ordered), _CHUNK):
        rows = conn.execute(
            select(item.c.canonical_id, item.c.id).where(
                item.c.canonical_id.in_(ordered[n : n + _CHUNK])
            )
        )
        found.update({r.canonical_id: r.id for r in rows})
    return found


def _superseded_items(conn: Connection, views: list[FactView]) -> dict[int, str]:
    """For decisions and deadlines: the item that said what this one replaces."""
    wanted = [v.id for v in views if v.kind not in _ITEM_KINDS]
    found: dict[int, str] = {}
    for n in range(0, len(wanted), _CHUNK):
        older = fact.alias("older")
        rows = conn.execute(
            select(fact.c.id, item.c.canonical_id)
            .select_from(
                fact.join(older, older.c.id == fact.c.supersedes_id).join(
                    item, item.c.id == older.c.item_id
                )
            )
            .where(fact.c.id.in_(wanted[n : n + _CHUNK]))
        )
        found.update({r.id: r.canonical_id for r in rows})
    return found


def _change(group: list[FactView], superseded: dict[int, str], tz: tzinfo) -> Change:
    first = group[0]
    citations = [first.item] if first.item else []
    if first.id in superseded and superseded[first.id] not in citations:
        citations.append(superseded[first.id])
    return Change(
        at=first.valid_from or first.recorded_at,
        recorded_at=first.recorded_at,
        kind=first.kind,
        subject=first.subject,
        summary=summarize(group, tz),
        citations=citations,
        facts=group,
    )


def summarize(group: Sequence[FactView], tz: tzinfo = UTC) -> str:
    """One readable line for facts that changed together on one item."""
    by = {f.attribute: f for f in group}
    first = group[0]
    if first.kind == "decision":
        line = f"Decision: {first.value}"
        return line + (f" (replacing: {first.previous})" if first.previous else "")
    if first.kind == "due":
        phrase = first.detail.get("phrase", "")
        return f"Due {show_time(first.value, tz)} (\"{phrase}\")"
    if first.kind == "event":
        label = first.detail.get("label") or "Event"
        parts = []
        if "status" in by:
            parts.append("cancelled" if by["status"].value == "cancelled" else "restored")
        if "start" in by:
            parts.append(f"moved to {show_time(by['start'].value, tz)}")
        if "title" in by:
            parts.append(f"renamed {by['title'].value}")
        when = show_time(first.detail.get("start"), tz)
        return f"{label} ({when}) " + " and ".join(parts)
    parts = []
    for fact_ in group:
        if fact_.attribute == "status":
            parts.append("deleted" if fact_.value == "deleted" else "restored")
        elif fact_.attribute == "text":
            parts.append(f"edited: \"{_short(fact_.previous)}\" -> \"{_short(fact_.value)}\"")
        else:
            name = fact_.attribute.removeprefix("property:")
            parts.append(f"{name} {fact_.previous or '(empty)'} -> {fact_.value or '(empty)'}")
    noun = {"message": "Message", "notion": "Notion page"}.get(first.kind, first.kind)
    return f"{noun} " + "; ".join(parts)


def _short(text: str | None, limit: int = 60) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def show_time(value: Any, tz: tzinfo = UTC) -> str:
    """``Thu 20 Nov 15:00`` for an instant, ``Thu 20 Nov`` for an all-day date."""
    if not isinstance(value, str) or not value:
        return "?"
    try:
        if "T" not in value:
            return date.fromisoformat(value).strftime("%a %d %b")
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone(tz).strftime("%a %d %b %H:%M")


def _state_at(history: ItemHistory, when: datetime, recorded: bool) -> State | None:
    """The state whose interval (world time, or recorded time) holds ``when``."""
    chosen: State | None = None
    for n, state in enumerate(history.states):
        if recorded:
            begins: datetime | None = state.recorded_at
        else:
            begins = state.valid_from if n == 0 else history.states[n - 1].valid_to
        if n == 0 and begins is not None and when < begins:
            return None
        if begins is None or begins <= when:
            chosen = state
    return chosen


def item_as_of(
    conn: Connection, canonical_id: str, when: datetime, *, recorded: bool = False
) -> ItemAsOf | None:
    """The item as it was at ``when`` (None before it existed, or was known with
    ``recorded=True``), from its ``item_version`` intervals."""
    row = conn.execute(select(item).where(item.c.canonical_id == canonical_id)).first()
    if row is None:
        return None
    versions = conn.execute(
        select(item_version).where(item_version.c.item_id == row.id).order_by(
            item_version.c.version
        )
    ).all()
    history = history_of(row, versions)
    state = _state_at(history, when, recorded)
    if state is None:
        return None
    return ItemAsOf(
        canonical_id, state.version, state.title, state.text, state.occurred_at, state.deleted
    )


def world_as_of(
    conn: Connection,
    when: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    calendar: str | None = None,
) -> list[EventAsOf]:
    """The calendar as Threadline believed it at ``when``, events starting in [start, end)."""
    moved = select(item_version.c.item_id).where(_within(item_version.c.occurred_at, start, end))
    query = select(item.c.id).where(item.c.platform == "calendar", item.c.first_seen_at <= when)
    if start is not None or end is not None:
        query = query.where(or_(_within(item.c.occurred_at, start, end), item.c.id.in_(moved)))
    if calendar is not None:
        query = query.where(item.c.container_id == calendar)
    ids = list(conn.execute(query).scalars())
    events: list[EventAsOf] = []
    for n in range(0, len(ids), _CHUNK):
        histories = load_histories(conn, ids[n : n + _CHUNK])
        believed = _believed(conn, [h.canonical_id for h in histories.values()], when)
        for history in histories.values():
            state = _state_at(history, when, recorded=True)
            if state is None or not _in_span(state.occurred_at, start, end):
                continue
            events.append(
                EventAsOf(
                    canonical_id=history.canonical_id,
                    title=state.title,
                    start=state.occurred_at,
                    cancelled=state.deleted,
                    facts=believed.get(history.canonical_id, []),
                )
            )
    events.sort(key=lambda e: (e.start or when, e.canonical_id))
    return events


def _believed(conn: Connection, subjects: list[str], when: datetime) -> dict[str, list[FactView]]:
    views = _views(
        conn,
        fact.c.subject.in_(subjects),
        fact.c.recorded_at <= when,
        or_(fact.c.expired_at.is_(None), fact.c.expired_at > when),
    )
    found: dict[str, list[FactView]] = {}
    for view in views:
        found.setdefault(view.subject, []).append(view)
    return found


def _in_span(value: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if value is None:
        return start is None and end is None
    return (start is None or value >= start) and (end is None or value < end)
