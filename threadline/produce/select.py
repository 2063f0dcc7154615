"""Selection: the context a deliverable may use, from the accumulated weekly notes.

The notes already hold, per client and week, storylines, decisions, changes, risks,
upcoming meetings and people, each citing items. Selection reads the notes the scope's
window covers and keeps only items of the scope's client: this is where the client wall
stands. An item enters only when it is strongly placed for that client (a channel, domain
or Notion rule, not a mere name-mention) and placed for no other visible client; an entry
left with no citation is dropped. A digest across clients keeps each entry tagged with its
client, and each item carries the one client it was admitted for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from threadline.context.note_model import Entry
from threadline.context.notes import VISIBLE, load_note
from threadline.context.weeks import Week, week_of
from threadline.produce.model import (
    ContextBundle,
    ContextEntry,
    ContextSection,
    Scope,
    SourceItem,
)
from threadline.store.context_schema import client, item_client, storyline, storyline_item
from threadline.store.schema import identity, item, person

WEAK_RULE = "name-mention"
KIND_OF_SECTION = {
    "storylines": "storyline", "decisions": "decision", "changes": "change",
    "risks": "risk", "upcoming": "upcoming", "people": "person",
}
_CHUNK = 500
POOL = "_pool"


def weeks_between(start: datetime, end: datetime) -> list[Week]:
    week = week_of(start)
    last = week_of(end - timedelta(microseconds=1)) if end > start else week
    found = []
    while week.start <= last.start:
        found.append(week)
        week = week.shifted(1)
    return found


def visible_clients(conn: Connection) -> dict[int, str]:
    rows = conn.execute(
        select(client.c.id, client.c.name).where(client.c.origin.in_(VISIBLE))
        .order_by(client.c.name)
    )
    return {int(r.id): str(r.name) for r in rows}


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def note_entries(conn: Connection, client_id: int, name: str, weeks: list[Week]) -> list[
        ContextEntry]:
    """Every note entry of the client in these weeks; storylines met in several weeks merge."""
    found: list[ContextEntry] = []
    stories: dict[str, ContextEntry] = {}
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    for week in weeks:
        view = load_note(conn, client_id, week)
        if view is None:
            continue
        for section in view.body.sections:
            kind = KIND_OF_SECTION.get(section.key)
            if kind is None:
                continue
            for entry in section.entries:
                made = _entry(kind, entry, name, week)
                key = str(entry.detail.get("storyline") or "")
                if kind == "storyline" and key in stories:
                    merged = stories[key]
                    merged.items += [i for i in made.items if i not in merged.items]
                    merged.detail.update(made.detail)
                    continue
                ident = (kind, made.summary, tuple(made.items))
                if ident in seen:
                    continue
                seen.add(ident)
                if kind == "storyline":
                    stories[key] = made
                found.append(made)
    return found


def _entry(kind: str, entry: Entry, client_name: str, week: Week) -> ContextEntry:
    detail = dict(entry.detail)
    detail["client"] = client_name
    detail["week"] = week.label
    return ContextEntry(
        kind=kind, summary=entry.text, items=[c for c in entry.citations if c],
        status=detail.get("status"), when=_when(entry.at), detail=detail,
    )


def admitted(conn: Connection, ids: Iterable[str], client_id: int) -> set[str]:
    """The client wall: items strongly placed for this client and for no other one."""
    wanted = sorted(set(ids))
    placed: dict[str, list[tuple[int, str, str, str, object]]] = defaultdict(list)
    for n in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(item.c.canonical_id, item_client.c.client_id, item_client.c.rule,
                   item.c.platform, item.c.raw, client.c.name)
            .join(item_client, item_client.c.item_id == item.c.id)
            .join(client, client.c.id == item_client.c.client_id)
            .where(item.c.canonical_id.in_(wanted[n : n + _CHUNK]),
                   client.c.origin.in_(VISIBLE))
        )
        for r in rows:
            placed[r.canonical_id].append((int(r.client_id), r.rule, r.name, r.platform, r.raw))
    ok = set()
    for cid, rows_ in placed.items():
        strong = {c for c, rule, name, platform, raw in rows_
                  if _strong(rule, platform, raw, name)}
        if strong == {client_id}:
            ok.add(cid)
    return ok


def _strong(rule: str, platform: str, raw: object, name: str) -> bool:
    """A name-mention counts only on a Notion row whose own property names the client."""
    if rule != WEAK_RULE:
        return True
    props = raw.get("properties") if platform == "notion" and isinstance(raw, dict) else None
    if not isinstance(props, dict):
        return False
    return any(name.lower() in str(v).strip().lower() for v in props.values())


def load_items(conn: Connection, ids: Iterable[str]) -> tuple[dict[str, SourceItem],
                                                              dict[str, str]]:
    """Source items by canonical id, with their storyline key; and author names by key."""
    wanted = sorted(set(ids))
    rows: list[Any] = []
    for n in range(0, len(wanted), _CHUNK):
        chunk = wanted[n : n + _CHUNK]
        rows += conn.execute(
            select(item.c.canonical_id, item.c.platform, item.c.container_name,
                   item.c.container_id, item.c.author_key, item.c.occurred_at, item.c.title,
                   item.c.text, item.c.permalink, storyline.c.key.label("story"))
            .select_from(
                item.outerjoin(storyline_item, storyline_item.c.item_id == item.c.id)
                .outerjoin(storyline, storyline.c.id == storyline_item.c.storyline_id)
            )
            .where(item.c.canonical_id.in_(chunk))
        ).all()
    names = person_names(conn, {r.author_key for r in rows if r.author_key})
    items = {
        r.canonical_id: SourceItem(
            id=r.canonical_id, platform=r.platform,
            container=r.container_name or r.container_id or "",
            author=names.get(r.author_key or "", _bare(r.author_key or "")),
            occurred_at=r.occurred_at, title=r.title, text=r.text or "",
            permalink=r.permalink, storyline=r.story,
        )
        for r in rows
    }
    return items, names


def _bare(key: str) -> str:
    return key.split(":", 1)[-1]


def person_names(conn: Connection, keys: set[str]) -> dict[str, str]:
    """Identity key → the person's display name (or the identity's own)."""
    found: dict[str, str] = {}
    ordered = sorted(keys)
    for n in range(0, len(ordered), _CHUNK):
        rows = conn.execute(
            select(identity.c.key, identity.c.display_name,
                   person.c.display_name.label("person_name"))
            .select_from(identity.outerjoin(person, person.c.id == identity.c.person_id))
            .where(identity.c.key.in_(ordered[n : n + _CHUNK]))
        )
        for r in rows:
            found[r.key] = r.person_name or r.display_name or _bare(r.key)
    return found


def build_bundle(
    conn: Connection,
    scope: Scope,
    clients: dict[int, str],
    extra: dict[int, list[ContextEntry]] | None = None,
    only_items: set[str] | None = None,
) -> ContextBundle:
    """The bundle for a scope: entries of these clients' notes in the window, walled.

    ``extra`` adds entries built by the caller (a meeting brief's own event); ``only_items``
    narrows to a project's items. Sections are filled later by ranking.
    """
    weeks = weeks_between(scope.start, scope.end)
    pool: list[ContextEntry] = []
    items: dict[str, SourceItem] = {}
    people: dict[str, str] = {}
    for cid, name in clients.items():
        entries = note_entries(conn, cid, name, weeks) + list((extra or {}).get(cid, []))
        cited = {i for e in entries for i in e.items}
        allowed = admitted(conn, cited, cid)
        if only_items is not None:
            allowed &= only_items
        kept = []
        for entry in entries:
            entry.items = [i for i in entry.items if i in allowed]
            if entry.items:
                kept.append(entry)
        loaded, names = load_items(conn, {i for e in kept for i in e.items})
        for source in loaded.values():
            source.clients = [name]
        items.update(loaded)
        people.update(names)
        keys = {k for e in kept for k in [*e.detail.get("attendees", []),
                                          *e.detail.get("keys", [])]}
        people.update(person_names(conn, set(keys)))
        pool += kept
    # The pool rides along in one section until ranking distributes it to the recipe's.
    return ContextBundle(scope=scope, items=items, people=people,
                         sections=[ContextSection(key=POOL, entries=pool)])
