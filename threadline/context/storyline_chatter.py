"""Chatter: routine lines a place repeats (CI results, alerts, standup bots, status pings).

An item is *chatter* when its own place (channel, calendar, page) holds at least
``COPIES`` other near-copies of it within ``SAME_PLACE`` of its time. Chatter is treated as
noise by the storyline graph: it keeps its explicit edges (a human reply in a bot's thread
still joins that thread) but gets no similarity edge, in its place or across places.

Why this rule and not another:

- It is a function of the store's items alone (which items sit in that place within that
  window, and their own words), never of what was folded before or in which order, so a
  rebuild and any sequence of incremental folds agree. The words used are the item's own
  salient terms without the names of its people: identities change as people merge, the
  text of an item does not.
- A fold that adds or changes an item can flip the flag only of items in the same place
  within ``SAME_PLACE`` of it; ``around`` finds exactly those, and the fold re-derives them.
  Computing a flag reads one window of one place, whatever the size of any storyline.
- With ``COPIES = 2``, a non-chatter item has at most one near-copy within reach, so the
  "said again a few hours later" edge joins pairs, never chains: 30,000 look-alike lines in
  one channel make no storyline, and a routine line repeated every six hours for months
  does not grow one storyline forever. Restricting copies to one author would not do it
  (a bot is one author), and capping a storyline's size would make membership depend on
  which items arrived first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from threadline.context.storyline_graph import SAME_PLACE, near_copy
from threadline.context.storyline_text import salient_terms
from threadline.store.schema import item

COPIES = 2
_GAPS = 50

Place = tuple[str, str]
Span = tuple[datetime, datetime]


class Chatter:
    """Chatter flags for items, reading each place's items once per span it needs."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.terms: dict[int, frozenset[str]] = {}
        self.timeline: dict[Place, list[tuple[datetime, int]]] = defaultdict(list)
        self.covered: dict[Place, list[Span]] = defaultdict(list)

    def flags(self, rows: Iterable[Any]) -> dict[int, bool]:
        """Whether each dated, live item is chatter."""
        dated = [r for r in rows if r.occurred_at is not None and not r.deleted]
        self._load(dated)
        found: dict[int, bool] = {}
        for row in dated:
            mine = self.terms.get(row.id) or _own_terms(row.title, row.text)
            line = self.timeline[(row.platform, row.container_id)]
            copies = 0
            # A routine line finds its copies among the first few it meets: stop there.
            for n in range(*_bounds(line, row.occurred_at, row.occurred_at)):
                other = line[n][1]
                if other != row.id and near_copy(mine, self.terms[other]):
                    copies += 1
                    if copies >= COPIES:
                        break
            found[row.id] = copies >= COPIES
        return found

    def around(self, rows: Iterable[Any]) -> set[int]:
        """Live items of the same place within SAME_PLACE of these (tombstones included):
        the items whose flag these can change."""
        dated = [r for r in rows if r.occurred_at is not None]
        self._load(dated)
        times: dict[Place, list[Span]] = defaultdict(list)
        for row in dated:
            times[(row.platform, row.container_id)].append((row.occurred_at, row.occurred_at))
        found: set[int] = set()
        for place, spans in times.items():
            line = self.timeline[place]
            for first, last in merge(spans, SAME_PLACE):
                lo, hi = _bounds(line, first, last)
                found.update(i for _t, i in line[lo:hi])
        return found

    def _load(self, rows: list[Any]) -> None:
        wanted: dict[Place, list[Span]] = defaultdict(list)
        for row in rows:
            t = row.occurred_at
            wanted[(row.platform, row.container_id)].append((t - SAME_PLACE, t + SAME_PLACE))
        for place, spans in wanted.items():
            gaps = _subtract(merge(spans), self.covered[place])
            if not gaps:
                continue
            platform, container = place
            # One query per place and batch of gaps, not one per gap: a fold has many.
            for n in range(0, len(gaps), _GAPS):
                ranges = [
                    and_(item.c.occurred_at >= lo, item.c.occurred_at <= hi)
                    for lo, hi in gaps[n : n + _GAPS]
                ]
                query = select(item.c.id, item.c.occurred_at, item.c.title, item.c.text).where(
                    item.c.platform == platform, item.c.container_id == container,
                    or_(*ranges), item.c.deleted.is_(False),
                )
                for iid, when, title, text in self.conn.execute(query):
                    if iid not in self.terms:
                        self.terms[iid] = _own_terms(title, text)
                        self.timeline[place].append((when, iid))
            self.timeline[place].sort()
            self.covered[place] = merge(self.covered[place] + gaps)


def _own_terms(title: str | None, text: str | None) -> frozenset[str]:
    return salient_terms(title, text or "")[0]


def _bounds(line: list[tuple[datetime, int]], first: datetime, last: datetime
            ) -> tuple[int, int]:
    return (bisect_left(line, (first - SAME_PLACE, -1)),
            bisect_right(line, (last + SAME_PLACE, 1 << 62)))


def merge(spans: list[Span], gap: timedelta = timedelta(0)) -> list[Span]:
    """Overlapping spans (or spans closer than ``gap``) as one."""
    merged: list[Span] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _subtract(spans: list[Span], covered: list[Span]) -> list[Span]:
    """The parts of ``spans`` outside ``covered`` (both merged and sorted)."""
    gaps: list[Span] = []
    for lo, hi in spans:
        start = lo
        for c_lo, c_hi in covered:
            if c_hi < start or c_lo > hi:
                continue
            if c_lo > start:
                gaps.append((start, c_lo))
            start = max(start, c_hi)
            if start >= hi:
                break
        if start < hi:
            gaps.append((start, hi))
    return gaps
