"""One client's week, grouped into threads of related items, every line cited.

This is the view the demo prints until the production engine drafts real updates. It uses
only what is stored: the client rules decide which items belong to the client, and explicit
links (same thread, replies, references) decide which belong together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from threadline.context.clients_config import ClientRule
from threadline.context.weeks import Week
from threadline.store.schema import identity, item, link


@dataclass(frozen=True)
class WeekItem:
    canonical_id: str
    platform: str
    container: str
    thread_id: str | None
    author: str
    occurred_at: datetime
    title: str | None
    text: str
    permalink: str | None


@dataclass
class ThreadGroup:
    items: list[WeekItem] = field(default_factory=list)

    @property
    def title(self) -> str:
        for entry in self.items:
            if entry.title:
                return entry.title
        first = self.items[0].text.strip().split("\n", 1)[0]
        return first[:80] + ("…" if len(first) > 80 else "")

    @property
    def platforms(self) -> list[str]:
        return sorted({entry.platform for entry in self.items})


def _belongs(row: object, rule: ClientRule, pattern: object, domains: set[str]) -> bool:
    container = (getattr(row, "container_name", None) or "").lower()
    if container and container in {c.lower() for c in rule.channels}:
        return True
    people = [getattr(row, "author_key", None) or "", *(getattr(row, "recipients", None) or [])]
    for key in people:
        if key.startswith("email:") and key.rsplit("@", 1)[-1] in domains:
            return True
    haystack = " ".join(
        part or "" for part in (getattr(row, "title", ""), getattr(row, "text", ""), container)
    )
    return bool(pattern.search(haystack))  # type: ignore[attr-defined]


def client_week(conn: Connection, rule: ClientRule, week: Week) -> list[ThreadGroup]:
    rows = conn.execute(
        select(
            item.c.canonical_id, item.c.platform, item.c.container_name, item.c.container_id,
            item.c.thread_id, item.c.author_key, item.c.recipients, item.c.occurred_at,
            item.c.title, item.c.text, item.c.permalink,
        )
        .where(
            item.c.occurred_at >= week.start,
            item.c.occurred_at < week.end,
            item.c.deleted.is_(False),
        )
        .order_by(item.c.occurred_at, item.c.canonical_id)
    ).all()
    pattern = rule.name_pattern()
    domains = {d.lower() for d in rule.domains}
    chosen = [r for r in rows if _belongs(r, rule, pattern, domains)]
    names = _display_names(conn, {r.author_key for r in chosen if r.author_key})
    entries = [
        WeekItem(
            canonical_id=r.canonical_id,
            platform=r.platform,
            container=r.container_name or r.container_id,
            thread_id=r.thread_id,
            author=names.get(r.author_key or "", r.author_key or "unknown"),
            occurred_at=r.occurred_at,
            title=r.title,
            text=r.text,
            permalink=r.permalink,
        )
        for r in chosen
    ]
    return _group(conn, entries)


def _display_names(conn: Connection, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    rows = conn.execute(
        select(identity.c.key, identity.c.display_name).where(identity.c.key.in_(keys))
    )
    return {key: name or key for key, name in rows}


def _group(conn: Connection, entries: list[WeekItem]) -> list[ThreadGroup]:
    parent = {e.canonical_id: e.canonical_id for e in entries}

    def find(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(a: str, b: str) -> None:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)

    by_thread: dict[str, str] = {}
    for entry in entries:
        # A Notion thread id is the page tree's root: far too wide to mean "same matter".
        if entry.thread_id and entry.platform != "notion":
            first = by_thread.setdefault(entry.thread_id, entry.canonical_id)
            union(first, entry.canonical_id)
    for source, target in _links_among(conn, parent.keys()):
        union(source, target)
    groups: dict[str, ThreadGroup] = defaultdict(ThreadGroup)
    for entry in entries:
        groups[find(entry.canonical_id)].items.append(entry)
    return sorted(groups.values(), key=lambda g: (g.items[0].occurred_at, g.items[0].canonical_id))


def _links_among(conn: Connection, ids: Iterable[str]) -> list[tuple[str, str]]:
    wanted = set(ids)
    if not wanted:
        return []
    rows = conn.execute(
        select(link.c.from_id, link.c.target).where(link.c.from_id.in_(wanted))
    )
    return [(a, b) for a, b in rows if b in wanted]
