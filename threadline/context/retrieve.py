"""Hybrid retrieval: BM25 hits under filters, time words, storylines and thread context.

A question is cut into what it asks about (content words, ranked by BM25 with OR so that a
question need not repeat an item's wording) and when (time words, turned into a range that
the SQL applies). A long question that describes something keeps its dates as a preference
instead (see ``retrieve_rank``), as it does the clients it names. Hits are then ranked by
storyline: the strongest stories among them bring their items from other platforms (the
email and the meeting behind a Slack heads-up), and a hit's thread brings its neighbours,
so a bare "Done, fixed on staging" comes with the question it answers. With the optional
local embeddings (``embeddings``), the items nearest the question in meaning join the BM25
hits before that ranking. Context keeps to the client and platform filters, but may lie
outside the time range. "The day after X" finds
when X began, then ranks that day's items of X's clients (see ``retrieve_anchor``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Connection, and_, select, text

from threadline.context.retrieve_anchor import anchored
from threadline.context.retrieve_rank import (
    DIRECT,
    Hints,
    Hit,
    Via,
    allowed_items,
    by_storyline,
    named_clients,
    pool,
)
from threadline.context.time_words import TimeRange, named_days, parse_time_words
from threadline.errors import ThreadlineError
from threadline.store.context_schema import client
from threadline.store.schema import item
from threadline.store.search import SearchFilters, filter_sql, words

__all__ = ["Hit", "Retrieval", "UnknownClient", "Via", "content_terms", "retrieve"]
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
THREAD_FACTOR = 0.7
EXPAND_FROM = 5
NEIGHBOURS = 2
_ANCHOR = re.compile(r"\bthe\s+(?P<unit>day|week)\s+(?P<dir>after|before)\s+(?P<rest>.+)$", re.I)
_CLAUSES = re.compile(r"\s*(?:[;?]|\band\s+(?:also|then)\b|\bas\s+well\s+as\b|,\s+and\b)\s*", re.I)


class UnknownClient(ThreadlineError):
    pass


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
    similar: bool = True,
) -> Retrieval:
    """The best items for ``query`` under the filters, direct hits first within each score."""
    today = today or datetime.now(tz).date()
    rest, trange = parse_time_words(query, today)
    days: list[date] = []
    if trange is not None and len(content_terms(rest)) >= DESCRIPTIVE_TERMS:
        # A description's dates say roughly when, not a range to cut at: they become a
        # preference, and leave the words to match (every item names some weekday).
        days, rest = named_days(query, today)
        trange = None
    if trange is not None:
        lo, hi = trange.bounds(tz)
        since = max(filter(None, [since, lo]), default=None)
        until = min(filter(None, [until, hi]), default=None)
    clients = resolve_clients(conn, client_name) if client_name else None
    filters = SearchFilters(client_ids=clients, since=since, until=until, platform=platform)
    hints = Hints(() if clients else named_clients(conn, rest), tuple(days), tz)
    anchor = _ANCHOR.search(rest)
    if anchor:
        head = content_terms(rest[: anchor.start()])
        found = anchored(conn, content_terms(anchor.group("rest")), head,
                         anchor.group("unit").lower(), anchor.group("dir").lower(),
                         filters, hints, limit, tz)
        return Retrieval(query, head, None, found.since, found.until, found.hits)
    terms = content_terms(rest)
    out = Retrieval(query, terms, trange, since, until)
    if not terms:
        out.hits = _recent(conn, filters, limit) if trange else []
        return out
    direct = pool(conn, _parts(rest, terms), filters, hints, similar=similar)
    out.hits = _expand(conn, direct, filters, limit) if expand else direct[:limit]
    return out


def _parts(rest: str, terms: list[str]) -> list[list[str]]:
    """The whole question, or each clause of a question that asks two things: searched
    whole, its rarest words would come from one clause and the other would go unasked."""
    clauses = [content_terms(c) for c in _CLAUSES.split(rest)]
    clauses = [c for c in clauses if len(c) >= 3]
    return clauses if len(clauses) >= 2 else [terms]


def _expand(conn: Connection, direct: list[Hit], filters: SearchFilters, limit: int) -> list[Hit]:
    """Storylines first; then a stray hit's thread brings the question it answers."""
    ranked = by_storyline(conn, direct, filters, max(limit, EXPAND_FROM))
    found = {h.item_id: h for h in ranked}
    proposed: list[Hit] = []
    for parent in ranked[:EXPAND_FROM]:
        if parent.via not in DIRECT:
            continue
        for item_id in thread_neighbours(conn, parent.item_id, NEIGHBOURS):
            proposed.append(Hit(item_id, parent.score * THREAD_FACTOR, "thread", parent.item_id))
    # Context may step outside the time range (the invite before the meeting), never
    # outside the client, the platform or into deleted items.
    context = replace(filters, since=None, until=None)
    allowed = allowed_items(conn, {h.item_id for h in proposed} - set(found), context)
    for hit in proposed:
        if hit.item_id not in allowed:
            continue
        kept = found.get(hit.item_id)
        if kept is None or (kept.via not in DIRECT and kept.score < hit.score):
            found[hit.item_id] = hit
    ordered = sorted(found.values(), key=lambda h: (-h.score, h.via not in DIRECT, h.item_id))
    return ordered[:limit]


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
