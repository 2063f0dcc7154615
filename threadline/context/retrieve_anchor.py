""""The day after X": find when X started, then rank what that client did the next day.

X is found like any question; its moment is the earliest strong match in the storyline of
the best match (the Slack heads-up before the email that repeats it), since "after X" counts
from when X began. The day's items of X's clients are then ranked by relevance to X, by
belonging to X's storyline, and by how much they say: an item of a storyline told on several
platforms, one stating a decision or a due date, an email or a meeting, before chatter.
Every step is an indexed lookup or a bounded scan of one day of one client's items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Connection, func, select, text

from threadline.context.retrieve_rank import (
    NOTICES,
    VISIBLE,
    Hints,
    Hit,
    closeness,
    pool,
    storyline_members,
    storylines_of,
)
from threadline.context.time_words import TimeRange
from threadline.store.context_schema import client, fact, item_client, storyline_item
from threadline.store.schema import item
from threadline.store.search import SearchFilters, filter_sql, search

REACH_BACK = 6
CANDIDATES = 400
RELEVANCE = 0.8
SAME_STORY = 1.0
TOLD_ACROSS = 0.6
STATES = 0.3
TITLED = 0.2


@dataclass
class Anchored:
    hits: list[Hit]
    since: datetime | None
    until: datetime | None


def anchored(
    conn: Connection,
    x_terms: list[str],
    head: list[str],
    unit: str,
    direction: str,
    filters: SearchFilters,
    hints: Hints,
    limit: int,
    tz: tzinfo,
) -> Anchored:
    found = pool(conn, [x_terms], filters, hints) if x_terms else []
    if not found:
        return Anchored([], None, None)
    start = _start(conn, found, hints)
    if start is None:
        return Anchored([], None, None)
    item_id, when = start
    day = when.astimezone(tz).date()
    step = timedelta(days=1 if unit == "day" else 7)
    first = day + step if direction == "after" else day - step
    lo, hi = TimeRange(first, first + step, ()).bounds(tz)
    own = filters.client_ids
    if own is None:
        own = list(conn.execute(
            select(item_client.c.client_id)
            .join(client, client.c.id == item_client.c.client_id)
            .where(item_client.c.item_id == item_id, client.c.origin.in_(VISIBLE))
        ).scalars()) or None
    narrowed = replace(filters, since=lo, until=hi, client_ids=own)
    story = storylines_of(conn, [item_id]).get(item_id)
    return Anchored(_rank_window(conn, narrowed, x_terms + head, story, limit), lo, hi)


def _start(conn: Connection, found: list[Hit], hints: Hints) -> tuple[int, datetime] | None:
    """When X began: the earliest item of the best match's storyline in the days before it
    (the Slack heads-up before the email that repeats it), or the best match alone.

    Only days just before count: a storyline can be a weekly series, and its first meeting
    is not when this week's X began. Days the question names bound it too."""
    best = found[0]
    top = conn.execute(select(item.c.occurred_at).where(item.c.id == best.item_id)).scalar()
    if top is None:
        return None
    story = storylines_of(conn, [best.item_id]).get(best.item_id)
    start = (best.item_id, top)
    for m in storyline_members(conn, [story] if story is not None else []):
        when = m.occurred_at
        if when is None or when >= start[1] or top - when >= timedelta(days=REACH_BACK):
            continue
        if hints.days and closeness(when, hints) <= 0:
            continue
        start = (m.item_id, when)
    return start


def _rank_window(
    conn: Connection, filters: SearchFilters, terms: list[str], story: int | None, limit: int
) -> list[Hit]:
    where, params, binds = filter_sql(filters)
    # Through the table's columns, so that ``native`` comes back as JSON on both engines.
    query = (
        select(item.c.id, item.c.platform, item.c.title, item.c.native)
        .where(text(" AND ".join(where)).bindparams(*binds))
        .order_by(item.c.occurred_at, item.c.id)
        .limit(CANDIDATES)
    )
    rows = conn.execute(query, params).all()
    if not rows:
        return []
    ids = [int(r.id) for r in rows]
    # Relevance is wanted for these rows only: a window of a busy day matches thousands.
    relevance = _relevance(conn, terms, replace(filters, item_ids=ids))
    sid_of = storylines_of(conn, ids)
    across = _told_across(conn, set(sid_of.values()))
    stating = _stating(conn, ids)
    hits = []
    for r in rows:
        native = r.native if isinstance(r.native, dict) else {}
        if native.get("subtype") in NOTICES:
            continue
        sid = sid_of.get(r.id)
        score = RELEVANCE * relevance.get(r.id, 0.0)
        score += SAME_STORY if story is not None and sid == story else 0.0
        score += TOLD_ACROSS if sid in across else 0.0
        score += STATES if r.id in stating else 0.0
        score += TITLED if r.platform != "slack" and r.title else 0.0
        hits.append(Hit(int(r.id), score))
    hits.sort(key=lambda h: (-h.score, h.item_id))
    return hits[:limit]


def _relevance(conn: Connection, terms: list[str], filters: SearchFilters) -> dict[int, float]:
    if not terms:
        return {}
    found = search(conn, " ".join(terms), limit=50, filters=filters, match="any",
                   prune_common=True, snippets=False)
    top = max((h.score for h in found), default=0.0) or 1.0
    return {h.item_id: h.score / top for h in found}


def _told_across(conn: Connection, sids: set[int]) -> set[int]:
    """Storylines with items on more than one platform."""
    if not sids:
        return set()
    return set(conn.execute(
        select(storyline_item.c.storyline_id)
        .join(item, item.c.id == storyline_item.c.item_id)
        .where(storyline_item.c.storyline_id.in_(sorted(sids)))
        .group_by(storyline_item.c.storyline_id)
        .having(func.count(func.distinct(item.c.platform)) > 1)
    ).scalars())


def _stating(conn: Connection, ids: Sequence[int]) -> set[int]:
    """Items from which the timeline took a fact (a decision, a due date, a change)."""
    return set(conn.execute(
        select(fact.c.item_id).distinct()
        .where(fact.c.item_id.in_(list(ids)), fact.c.expired_at.is_(None))
    ).scalars())
