"""Hybrid retrieval: BM25 hits under filters, time words, and expansion to their context.

A question is cut into what it asks about (content words, ranked by BM25 with OR so that a
question need not repeat an item's wording) and when (time words, turned into a range that
the SQL applies). "The day after <something>" first finds the something, then looks at the
day after it. Each of the best direct hits then brings its context: the other items of its
storyline and its neighbours in the same thread (or, for a message outside any thread, the
messages just before and after it in the same channel), so a bare "Done, fixed on staging"
comes with the question it answers. Context scores below the hit that brought it, keeps
to the client and platform filters, but may lie outside the time range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from sqlalchemy import Connection, and_, bindparam, select, text

from threadline.context.time_words import TimeRange, parse_time_words
from threadline.errors import ThreadlineError
from threadline.store.context_schema import client, item_client, storyline_item
from threadline.store.schema import item
from threadline.store.search import SearchFilters, filter_sql, search, words

Via = Literal["match", "storyline", "thread"]
VISIBLE = ("config", "inferred")
# A query this long describes something ("fixed on 4 Nov, reviewed on 5 Nov") rather than
# scoping a question: its dates stay words to match, not a range that would drop evidence
# written on other days (measured in bench/bench_retrieval.py).
DESCRIPTIVE_TERMS = 7

_STOP_TEXT = """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers him his how i if in into is it
    its itself just me more most my no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who whom
    why will with would you your yours anything everything something happen happened happening
    tell show find say said know whats get got please us let"""
STOPWORDS = frozenset(_STOP_TEXT.split())
STORYLINE_FACTOR = 0.6
THREAD_FACTOR = 0.7
EXPAND_FROM = 5
STORYLINE_SIBLINGS = 4
NEIGHBOURS = 2
_ANCHOR = re.compile(r"\bthe\s+(?P<unit>day|week)\s+(?P<dir>after|before)\s+(?P<rest>.+)$", re.I)
_CLAUSES = re.compile(r"\s*(?:[;?]|\band\s+(?:also|then)\b|\bas\s+well\s+as\b|,\s+and\b)\s*", re.I)


class UnknownClient(ThreadlineError):
    pass


@dataclass
class Hit:
    item_id: int
    score: float
    via: Via = "match"
    expanded_from: int | None = None


@dataclass
class Retrieval:
    query: str
    terms: list[str]
    range: TimeRange | None
    since: datetime | None
    until: datetime | None
    hits: list[Hit] = field(default_factory=list)


def content_terms(query: str) -> list[str]:
    """The words that say what a question is about, in order, once each."""
    seen: dict[str, None] = {}
    for word in words(query.lower()):
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


def resolve_clients(conn: Connection, name: str) -> list[int]:
    """Client ids for a name: exact (any case), else a name that starts the other one."""
    wanted = " ".join(name.lower().split())
    rows = conn.execute(select(client.c.id, client.c.name)).all()
    exact = [r.id for r in rows if r.name.lower() == wanted]
    if exact:
        return exact
    near = [
        r.id for r in rows
        if wanted.startswith(r.name.lower() + " ") or r.name.lower().startswith(wanted + " ")
    ]
    if not near:
        raise UnknownClient(
            f"no client named {name!r} in the store: run `threadline clients` to see the "
            "names, or `threadline accumulate` if nothing has been folded yet"
        )
    return near


def retrieve(
    conn: Connection,
    query: str,
    *,
    client_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    platform: str | None = None,
    limit: int = 10,
    today: date | None = None,
    tz: tzinfo = UTC,
    expand: bool = True,
) -> Retrieval:
    """The best items for ``query`` under the filters, direct hits first within each score."""
    today = today or datetime.now(tz).date()
    rest, trange = parse_time_words(query, today)
    if trange is not None and len(content_terms(rest)) >= DESCRIPTIVE_TERMS:
        rest, trange = query, None
    if trange is not None:
        lo, hi = trange.bounds(tz)
        since = max(filter(None, [since, lo]), default=None)
        until = min(filter(None, [until, hi]), default=None)
    clients = resolve_clients(conn, client_name) if client_name else None
    filters = SearchFilters(client_ids=clients, since=since, until=until, platform=platform)
    anchor = _ANCHOR.search(rest)
    if anchor:
        return _anchored(conn, query, rest, anchor, filters, limit, today, tz)
    terms = content_terms(rest)
    out = Retrieval(query, terms, trange, since, until)
    if not terms:
        out.hits = _recent(conn, filters, limit) if trange else []
        return out
    direct = _direct(conn, rest, terms, filters, limit)
    out.hits = _expand(conn, direct, filters, limit) if expand else direct[:limit]
    return out


def _direct(
    conn: Connection, rest: str, terms: list[str], filters: SearchFilters, limit: int
) -> list[Hit]:
    """BM25 over the whole question, and over each clause of a question that asks two things."""
    parts = [terms]
    clauses = [content_terms(c) for c in _CLAUSES.split(rest)]
    clauses = [c for c in clauses if len(c) >= 3]
    if len(clauses) >= 2:
        parts.extend(clauses)
    best: dict[int, Hit] = {}
    for part in parts:
        found = search(conn, " ".join(part), limit=max(limit, 10), filters=filters, match="any")
        if not found:
            continue
        top = found[0].score or 1.0
        for h in found:
            score = h.score / top
            if h.item_id not in best or best[h.item_id].score < score:
                best[h.item_id] = Hit(h.item_id, score)
    return sorted(best.values(), key=lambda h: (-h.score, h.item_id))


def _expand(conn: Connection, direct: list[Hit], filters: SearchFilters, limit: int) -> list[Hit]:
    found = {h.item_id: h for h in direct}
    proposed: list[Hit] = []
    for parent in direct[:EXPAND_FROM]:
        for item_id in storyline_siblings(conn, parent.item_id, STORYLINE_SIBLINGS):
            proposed.append(
                Hit(item_id, parent.score * STORYLINE_FACTOR, "storyline", parent.item_id)
            )
        for item_id in thread_neighbours(conn, parent.item_id, NEIGHBOURS):
            proposed.append(Hit(item_id, parent.score * THREAD_FACTOR, "thread", parent.item_id))
    # Context may step outside the time range (the invite before the meeting), never
    # outside the client, the platform or into deleted items.
    context = replace(filters, since=None, until=None)
    allowed = _allowed(conn, {h.item_id for h in proposed} - set(found), context)
    for hit in proposed:
        if hit.item_id not in allowed:
            continue
        kept = found.get(hit.item_id)
        if kept is None or (kept.via != "match" and kept.score < hit.score):
            found[hit.item_id] = hit
    ranked = sorted(found.values(), key=lambda h: (-h.score, h.via != "match", h.item_id))
    return ranked[:limit]


def storyline_siblings(conn: Connection, item_id: int, n: int) -> list[int]:
    """The ``n`` other items of this item's storyline nearest to it in time."""
    sid = conn.execute(
        select(storyline_item.c.storyline_id).where(storyline_item.c.item_id == item_id)
    ).scalar()
    if sid is None:
        return []
    when = _when(conn, item_id)
    rows = conn.execute(
        select(item.c.id, item.c.occurred_at)
        .join(storyline_item, storyline_item.c.item_id == item.c.id)
        .where(storyline_item.c.storyline_id == sid, item.c.id != item_id)
        .limit(500)
    ).all()
    return [r.id for r in sorted(rows, key=lambda r: (_distance(r.occurred_at, when), r.id))[:n]]


def thread_neighbours(conn: Connection, item_id: int, n: int) -> list[int]:
    """Up to ``n`` items either side in the same thread; outside a thread, in the same
    Slack channel within a day. Only conversations: a calendar series or a Notion database
    is not one."""
    row = conn.execute(
        select(item.c.platform, item.c.container_id, item.c.thread_id, item.c.occurred_at)
        .where(item.c.id == item_id)
    ).one_or_none()
    if row is None or row.occurred_at is None or row.platform not in ("slack", "email"):
        return []
    if row.thread_id:
        same = item.c.thread_id == row.thread_id
        window = None
    else:
        same = and_(item.c.platform == row.platform, item.c.container_id == row.container_id)
        window = timedelta(days=1)
    out: list[int] = []
    for before in (True, False):
        query = select(item.c.id).where(same, item.c.id != item_id, item.c.deleted.is_(False))
        if before:
            query = query.where(item.c.occurred_at <= row.occurred_at)
            if window:
                query = query.where(item.c.occurred_at >= row.occurred_at - window)
            query = query.order_by(item.c.occurred_at.desc(), item.c.id.desc())
        else:
            query = query.where(item.c.occurred_at > row.occurred_at)
            if window:
                query = query.where(item.c.occurred_at <= row.occurred_at + window)
            query = query.order_by(item.c.occurred_at, item.c.id)
        out.extend(conn.execute(query.limit(n)).scalars())
    return out


def _allowed(conn: Connection, ids: Iterable[int], filters: SearchFilters) -> set[int]:
    """Which of these items satisfy the same filters the direct hits had to."""
    wanted = sorted(ids)
    if not wanted:
        return set()
    where, params, binds = filter_sql(filters)
    params["ids"] = wanted
    sql = text(
        "SELECT item.id FROM item WHERE item.id IN :ids" + "".join(f" AND {w}" for w in where)
    )
    sql = sql.bindparams(bindparam("ids", expanding=True), *binds)
    return set(conn.execute(sql, params).scalars())


def _recent(conn: Connection, filters: SearchFilters, limit: int) -> list[Hit]:
    """No words, only a time range: the latest items in it."""
    where, params, binds = filter_sql(filters)
    params["limit"] = limit
    clause = " AND ".join(where) or "1 = 1"
    # Items that state something (a decision, a due date) or belong to a storyline first.
    sql = text(
        f"SELECT item.id FROM item WHERE {clause} ORDER BY "
        "CASE WHEN EXISTS (SELECT 1 FROM fact WHERE fact.item_id = item.id) THEN 0 ELSE 1 END, "
        "CASE WHEN EXISTS (SELECT 1 FROM storyline_item si WHERE si.item_id = item.id) "
        "THEN 0 ELSE 1 END, item.occurred_at DESC, item.id DESC LIMIT :limit"
    )
    if binds:
        sql = sql.bindparams(*binds)
    ids = list(conn.execute(sql, params).scalars())
    return [Hit(i, 1.0 - n / (len(ids) + 1)) for n, i in enumerate(ids)]


def _anchored(
    conn: Connection,
    query: str,
    rest: str,
    anchor: re.Match[str],
    filters: SearchFilters,
    limit: int,
    today: date,
    tz: tzinfo,
) -> Retrieval:
    """"The day after X": find X, then what happened in that day, for X's clients."""
    terms = content_terms(anchor.group("rest"))
    head = content_terms(rest[: anchor.start()])
    out = Retrieval(query, head, None, None, None)
    first = _direct(conn, anchor.group("rest"), terms, filters, 1) if terms else []
    if not first:
        return out
    when = _when(conn, first[0].item_id)
    if when is None:
        return out
    day = when.astimezone(tz).date()
    step = timedelta(days=1 if anchor.group("unit").lower() == "day" else 7)
    start = day + step if anchor.group("dir").lower() == "after" else day - step
    lo, hi = TimeRange(start, start + timedelta(days=step.days), ()).bounds(tz)
    own = filters.client_ids
    if own is None:
        own = list(conn.execute(
            select(item_client.c.client_id)
            .join(client, client.c.id == item_client.c.client_id)
            .where(item_client.c.item_id == first[0].item_id, client.c.origin.in_(VISIBLE))
        ).scalars()) or None
    narrowed = replace(filters, since=lo, until=hi, client_ids=own)
    out.since, out.until = lo, hi
    # What the day held about X itself comes first, then whatever else stood out that day.
    about = _direct(conn, anchor.group("rest"), head + terms, narrowed, limit)
    seen = {h.item_id for h in about}
    rest_of_day = [h for h in _recent(conn, narrowed, limit) if h.item_id not in seen]
    out.hits = (about + [Hit(h.item_id, h.score * 0.5) for h in rest_of_day])[:limit]
    return out


def _when(conn: Connection, item_id: int) -> datetime | None:
    return conn.execute(select(item.c.occurred_at).where(item.c.id == item_id)).scalar()


def _distance(value: datetime | None, when: datetime | None) -> float:
    if value is None or when is None:
        return float("inf")
    return abs((value - when).total_seconds())

