"""Full-text search over items: FTS5 on SQLite, tsvector on PostgreSQL, one interface.

Every filter (clients, time range, platform) is applied inside the one SQL statement that
ranks, so a query costs one index-driven MATCH plus a LIMIT, whatever the store's size.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Select, bindparam, func, select, text

from threadline.store.context_schema import item_client, storyline, storyline_item
from threadline.store.schema import identity, item, person
from threadline.store.types import UTCDateTime

_WORD = re.compile(r"\w+", re.UNICODE)

Match = Literal["all", "any"]
# An OR query costs what its commonest word matches: a long question keeps only its rarest
# words, each counted up to a cap so that counting stays cheap on any store size.
MAX_ANY_TERMS = 8
RARE_DF = 2000
# Bounds on the rows one FTS5 query ranks (see ``candidates``). Ranking costs ~5 us a row
# (BM25, the join, the preference); tuned on bench/bench_latency.py at 1M items and
# bench/bench_retrieval.py at 100k, where recall stays that of ranking every match.
RANK_ALL = 2000
RARE_TERM = 300
CANDIDATES = 1000
# A time window, or clients, with at most this many items bound the rows ranked by
# themselves, on SQLite.
WINDOW_ITEMS = 40_000
# PostgreSQL reads candidates back from the newest item in these windows (see _pg_newest).
WINDOW_DAYS = (1, 4, 16, 64)


@dataclass(frozen=True)
class SearchHit:
    canonical_id: str
    platform: str
    container_name: str | None
    title: str | None
    snippet: str
    occurred_at: datetime | None
    score: float
    item_id: int = 0


@dataclass(frozen=True)
class SearchFilters:
    """Bounds every hit must satisfy. ``until`` is exclusive."""

    client_ids: Sequence[int] | None = None
    since: datetime | None = None
    until: datetime | None = None
    platform: str | None = None
    include_deleted: bool = False
    item_ids: Sequence[int] | None = None
    """Only among these items: for a caller that already holds the few rows it ranks."""


def words(query: str) -> list[str]:
    return _WORD.findall(query)


def _fts5_query(terms: list[str], match: Match) -> str:
    # Quote each word so user input can never be read as FTS5 syntax (AND, NEAR, "*").
    joiner = " OR " if match == "any" else " "
    return joiner.join(f'"{w}"' for w in terms)


def filter_sql(
    filters: SearchFilters, prefix: str = ""
) -> tuple[list[str], dict[str, Any], list[Any]]:
    """SQL conditions for the filters; ``prefix`` keeps a second set's parameters apart."""
    where: list[str] = []
    params: dict[str, Any] = {}
    binds: list[Any] = []
    if not filters.include_deleted:
        where.append("item.deleted = false")
    if filters.platform:
        where.append(f"item.platform = :{prefix}platform")
        params[f"{prefix}platform"] = filters.platform
    if filters.since is not None and filters.until is not None:
        # One condition, so that a preference (see ``search``) weighs a window once.
        where.append(f"item.occurred_at >= :{prefix}since AND item.occurred_at < :{prefix}until")
    elif filters.since is not None:
        where.append(f"item.occurred_at >= :{prefix}since")
    elif filters.until is not None:
        where.append(f"item.occurred_at < :{prefix}until")
    for bound in ("since", "until"):
        value = getattr(filters, bound)
        if value is not None:
            params[prefix + bound] = value
            binds.append(bindparam(prefix + bound, type_=UTCDateTime()))
    if filters.item_ids is not None:
        where.append(f"item.id IN :{prefix}ids")
        params[f"{prefix}ids"] = list(filters.item_ids) or [-1]
        binds.append(bindparam(f"{prefix}ids", expanding=True))
    if filters.client_ids is not None:
        # The item_client primary key (item_id, client_id) answers this per matched row.
        where.append(
            "EXISTS (SELECT 1 FROM item_client WHERE item_client.item_id = item.id "
            f"AND item_client.client_id IN :{prefix}clients)"
        )
        params[f"{prefix}clients"] = list(filters.client_ids) or [-1]
        binds.append(bindparam(f"{prefix}clients", expanding=True))
    return where, params, binds


def _preference(
    prefer: SearchFilters | None, weight: float
) -> tuple[str, dict[str, Any], list[Any]]:
    """A factor for the rank: ``1 + weight`` for each preferred condition an item meets."""
    if prefer is None:
        return "1.0", {}, []
    where, params, binds = filter_sql(replace(prefer, include_deleted=True), prefix="pref_")
    factors = [f"(CASE WHEN {w} THEN {1 + weight:.3f} ELSE 1.0 END)" for w in where]
    return " * ".join(factors) or "1.0", params, binds


def search(
    conn: Connection,
    query: str,
    *,
    limit: int = 20,
    include_deleted: bool = False,
    filters: SearchFilters | None = None,
    match: Match = "all",
    prefer: SearchFilters | None = None,
    prefer_weight: float = 0.35,
    prune_common: bool = False,
    snippets: bool = True,
) -> list[SearchHit]:
    """Items matching ``query`` (every word, or any word with ``match="any"``), best first.

    ``prefer`` ranks items meeting its conditions higher (each met condition multiplies the
    score by ``1 + prefer_weight``) without excluding the others, in the same one pass.
    ``prune_common`` leaves out of a long OR query the words too common to rank (see
    ``rarest``), which also makes it cheaper."""
    terms = words(query)
    if not terms or limit <= 0:
        return []
    if match == "any" and len(terms) > MAX_ANY_TERMS:
        terms = rarest(conn, terms, MAX_ANY_TERMS, prune_common=prune_common)
    if filters is None:
        filters = SearchFilters(include_deleted=include_deleted)
    where, params, binds = filter_sql(filters)
    filter_binds = list(binds)
    extra = "".join(f" AND {w}" for w in where)
    factor, pref_params, pref_binds = _preference(prefer, prefer_weight)
    params.update(pref_params)
    binds.extend(pref_binds)
    params["limit"] = limit
    if conn.dialect.name == "postgresql":
        params["q"] = _tsquery(terms, match)
        bounded = candidates(conn, terms, match, extra, params, filter_binds, filters)
        if bounded:
            binds.append(bindparam("candidates", expanding=True))
        # Rank and cut first; ts_headline is costly, so only the kept rows get one.
        headline = (
            "ts_headline('english', ranked.text, ranked.q, "
            "'MaxFragments=1,MaxWords=18,MinWords=6')" if snippets else "''"
        )
        sql = text(
            f"""
            SELECT ranked.*, {headline} AS snippet
            FROM (
                SELECT item.id, canonical_id, platform, container_name, title, occurred_at,
                       text, q, ts_rank(search_vector, q) * {factor} AS score
                FROM item, to_tsquery('english', :q) AS q
                WHERE search_vector @@ q {extra} {bounded}
                ORDER BY score DESC, occurred_at DESC NULLS LAST, item.id
                LIMIT :limit
            ) AS ranked
            ORDER BY ranked.score DESC, ranked.occurred_at DESC NULLS LAST, ranked.id
            """
        )
        if binds:
            sql = sql.bindparams(*binds)
        return [_hit(row) for row in conn.execute(sql, params)]
    params["q"] = _fts5_query(terms, match)
    bounded = candidates(conn, terms, match, extra, params, filter_binds, filters)
    sql = text(
        f"""
        SELECT item.id, item.canonical_id, item.platform, item.container_name, item.title,
               item.occurred_at, '' AS snippet, -bm25(item_fts, 4.0, 1.0) * {factor} AS score
        FROM item_fts JOIN item ON item.id = item_fts.rowid
        WHERE item_fts MATCH :q {extra} {bounded}
        ORDER BY score DESC, item.occurred_at DESC, item.id
        LIMIT :limit
        """
    )
    if binds:
        sql = sql.bindparams(*binds)
    hits = [_hit(row) for row in conn.execute(sql, params)]
    return _with_snippets(conn, hits, params["q"]) if snippets else hits


def _small_window(conn: Connection, filters: SearchFilters) -> bool:
    if filters.since is None or filters.until is None:
        return False
    return _few(conn, select(item.c.id).where(
        item.c.occurred_at >= filters.since, item.c.occurred_at < filters.until
    ))


def _small_client(conn: Connection, filters: SearchFilters) -> bool:
    if not filters.client_ids:
        return False
    return _few(conn, select(item_client.c.item_id).where(
        item_client.c.client_id.in_(list(filters.client_ids))
    ))


def _few(conn: Connection, rows: Select[Any]) -> bool:
    """At most ``WINDOW_ITEMS`` rows, counted no further than one past that."""
    bounded = rows.limit(WINDOW_ITEMS + 1).subquery()
    return conn.execute(select(func.count()).select_from(bounded)).scalar_one() <= WINDOW_ITEMS


def doc_counts(conn: Connection, terms: list[str]) -> dict[str, int]:
    """How many items match each word, counted up to ``RARE_DF``: enough to tell a rare word
    from a common one at the cost of reading a few pages of its posting list."""
    if conn.dialect.name == "postgresql":
        sql = text(
            "SELECT count(*) FROM (SELECT 1 FROM item WHERE search_vector @@ "
            "plainto_tsquery('english', :t) LIMIT :cap) AS m"
        )
    else:
        sql = text(
            "SELECT count(*) FROM (SELECT rowid FROM item_fts WHERE item_fts MATCH :t LIMIT :cap)"
        )
    counts = {}
    for term in dict.fromkeys(terms):
        if conn.dialect.name == "postgresql":
            # A GIN scan builds the whole bitmap before LIMIT stops it: 90 ms for a word in
            # a sixth of 1M items. The planner's estimate (from the tsvector statistics)
            # tells a common word for free; only the others are counted.
            if _pg_estimate(conn, term) >= RARE_DF:
                counts[term] = RARE_DF
                continue
            t = term
        else:
            t = f'"{term}"'
        counts[term] = int(conn.execute(sql, {"t": t, "cap": RARE_DF}).scalar_one())
    return counts


def _pg_estimate(conn: Connection, term: str) -> int:
    plan = conn.execute(
        text(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM item WHERE search_vector @@ "
            "plainto_tsquery('english', :t)"
        ),
        {"t": term},
    ).scalar_one()
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    return int(plan[0]["Plan"].get("Plan Rows", 0))


def candidates(
    conn: Connection,
    terms: list[str],
    match: Match,
    extra: str,
    params: dict[str, Any],
    binds: list[Any],
    filters: SearchFilters,
) -> str:
    """A condition bounding which matches get ranked, or "" when all of them are cheap.

    Given rows (``filters.item_ids``) are their own bound; so, on SQLite, is a time window
    of at most ``WINDOW_ITEMS`` items, read from the occurred_at index: walking the newest
    matches back to an old window would read every match in between. So are the items of
    filtered clients when they are that few: a client's matches are otherwise checked one
    by one among every match in the store (``--client`` at 1M: p95 304 -> 36 ms).

    Scoring costs per matched row, and common words match hundreds of thousands of chat
    lines. Past ``RANK_ALL`` matches, the rows ranked are every row with a rare word and
    the latest ``CANDIDATES`` rows with every word and with any word (on SQLite the last
    stored, FTS5's rowid order; on PostgreSQL the latest in time, see ``_pg_newest``).
    The rank still scores them with the whole query, so the order among them is BM25's;
    what is left out is older chatter matched by common words only. Preferred rows
    (``prefer``) get no bound of their own: reaching them means reading past the rows
    outside them, which doubled the time on the 100k bench for the same recall."""
    postgres = conn.dialect.name == "postgresql"
    if filters.item_ids is not None:
        # On SQLite checked on the FTS row itself, before the join: the few given rows are
        # found among all the matches without reading each match's item row.
        return "" if postgres else "AND +item_fts.rowid IN :ids"
    counts = doc_counts(conn, terms)
    if match == "all" and min(counts.values()) < RANK_ALL:
        return ""
    if match == "any" and sum(counts.values()) < RANK_ALL:
        return ""
    if not postgres and _small_window(conn, filters):
        return (
            "AND +item_fts.rowid IN (SELECT id FROM item "
            "WHERE item.occurred_at >= :since AND item.occurred_at < :until)"
        )
    if not postgres and _small_client(conn, filters):
        # A client's items are a hard filter, so ranking only them changes no result.
        return (
            "AND +item_fts.rowid IN (SELECT item_id FROM item_client "
            "WHERE item_client.client_id IN :clients)"
        )
    rare = [t for t in terms if counts[t] < RARE_TERM]
    spell = _tsquery if postgres else _fts5_query
    parts = [("q_all", spell(terms, "all"), CANDIDATES)]
    if match == "any":
        parts.append(("q_any", spell(terms, "any"), CANDIDATES))
        if rare:
            parts.append(("q_rare", spell(rare, "any"), RARE_TERM * len(rare)))
    if postgres:
        # The newest past item: a calendar series may run years ahead.
        newest = conn.execute(
            select(func.max(item.c.occurred_at)).where(item.c.occurred_at <= func.now())
        ).scalar()
        found: set[int] = set()
        done: set[str] = set()
        for name, query, cap in parts:
            if query not in done:  # one word: "all" and "any" ask the same
                done.add(query)
                start = newest if name != "q_rare" else None
                found.update(_pg_newest(conn, query, extra, params, binds, cap, start))
        params["candidates"] = sorted(found) or [-1]
        return "AND item.id IN :candidates"
    selects = []
    for name, query, cap in parts:
        params[name] = query
        selects.append(
            "SELECT id FROM (SELECT item_fts.rowid AS id FROM item_fts JOIN item "
            f"ON item.id = item_fts.rowid WHERE item_fts MATCH :{name} {extra} "
            f"ORDER BY item_fts.rowid DESC LIMIT {cap})"
        )
    # "+" keeps the rowid out of FTS5's index constraints: looked up row by row, each row
    # would recount the query's document frequencies (one posting-list scan per row).
    return f"AND +item_fts.rowid IN ({' UNION '.join(selects)})"


def _pg_newest(
    conn: Connection,
    query: str,
    extra: str,
    params: dict[str, Any],
    binds: list[Any],
    cap: int,
    newest: datetime | None,
) -> list[int]:
    """The ``cap`` newest items matching ``query``, on PostgreSQL.

    A GIN index yields matches in no order, so "newest" cannot stop early the way FTS5's
    rowid order does. Each pass reads the matches within a window back from ``newest``
    (the tsvector and ``occurred_at`` bitmaps ANDed): the latest days hold enough matches
    of a common word, each window four times the last, and a word whose matches are all
    old has few enough in total to read whole in the last pass. Without ``newest`` (a
    rare word's query) it is read whole at once."""
    spans: list[int | None] = [*WINDOW_DAYS, None] if newest is not None else [None]
    values = {k: v for k, v in params.items() if not k.startswith("pref_")}
    values["tsq"], values["cap"] = query, cap
    ids: list[int] = []
    for days in spans:
        bound = ""
        if days is not None and newest is not None:
            bound = "AND item.occurred_at >= :window_start"
            values["window_start"] = newest - timedelta(days=days)
        # "+ interval" keeps the planner off a backward walk of the occurred_at index,
        # which filters every newer row when the word's matches are old.
        sql = text(
            f"SELECT item.id FROM item WHERE search_vector @@ to_tsquery('english', :tsq) "
            f"{extra} {bound} ORDER BY item.occurred_at + interval '0 seconds' DESC NULLS "
            "LAST, item.id DESC LIMIT :cap"
        ).bindparams(*binds)
        ids = list(conn.execute(sql, values).scalars())
        if len(ids) >= cap:
            break
    return ids


def _tsquery(terms: list[str], match: Match) -> str:
    return (" | " if match == "any" else " & ").join(terms)


def _with_snippets(conn: Connection, hits: list[SearchHit], query: str) -> list[SearchHit]:
    """Snippets for the kept hits only: made for every ranked row, they cost more than the
    rank. Looked up by rowid: ``snippet`` needs no document frequencies."""
    if not hits:
        return hits
    sql = text(
        "SELECT rowid, snippet(item_fts, 1, '[', ']', '…', 18) FROM item_fts "
        "WHERE item_fts MATCH :q AND rowid IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    rows = conn.execute(sql, {"q": query, "ids": [h.item_id for h in hits]}).all()
    found: dict[int, str] = dict(rows)
    return [replace(h, snippet=" ".join((found.get(h.item_id) or "").split())) for h in hits]


def rarest(
    conn: Connection, terms: list[str], keep: int, *, prune_common: bool = False
) -> list[str]:
    """The ``keep`` words of ``terms`` that match the fewest items (counted up to a cap)."""
    counts = doc_counts(conn, terms)
    counted = [(counts[t], n, t) for n, t in enumerate(counts) if counts[t]]
    # A word in at least the cap's worth of items barely ranks and costs the most to match:
    # left out while three rarer words remain to carry the query.
    if prune_common and sum(1 for df, _n, _t in counted if df < RARE_DF) >= 3:
        counted = [c for c in counted if c[0] < RARE_DF]
    kept = sorted(counted)[:keep]
    return [term for _df, _n, term in sorted(kept, key=lambda c: c[1])] or terms[:keep]


def _hit(row: Any) -> SearchHit:
    occurred = row.occurred_at
    if isinstance(occurred, str):
        occurred = datetime.fromisoformat(occurred)
    if occurred is not None and occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=UTC)
    return SearchHit(
        canonical_id=row.canonical_id,
        platform=row.platform,
        container_name=row.container_name,
        title=row.title,
        snippet=" ".join((row.snippet or "").split()),
        occurred_at=occurred,
        score=float(row.score or 0.0),
        item_id=int(row.id),
    )


@dataclass(frozen=True)
class ItemView:
    """What a result shows of one item: its ids, the platform's own ids, who, when, what."""

    item_id: int
    canonical_id: str
    platform: str
    kind: str
    native: dict[str, str]
    container_id: str
    container_name: str | None
    thread_id: str | None
    occurred_at: datetime | None
    author_key: str | None
    author_name: str | None
    title: str | None
    text: str
    permalink: str | None
    storyline_id: int | None
    storyline_key: str | None
    storyline_title: str | None

    def identifiers(self) -> dict[str, str | None]:
        """The platform's own identifiers, named as that platform names them."""
        n = self.native
        if self.platform == "slack":
            return {"channel_id": n.get("channel", self.container_id),
                    "channel_name": self.container_name, "ts": n.get("ts")}
        if self.platform == "email":
            return {"message_id": n.get("message_id"), "thread_id": n.get("gmail_thread_id")}
        if self.platform == "calendar":
            return {"uid": n.get("uid"), "instance_start": n.get("instance_start")}
        return {"page_id": n.get("page_id"), "database_id": n.get("database_id")}


def item_views(conn: Connection, item_ids: Sequence[int]) -> dict[int, ItemView]:
    """The items with author names (a merged person's name first) and storylines."""
    if not item_ids:
        return {}
    query = (
        select(
            item.c.id, item.c.canonical_id, item.c.platform, item.c.kind, item.c.native,
            item.c.container_id, item.c.container_name, item.c.thread_id, item.c.occurred_at,
            item.c.author_key, item.c.title, item.c.text, item.c.permalink,
            func.coalesce(person.c.display_name, identity.c.display_name).label("author_name"),
            storyline.c.id.label("storyline_id"), storyline.c.key.label("storyline_key"),
            storyline.c.title.label("storyline_title"),
        )
        .select_from(
            item.outerjoin(identity, identity.c.key == item.c.author_key)
            .outerjoin(person, person.c.id == identity.c.person_id)
            .outerjoin(storyline_item, storyline_item.c.item_id == item.c.id)
            .outerjoin(storyline, storyline.c.id == storyline_item.c.storyline_id)
        )
        .where(item.c.id.in_(list(item_ids)))
    )
    views = {}
    for r in conn.execute(query):
        views[r.id] = ItemView(
            item_id=r.id, canonical_id=r.canonical_id, platform=r.platform, kind=r.kind,
            native=dict(r.native or {}), container_id=r.container_id,
            container_name=r.container_name, thread_id=r.thread_id, occurred_at=r.occurred_at,
            author_key=r.author_key, author_name=r.author_name, title=r.title, text=r.text,
            permalink=r.permalink, storyline_id=r.storyline_id, storyline_key=r.storyline_key,
            storyline_title=r.storyline_title,
        )
    return views
