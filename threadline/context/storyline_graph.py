"""The item graph whose connected components are storylines.

Every edge is decided by the two items it joins (and whether either is chatter, a function
of the items of its place around it), never by what was folded before, so the components of
any set of items closed under edges are the same whatever order the items arrived in:

- explicit edges: the same conversation thread (a Slack thread, an email thread, a calendar
  series), or a link from one item to the other (reply, reference, a Notion page's URL).
  Notion's page tree is not a conversation: a page and its parent, or a row and its
  database, are not one matter.
- similarity edges, between items that are neither noise nor chatter (a line its place
  repeats, see ``storyline_chatter``): the same scope (a client, or for
  internal items the same channel, calendar or page), close in time, and enough shared
  salient terms (identifiers count double; a shared pair of people adds one). A calendar
  event also joins an item that names everything its title says ("crisis call").

``components`` finds them with a union-find over an inverted index of terms, so only pairs
that share a term are ever compared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

WINDOW = timedelta(days=5)
# Invitations go out ahead of the meeting they announce.
EVENT_WINDOW = timedelta(days=7)
REACH = max(WINDOW, EVENT_WINDOW)
MIN_SCORE = 3
SAME_PLACE = timedelta(hours=8)
MIN_SHARED = 2
MIN_OVERLAP = 0.2

_EDGE_RANK = {"thread": 0, "link": 1, "title": 2, "similar": 3}


@dataclass(frozen=True)
class Node:
    id: int
    canonical: str
    platform: str
    kind: str
    time: datetime | None
    thread: str | None
    """A conversation id shared by every item of the conversation; None for Notion."""
    container: str
    scope: frozenset[str]
    terms: frozenset[str]
    strong: frozenset[str]
    title_terms: frozenset[str]
    people: frozenset[str]
    noise: bool

    @property
    def order(self) -> tuple[bool, datetime | None, str]:
        """Earliest first; undated items after dated ones, ties by canonical id."""
        return (self.time is None, self.time, self.canonical)


@dataclass
class Components:
    groups: list[list[Node]]
    reasons: dict[int, str] = field(default_factory=dict)
    """How each item is attached: its strongest edge (thread, link, title, similar)."""


class _UnionFind:
    def __init__(self, ids: Iterable[int]) -> None:
        self.parent = {i: i for i in ids}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def structural(a: Node, b: Node) -> bool:
    """A Notion link that only says where a page sits: parent and child, or a database."""
    if a.platform != "notion" or b.platform != "notion":
        return False
    return (
        a.kind == "database"
        or b.kind == "database"
        or a.container == b.canonical
        or b.container == a.canonical
    )


def linked(a: Node, b: Node) -> bool:
    return not structural(a, b)


def _window(a: Node, b: Node) -> timedelta:
    return EVENT_WINDOW if "calendar" in (a.platform, b.platform) else WINDOW


def close_in_time(a: Node, b: Node) -> bool:
    if a.time is None or b.time is None:
        return False
    return abs(a.time - b.time) <= _window(a, b)


def same_place(a: Node, b: Node) -> bool:
    return a.platform == b.platform and a.container == b.container


def titled_by(titled: Node, other: Node) -> bool:
    """``other`` names everything the title of ``titled`` says (an email subject, a meeting,
    a page): it talks about that thread, meeting or page. A one-word meeting title
    ("sync") must be in the other item's own title."""
    wanted = titled.title_terms
    if not wanted or titled.platform == "slack":
        return False
    if len(wanted) == 1 and not wanted & titled.strong:
        return (
            titled.platform == "calendar" and other.platform != "calendar"
            and wanted <= other.title_terms
        )
    return wanted <= other.terms


def near_copy(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two lines that say mostly the same words: a repeat, a correction, a routine."""
    shared = len(a & b)
    return shared >= MIN_SHARED and shared / len(a | b) >= 0.5


def similar(a: Node, b: Node) -> str | None:
    """The similarity edge between two items, if any: "title" or "similar"."""
    if a.noise or b.noise or not (a.scope & b.scope) or not close_in_time(a, b):
        return None
    shared = a.terms & b.terms
    if same_place(a, b):
        # Within one channel a matter continues in its thread; look-alike messages there
        # are mostly routine (the same reminder, the same status line), so only near-copies
        # a few hours apart count. (The fold's neighbourhood query relies on this reach.)
        near = a.time is not None and b.time is not None and abs(a.time - b.time) <= SAME_PLACE
        return "similar" if near and near_copy(a.terms, b.terms) else None
    # Two meetings are not one matter for sharing words ("review"); a series is a thread.
    if not (a.platform == b.platform == "calendar") and (titled_by(a, b) or titled_by(b, a)):
        return "title"
    if len(shared) < MIN_SHARED:
        return None
    strong = shared & (a.strong | b.strong)
    # Plain words must be many and a fair share of the shorter item; an identifier quoted
    # by both (`form_submit`, INV-4821) needs one more piece of evidence, which may be
    # people in common.
    if strong:
        score = len(shared) + len(strong) + (1 if len(a.people & b.people) >= 2 else 0)
        return "similar" if score >= MIN_SCORE + 1 else None
    smaller = min(len(a.terms), len(b.terms))
    if len(shared) >= MIN_SCORE and len(shared) / smaller >= MIN_OVERLAP:
        return "similar"
    return None


def components(
    nodes: list[Node], links: Iterable[tuple[str, str]], touching: set[int] | None = None
) -> Components:
    """Connected components of these nodes under thread, link and similarity edges.

    With ``touching``, only similarity edges with an end in it are looked for: enough to
    tell which items those reach, at a fraction of the pairs."""
    uf = _UnionFind(n.id for n in nodes)
    by_canonical = {n.canonical: n for n in nodes}
    reasons: dict[int, str] = {}

    def join(a: Node, b: Node, why: str) -> None:
        uf.union(a.id, b.id)
        for node in (a, b):
            if _EDGE_RANK[why] < _EDGE_RANK.get(reasons.get(node.id, ""), 99):
                reasons[node.id] = why

    threads: dict[str, list[Node]] = defaultdict(list)
    for node in nodes:
        if node.thread:
            threads[node.thread].append(node)
    for members in threads.values():
        for other in members[1:]:
            join(members[0], other, "thread")
    for source, target in links:
        a, b = by_canonical.get(source), by_canonical.get(target)
        if a is not None and b is not None and a.id != b.id and linked(a, b):
            join(a, b, "link")
    _similarity(nodes, join, touching)
    groups: dict[int, list[Node]] = defaultdict(list)
    for node in nodes:
        groups[uf.find(node.id)].append(node)
    ordered = [sorted(g, key=lambda n: n.order) for g in groups.values()]
    ordered.sort(key=lambda g: g[0].order)
    return Components(ordered, reasons)


def _similarity(
    nodes: list[Node], join: Callable[[Node, Node, str], None], touching: set[int] | None
) -> None:
    """Compare only pairs that share a scope and a term and lie within reach in time (and
    have an end in ``touching``, if given)."""
    index: dict[tuple[str, str], list[Node]] = defaultdict(list)
    for node in nodes:
        if node.noise or node.time is None:
            continue
        for scope in node.scope:
            for term in node.terms:
                index[(scope, term)].append(node)
    seen: set[tuple[int, int]] = set()
    for posting in index.values():
        if len(posting) < 2:
            continue
        posting.sort(key=lambda n: (n.time, n.id))
        for i, node in enumerate(posting):
            assert node.time is not None
            for other in posting[i + 1 :]:
                assert other.time is not None
                if other.time - node.time > REACH:
                    break
                if touching is not None and node.id not in touching and (
                    other.id not in touching
                ):
                    continue
                pair = (min(node.id, other.id), max(node.id, other.id))
                if pair in seen:
                    continue
                seen.add(pair)
                why = similar(node, other)
                if why is not None:
                    join(node, other, why)
