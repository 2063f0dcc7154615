"""The storylines folder: items about one matter, across platforms and time, kept current.

Storylines are the connected components of the item graph in ``storyline_graph``, whose
edges depend only on the two items they join. Why folding a chunk gives exactly what a
rebuild gives:

1. Before the fold, the stored storylines are the components of the graph over the items
   folded so far (induction; the empty store holds). Items without a storyline are either
   Slack one-liners with no edge at all, or noise joined only to other noise.
2. A new or changed item can only gain or lose edges to (a) items in its thread or linked
   to or from it, found through the ``thread_id``, ``link.from_id`` and ``link.target``
   indexes, and (b) items of its scope (client, else container) within ``REACH`` in time,
   found through ``item_client.client_id`` / ``item(platform, container_id)`` and
   ``occurred_at``. Undated items of the scope are few (Notion pages) and fetched too.
   Items of the same place within ``SAME_PLACE`` of a new or changed item may have become
   chatter or stopped being it (``storyline_chatter``): they are re-derived like new ones.
   Chatter gets no similarity edge, so a bot channel adds no storyline to load again.
3. Of the neighbourhood, we keep the items a path of edges joins to a new or changed one
   (``_reached``): any other neighbour kept all its edges, so its storyline is untouched
   unless a reached member brings it in. We add every member of every storyline a kept
   item belongs to, and follow explicit edges out of loaded noise items that have no
   storyline. Every edge of a loaded old item now ends inside the loaded set: old edges
   never left their old component, and the edges that changed all touch a new item, whose
   neighbours were loaded in step 2 (and, joined to it, kept).
4. So the components of the loaded set are exactly the global components that touch it;
   the others are untouched. Each is keyed by the canonical id of its earliest item: the
   row of that key is reused (ids stay stable as a storyline grows), rows of loaded
   storylines whose key vanished are deleted (a merge or a split), and ``storyline_item``
   is rewritten for the loaded items. Tombstones are no nodes, so they leave.

Order of arrival changes only which fold does the work, never the components, their keys,
titles or status (functions of the member items alone). Cost: the new items, their threads
and links, their scope's items within ``REACH`` (chatter looks only at its own place within
``SAME_PLACE``), and the storylines the new items join; never a scan of the store, nor the
storylines that merely lie near a new item. A storyline can only grow big through explicit
edges (one long thread), which loading the thread costs anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, or_, select, update

from threadline.context.client_inference import InferenceState
from threadline.context.clients import VISIBLE
from threadline.context.people_identity import IdentityRow
from threadline.context.people_identity import load as load_identities
from threadline.context.storyline_chatter import Chatter, merge
from threadline.context.storyline_graph import REACH, SAME_PLACE, Node, components
from threadline.context.storyline_summary import summarize
from threadline.context.storyline_text import (
    mentioned_date,
    name_words,
    salient_terms,
)
from threadline.context.timeline import local_zone
from threadline.context.weeks import week_of
from threadline.store.context_schema import (
    accumulation_state,
    client,
    item_chatter,
    item_client,
    storyline_item,
)
from threadline.store.context_schema import storyline as storyline_t
from threadline.store.schema import item, link
from threadline.store.upsert import insert_or_update

STATE = "storylines"
_CHUNK = 500
_EDGE_KINDS = ("reply_to", "thread", "reference")
_NOISE_SUBTYPES = frozenset({
    "channel_join", "channel_leave", "group_join", "group_leave", "bot_message",
    "channel_topic", "channel_purpose", "channel_name", "channel_archive", "pinned_item",
    "bot_add", "bot_remove", "reminder_add",
})
_NOISE_LABELS = frozenset({"CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "SPAM"})
_COLUMNS = (
    item.c.id, item.c.canonical_id, item.c.platform, item.c.kind, item.c.container_id,
    item.c.thread_id, item.c.author_key, item.c.recipients, item.c.occurred_at,
    item.c.first_seen_at, item.c.title, item.c.text, item.c.labels, item.c.native,
    item.c.deleted,
)


def _parts(values: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(set(values))
    for n in range(0, len(ordered), _CHUNK):
        yield ordered[n : n + _CHUNK]


class StorylinesFolder:
    name = "storylines"

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        new = set(item_ids) | _visibility_changes(conn, now)
        rows = _rows(conn, new)
        graph = _Graph(conn)
        loaded = dict(rows)
        loaded.update(_rows(conn, _explicit(conn, rows.values()) - set(loaded)))
        # Items near a new or changed one in its place may have become chatter or stopped
        # being it: their similarity edges are derived again, like the new items' own.
        again = graph.chatter.around(rows.values()) | set(rows)
        graph.fresh_flags = again
        loaded.update(_rows(conn, again - set(loaded)))
        graph.add(loaded.values())
        fresh = [graph.nodes[i] for i in again if i in graph.nodes]
        loaded.update(_rows(conn, _nearby(conn, fresh) - set(loaded)))
        graph.add(loaded.values())
        loaded = _reached(conn, graph, loaded, again)
        member_of = _closure(conn, graph, loaded)
        shown = _write(conn, graph, loaded, member_of, now)
        graph.keep_flags()
        _report(conn, now, shown)

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(item_chatter))
        conn.execute(delete(storyline_item))
        conn.execute(delete(storyline_t))
        conn.execute(delete(accumulation_state).where(accumulation_state.c.name == STATE))


def _visibility_changes(conn: Connection, now: datetime) -> set[int]:
    """Items of clients that became visible or hidden since the last fold: their scope
    changed, though the clients folder did not re-place them."""
    visible = sorted(conn.execute(select(client.c.id).where(client.c.origin.in_(VISIBLE)))
                     .scalars())
    detail = conn.execute(
        select(accumulation_state.c.detail).where(accumulation_state.c.name == STATE)
    ).scalar()
    before = set(detail.get("visible", [])) if isinstance(detail, dict) else set()
    changed = before ^ set(visible)
    if before != set(visible) or detail is None:
        row = {"name": STATE, "watermark": None, "updated_at": now,
               "detail": {"visible": visible}}
        insert_or_update(conn, accumulation_state, [row], ["name"], ["updated_at", "detail"])
    if not changed:
        return set()
    return set(conn.execute(
        select(item_client.c.item_id).where(item_client.c.client_id.in_(sorted(changed)))
    ).scalars())


def _report(conn: Connection, now: datetime, shown: set[tuple[str, str]]) -> None:
    """Tell the notes folder, in this fold's transaction, which (client name, week) show
    a storyline differently now: those notes and no others are built again for it."""
    detail = conn.execute(
        select(accumulation_state.c.detail).where(accumulation_state.c.name == STATE)
    ).scalar()
    kept = dict(detail) if isinstance(detail, dict) else {}
    kept["notes"] = {"at": now.isoformat(), "pairs": sorted([c, w] for c, w in shown)}
    row = {"name": STATE, "watermark": None, "updated_at": now, "detail": kept}
    insert_or_update(conn, accumulation_state, [row], ["name"], ["updated_at", "detail"])


def shown_weeks(conn: Connection, now: datetime) -> set[tuple[str, str]] | None:
    """What ``_report`` said in this fold, or None if the storylines folder did not run."""
    detail = conn.execute(
        select(accumulation_state.c.detail).where(accumulation_state.c.name == STATE)
    ).scalar()
    said = detail.get("notes") if isinstance(detail, dict) else None
    if not isinstance(said, dict) or said.get("at") != now.isoformat():
        return None
    return {(str(c), str(w)) for c, w in said.get("pairs", [])}


def _rows(conn: Connection, ids: Iterable[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for part in _parts(ids):
        for row in conn.execute(select(*_COLUMNS).where(item.c.id.in_(part))):
            found[row.id] = row
    return found


class _Graph:
    """Nodes for loaded items: their terms, scope, people and noise, built once each."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.nodes: dict[int, Node] = {}
        self.identities: dict[str, IdentityRow] = {}
        self.names: dict[str, list[str]] = {}
        self.clients: dict[int, list[tuple[str, bool]]] = {}
        self.client_words = _client_words(conn)
        self.chatter = Chatter(conn)
        # Items near a new or changed one: their chatter flags are worked out again.
        self.fresh_flags: set[int] = set()
        self.worked_out: dict[int, bool] = {}

    def add(self, rows: Iterable[Any]) -> None:
        todo = [r for r in rows if r.id not in self.nodes and not r.deleted]
        if not todo:
            return
        keys = {k for r in todo for k in _people(r)} - set(self.identities)
        self.identities.update(load_identities(self.conn, keys))
        self.clients.update(_clients(self.conn, [r.id for r in todo]))
        chatter = self._flags(todo)
        for row in todo:
            self.nodes[row.id] = self._node(row, chatter.get(row.id, False))

    def _flags(self, rows: list[Any]) -> dict[int, bool]:
        """Chatter flags: kept ones for items no new item is near (a flag changes only
        when its place changes within SAME_PLACE), worked out for the rest."""
        found: dict[int, bool] = {}
        for part in _parts(r.id for r in rows if r.id not in self.fresh_flags):
            found.update((i, bool(f)) for i, f in self.conn.execute(
                select(item_chatter.c.item_id, item_chatter.c.chatter)
                .where(item_chatter.c.item_id.in_(part))
            ))
        missing = [r for r in rows if r.id not in found]
        worked = self.chatter.flags(missing)
        dated = {r.id for r in missing if r.occurred_at is not None}
        self.worked_out.update((i, worked.get(i, False)) for i in dated)
        return found | worked

    def keep_flags(self) -> None:
        rows = [{"item_id": i, "chatter": f} for i, f in sorted(self.worked_out.items())]
        for n in range(0, len(rows), _CHUNK):
            insert_or_update(self.conn, item_chatter, rows[n : n + _CHUNK], ["item_id"],
                             ["chatter"])

    def _node(self, row: Any, chatter: bool) -> Node:
        placed = self.clients.get(row.id, [])
        names = [n for k in _people(row) if k in self.identities for n in self._names(k)]
        names += [n for name, _v in placed for n in self.client_words.get(name, [name])]
        ignore = name_words(names)
        terms, strong = salient_terms(row.title, row.text, ignore)
        no_title: frozenset[str] = frozenset()
        title_terms = salient_terms(row.title, "", ignore)[0] & terms if row.title else no_title
        time = row.occurred_at or mentioned_date(row.title, row.text, row.first_seen_at)
        return Node(
            id=row.id, canonical=row.canonical_id, platform=row.platform, kind=row.kind,
            time=time, thread=row.thread_id if row.platform != "notion" else None,
            container=row.container_id, scope=_scope(row, placed), terms=terms,
            strong=strong, title_terms=title_terms, people=self._people_of(row),
            noise=chatter or self._noise(row),
        )

    def _names(self, key: str) -> list[str]:
        found = self.names.get(key)
        if found is None:
            found = self.names[key] = self.identities[key].names()
        return found

    def _people_of(self, row: Any) -> frozenset[str]:
        keys = [row.author_key] if row.author_key else []
        if row.platform in ("email", "calendar"):
            keys += list(row.recipients or [])
        found = set()
        for key in keys:
            known = self.identities.get(key)
            addresses = known.addresses() if known else []
            found.add(addresses[0] if addresses else key)
        return frozenset(found)

    def _noise(self, row: Any) -> bool:
        native = row.native if isinstance(row.native, dict) else {}
        if native.get("subtype") in _NOISE_SUBTYPES:
            return True
        labels = {str(x).upper().replace(" ", "_") for x in (row.labels or [])}
        if labels & _NOISE_LABELS:
            return True
        author = self.identities.get(row.author_key or "")
        return author is not None and author.never_merged


def _people(row: Any) -> list[str]:
    keys = [row.author_key] if row.author_key else []
    return keys + [k for k in (row.recipients or []) if isinstance(k, str)]


def _clients(conn: Connection, ids: list[int]) -> dict[int, list[tuple[str, bool]]]:
    """Each item's clients as (name, visible-and-placed-by-more-than-a-name-mention)."""
    found: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for part in _parts(ids):
        query = (
            select(item_client.c.item_id, client.c.id, client.c.name, client.c.origin,
                   item_client.c.rule)
            .join(client, client.c.id == item_client.c.client_id)
            .where(item_client.c.item_id.in_(part))
        )
        for item_id, cid, name, origin, rule in conn.execute(query):
            if origin in VISIBLE:
                found[item_id].append((f"{cid}:{name}", rule != "name-mention"))
            else:
                found[item_id].append((name, False))
    return found


def _client_words(conn: Connection) -> dict[str, list[str]]:
    """Each client's name with the aliases and Notion projects its configuration names:
    words every item of the client shares, so they tell none of its matters apart."""
    found: dict[str, list[str]] = {}
    for cid, name, origin, rules in conn.execute(
        select(client.c.id, client.c.name, client.c.origin, client.c.rules)
    ):
        config = rules.get("config", {}) if isinstance(rules, dict) else {}
        words = [name, *config.get("aliases", []), *config.get("notion", [])]
        found[f"{cid}:{name}" if origin in VISIBLE else name] = [str(w) for w in words]
    return found


def _scope(row: Any, placed: list[tuple[str, bool]]) -> frozenset[str]:
    """A client's items meet by client (the one whose channel, address or page it is,
    before any merely named); an internal item meets its own channel, calendar or page."""
    visible = [name for name, _p in placed if ":" in name and name.split(":", 1)[0].isdigit()]
    primary = [name for name, p in placed if p]
    chosen = primary or visible
    if chosen:
        return frozenset(f"client:{name.split(':', 1)[0]}" for name in chosen)
    return frozenset({f"container:{row.platform}:{row.container_id}"})


def _explicit(conn: Connection, rows: Iterable[Any]) -> set[int]:
    """Items in the same thread as these, or linked to or from them."""
    rows = list(rows)
    threads = {r.thread_id for r in rows if r.thread_id and r.platform != "notion"}
    canonical = {r.canonical_id for r in rows}
    found: set[int] = set()
    for part in _parts(threads):
        found.update(conn.execute(
            select(item.c.id).where(item.c.thread_id.in_(part), item.c.platform != "notion")
        ).scalars())
    others: set[str] = set()
    for part in _parts(canonical):
        for source, target in conn.execute(
            select(link.c.from_id, link.c.target).where(
                link.c.kind.in_(_EDGE_KINDS),
                or_(link.c.from_id.in_(part), link.c.target.in_(part)),
            )
        ):
            others.update((source, target))
    for part in _parts(others - canonical):
        found.update(conn.execute(select(item.c.id).where(item.c.canonical_id.in_(part)))
                     .scalars())
    return found


def _nearby(conn: Connection, fresh: list[Node]) -> set[int]:
    """Items of the same scope within REACH of each fresh item, plus the scope's undated
    items (their time comes from their text, so no index can find them by time)."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for node in fresh:
        if node.noise or node.time is None:
            continue
        for scope in node.scope:
            # A container scope holds one place only, where look-alikes meet within hours.
            reach = REACH if scope.startswith("client:") else SAME_PLACE
            spans[scope].append((node.time - reach, node.time + reach))
    found: set[int] = set()
    for scope, wanted in spans.items():
        if scope.startswith("client:"):
            cid = int(scope.split(":", 1)[1])
            base = (
                select(item.c.id).join(item_client, item_client.c.item_id == item.c.id)
                .where(item_client.c.client_id == cid)
            )
        else:
            _c, platform, container = scope.split(":", 2)
            base = select(item.c.id).where(
                item.c.platform == platform, item.c.container_id == container
            )
        found.update(conn.execute(base.where(item.c.occurred_at.is_(None))).scalars())
        for lo, hi in merge(wanted):
            found.update(conn.execute(
                base.where(and_(item.c.occurred_at >= lo, item.c.occurred_at <= hi))
            ).scalars())
    return found


def _reached(
    conn: Connection, graph: _Graph, loaded: dict[int, Any], fresh: set[int]
) -> dict[int, Any]:
    """The loaded items connected to a fresh one; the rest of the neighbourhood was loaded
    only to find the fresh items' edges, and none reached it.

    A neighbour no path from a fresh item reaches keeps every edge it had, so its
    storyline stays as it is unless a member that is reached brings it in (the closure
    then loads it whole). Reading the storylines of every item near a new one instead
    re-summarised hundreds untouched at 1M items. Similarity edges between two old items
    are left out here: they join items of one old storyline, which the closure loads."""
    nodes = [graph.nodes[i] for i in sorted(loaded) if i in graph.nodes]
    edges, _mentions = _links(conn, {n.canonical for n in nodes})
    kept = {i: row for i, row in loaded.items() if i in fresh or i not in graph.nodes}
    for group in components(nodes, edges, touching=fresh).groups:
        if any(n.id in fresh for n in group):
            kept.update((n.id, loaded[n.id]) for n in group)
    return kept


def _membership(conn: Connection, ids: Iterable[int], column: Any) -> dict[int, Any]:
    """One ``storyline_item`` column (the storyline, when it joined) for each of these."""
    found: dict[int, Any] = {}
    for part in _parts(ids):
        query = select(storyline_item.c.item_id, column).where(
            storyline_item.c.item_id.in_(part)
        )
        found.update({i: value for i, value in conn.execute(query)})
    return found


def _closure(conn: Connection, graph: _Graph, loaded: dict[int, Any]) -> dict[int, int]:
    """Add every member of the loaded items' storylines, and the explicit neighbours of
    loaded noise without a storyline, until nothing new comes in."""
    member_of: dict[int, int] = {}
    asked: set[int] = set()
    followed: set[int] = set()
    while True:
        member_of.update(
            _membership(conn, set(loaded) - asked, storyline_item.c.storyline_id)
        )
        asked |= set(loaded)
        stories = set(member_of.values())
        more: set[int] = set()
        for part in _parts(stories):
            more.update(conn.execute(
                select(storyline_item.c.item_id).where(storyline_item.c.storyline_id.in_(part))
            ).scalars())
        loose = [
            r for i, r in loaded.items()
            if i not in member_of and i not in followed and i in graph.nodes
            and graph.nodes[i].noise
        ]
        followed.update(r.id for r in loose)
        more |= _explicit(conn, loose)
        more -= set(loaded)
        if not more:
            return member_of
        loaded.update(_rows(conn, more))
        graph.add(loaded.values())


def _links(
    conn: Connection, canonical: set[str]
) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """Edges among these items, and the users each Slack message mentions."""
    edges: list[tuple[str, str]] = []
    mentions: dict[str, list[str]] = defaultdict(list)
    for part in _parts(canonical):
        for source, kind, target in conn.execute(
            select(link.c.from_id, link.c.kind, link.c.target).where(link.c.from_id.in_(part))
        ):
            if kind == "mention":
                mentions[source].append(target)
            elif kind in _EDGE_KINDS and target in canonical:
                edges.append((source, target))
    return sorted(edges), mentions


def _write(
    conn: Connection, graph: _Graph, loaded: dict[int, Any], member_of: dict[int, int],
    now: datetime,
) -> set[tuple[str, str]]:
    nodes = [graph.nodes[i] for i in sorted(loaded) if i in graph.nodes]
    edges, mentions = _links(conn, {n.canonical for n in nodes})
    found = components(nodes, edges)
    wanted: dict[str, tuple[list[Node], dict[str, Any]]] = {}
    keys_needed = {k for m in mentions.values() for k in m} - set(graph.identities)
    graph.identities.update(load_identities(conn, keys_needed))
    own, zone = _own_domains(conn), local_zone()
    for group in found.groups:
        if not _qualifies(group):
            continue
        rows = [loaded[n.id] for n in group]
        summary = summarize(rows, group, graph.identities, graph.clients, mentions, own,
                            zone)
        wanted[group[0].canonical] = (group, summary)
    old = set(member_of.values())
    existing = {
        r.key: r for part in _parts(list(wanted))
        for r in conn.execute(select(storyline_t).where(storyline_t.c.key.in_(part)))
    }
    existing_ids = {r.id for r in existing.values()}
    gone = sorted(old - existing_ids)
    before = {
        r.id: r for part in _parts(gone)
        for r in conn.execute(select(storyline_t).where(storyline_t.c.id.in_(part)))
    }
    shown = _shown(wanted, existing, before.values())
    # By key: SQLite may give a new storyline the id of one just deleted.
    key_of = {r.id: r.key for r in [*existing.values(), *before.values()]}
    was = {iid: key_of.get(sid) for iid, sid in member_of.items()}
    joined = _membership(conn, loaded, storyline_item.c.added_at)
    for part in _parts(loaded):
        conn.execute(delete(storyline_item).where(storyline_item.c.item_id.in_(part)))
    for part in _parts(gone):
        conn.execute(delete(storyline_item).where(storyline_item.c.storyline_id.in_(part)))
        conn.execute(delete(storyline_t).where(storyline_t.c.id.in_(part)))
    fresh = [
        {"key": key, "created_at": now, "updated_at": now, **summary}
        for key, (_group, summary) in wanted.items() if key not in existing
    ]
    new_ids: dict[str, int] = {}
    if fresh:
        # One statement for every new storyline (summaries all have the same keys).
        stmt = storyline_t.insert().returning(
            storyline_t.c.id, storyline_t.c.key, sort_by_parameter_order=True
        )
        new_ids = {r.key: r.id for r in conn.execute(stmt, fresh)}
    changed: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    sid_of: dict[int, int] = {}
    for key, (group, summary) in wanted.items():
        row = existing.get(key)
        if row is None:
            sid = new_ids[key]
        else:
            sid = row.id
            if any(getattr(row, k) != v for k, v in summary.items()):
                changed.append({"s_id": sid, "updated_at": now, **summary})
        sid_of.update((n.id, sid) for n in group)
        clients = {*summary["clients"], *(row.clients if row is not None else [])}
        # An item that changed storyline leaves its week's note listing it elsewhere.
        shown |= {
            (c, week_of(loaded[n.id].occurred_at).label)
            for n in group
            if was.get(n.id) != key and loaded[n.id].occurred_at is not None
            for c in clients
        }
        links.extend(
            # When it first joined a storyline, kept as the storyline grows or merges:
            # a view "as of" an earlier time still finds it there.
            {"storyline_id": sid, "item_id": n.id, "added_at": joined.get(n.id, now),
             "reason": "first" if n is group[0] else found.reasons.get(n.id, "first")}
            for n in group
        )
    stored = {r.id: r for r in [*existing.values(), *before.values()]}
    for iid, sid in member_of.items():
        left = stored.get(sid)
        moment = loaded[iid].occurred_at if iid in loaded else None
        if iid not in sid_of and left is not None and moment is not None:
            shown |= {(c, week_of(moment).label) for c in left.clients or []}
    if changed:
        conn.execute(update(storyline_t).where(storyline_t.c.id == bindparam("s_id")), changed)
    for n in range(0, len(links), _CHUNK):
        conn.execute(storyline_item.insert(), links[n : n + _CHUNK])
    return shown


def _shown(
    wanted: dict[str, tuple[list[Node], dict[str, Any]]], existing: dict[str, Any],
    gone: Iterable[Any],
) -> set[tuple[str, str]]:
    """(client name, week) whose note shows a storyline otherwise than before: every week
    of one that is new, gone, renamed or started earlier; else the weeks whose end-of-week
    status changed (later items change only their own weeks and after)."""
    shown: set[tuple[str, str]] = set()
    for key, (_group, summary) in wanted.items():
        row = existing.get(key)
        new_weeks: dict[str, Any] = summary["weekly"]
        if row is None:
            weeks = set(new_weeks)
        elif (row.weekly is None or row.title != summary["title"]
              or row.first_at != summary["first_at"]):
            weeks = _weeks_of(row) | set(new_weeks)
        else:
            weeks = {w for w in set(row.weekly) | set(new_weeks)
                     if row.weekly.get(w) != new_weeks.get(w)}
        clients = {*summary["clients"], *(row.clients if row is not None else [])}
        shown |= {(c, w) for c in clients for w in weeks}
    for row in gone:
        shown |= {(c, w) for c in row.clients or [] for w in _weeks_of(row)}
    return shown


def _weeks_of(row: Any) -> set[str]:
    """The weeks a stored storyline reaches: from ``weekly``, else its first to last item."""
    if row.weekly is not None:
        return set(row.weekly)
    if row.first_at is None or row.last_at is None:
        return {week_of(t).label for t in (row.first_at, row.last_at) if t is not None}
    found, week = set(), week_of(row.first_at)
    while week.start <= row.last_at:
        found.add(week.label)
        week = week.shifted(1)
    return found


def _qualifies(group: list[Node]) -> bool:
    """A matter needs someone behind it, and more than one Slack one-liner on its own."""
    if all(n.noise for n in group):
        return False
    return len(group) >= 2 or group[0].platform != "slack"


def _own_domains(conn: Connection) -> frozenset[str]:
    """The user's domains as the clients folder resolved them: who is "outside"."""
    own = InferenceState.load(conn).own
    return frozenset(d.lower() for d in own.get("domains", []) if isinstance(d, str))
