"""Ranking for hybrid retrieval: BM25 hits weighed by what the question names, then by story.

A question that names a client or describes days ("fixed on Wednesday 2 September") prefers
that client's items and items written around those days: at scale the same wording recurs
for many clients and weeks, and BM25 alone cannot tell them apart. Both are preferences, not
filters: a second, narrowed search only makes sure such items reach the pool.

Then items are ranked by storyline. The strongest storylines among the hits (best hit plus
corroboration from its other hits) bring their other items, close in time to the hits: the
email, the meeting and the decision that tell the same story on other platforms. Those score
just below the storyline's best hit, the informative ones (a subject, a calendar title, a
stated decision) highest, so the top results fill with one story told across platforms
before weaker stray hits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, select, text

from threadline.store.context_schema import client, fact, storyline_item
from threadline.store.schema import item
from threadline.store.search import SearchFilters, SearchHit, filter_sql, search, words

# "similar": no word in common, near in meaning (the optional local embeddings).
Via = Literal["match", "similar", "storyline", "thread"]
DIRECT = ("match", "similar")
VISIBLE = ("config", "inferred")
POOL = 30
# Weight of closeness in meaning next to BM25 (both scaled to their best hit), and how many
# nearest items by meaning join the pool; tuned on bench/bench_retrieval.py.
SIMILAR_WEIGHT = 0.25
SIMILAR_POOL = 30
CLIENT_BOOST = 0.35
DAY_BOOST = 0.6
DAY_REACH = 7
# Slack notices that say who came and went, never what happened.
NOTICES = frozenset({"channel_join", "channel_leave", "channel_topic", "channel_purpose",
                     "channel_name", "bot_add", "bot_remove", "pinned_item", "unpinned_item"})
NOTICE_FACTOR = 0.3
STORYLINES = 4
CORROBORATION = 0.25
MEMBER_REACH = timedelta(days=10)
MEMBERS = 6
# How much of its storyline's score an item that did not match itself inherits.
INHERIT = {"decision": 0.95, "titled": 0.85, "message": 0.7}


@dataclass
class Hit:
    item_id: int
    score: float
    via: Via = "match"
    expanded_from: int | None = None


@dataclass(frozen=True)
class Hints:
    """What a question names besides its words: clients and calendar days."""

    clients: tuple[int, ...] = ()
    days: tuple[date, ...] = ()
    tz: tzinfo = UTC


def named_clients(conn: Connection, question: str) -> tuple[int, ...]:
    """Visible clients whose name or an alias appears, as whole words, in the question.

    A name inferred from a domain ("Alphapartners") also matches when written in words
    ("Alpha Partners")."""
    said = words(question.lower())
    phrase = f" {' '.join(said)} "
    joined = {"".join(said[i : i + n]) for n in (2, 3) for i in range(len(said))}
    found = []
    for cid, name, rules in conn.execute(
        select(client.c.id, client.c.name, client.c.rules).where(client.c.origin.in_(VISIBLE))
    ):
        for alias in (name, *_aliases(rules)):
            parts = words(alias.lower())
            if parts and (f" {' '.join(parts)} " in phrase or "".join(parts) in joined):
                found.append(int(cid))
                break
    return tuple(found)


def _aliases(rules: Any) -> list[str]:
    if not isinstance(rules, dict):
        return []
    out: list[str] = []
    for holder in (rules, rules.get("config")):
        if isinstance(holder, dict) and isinstance(holder.get("aliases"), list):
            out.extend(a for a in holder["aliases"] if isinstance(a, str))
    return out


def pool(
    conn: Connection, parts: list[list[str]], filters: SearchFilters, hints: Hints,
    size: int = POOL, similar: bool = True,
) -> list[Hit]:
    """BM25 hits for each part of the question, weighed by the named clients and days; with
    local embeddings, plus the items nearest in meaning (``SIMILAR_WEIGHT``)."""
    prefer = _scoped(filters, hints)
    best: dict[int, tuple[float, SearchHit]] = {}
    for part in parts:
        found = search(conn, " ".join(part), limit=size, filters=filters, match="any",
                       prefer=prefer, prefer_weight=CLIENT_BOOST, prune_common=True,
                       snippets=False)
        top = max((h.score for h in found), default=0.0) or 1.0
        for h in found:
            score = h.score / top
            if h.item_id not in best or best[h.item_id][0] < score:
                best[h.item_id] = (score, h)
    near = _similar(conn, parts, filters) if similar else {}
    matched = set(best)
    for item_id, (when, platform) in _facts(conn, set(near) - set(best)).items():
        best[item_id] = (0.0, SearchHit(canonical_id="", platform=platform, container_name=None,
                                        title=None, snippet="", occurred_at=when, score=0.0,
                                        item_id=item_id))
    if not best:
        return []
    notices = _notices(conn, [h.item_id for _s, h in best.values() if h.platform == "slack"])
    out = []
    for item_id, (score, found_hit) in best.items():
        score += SIMILAR_WEIGHT * near.get(item_id, 0.0)
        # The window already counted once in SQL; nearness within it decides among equals.
        score *= 1 + DAY_BOOST * closeness(found_hit.occurred_at, hints)
        if item_id in notices:
            score *= NOTICE_FACTOR
        out.append(Hit(item_id, score, "match" if item_id in matched else "similar"))
    top = max(h.score for h in out) or 1.0
    for kept in out:
        kept.score /= top
    # Among equals, the order search gave (the more recent first).
    order = {item_id: n for n, item_id in enumerate(best)}
    return sorted(out, key=lambda h: (-h.score, order[h.item_id]))


def _similar(
    conn: Connection, parts: list[list[str]], filters: SearchFilters
) -> dict[int, float]:
    """The items nearest the question in meaning, under the filters, scaled to the best."""
    from threadline.context.vector_index import vector_index

    index = vector_index(conn)
    if index is None:
        return {}
    found: dict[int, float] = {}
    for part in parts:
        # Filters apply after: read past the nearest so that enough of them remain.
        nearest = index.nearest(" ".join(part), SIMILAR_POOL * 4)
        allowed = allowed_items(conn, [i for i, _s in nearest], filters)
        kept = [(i, s) for i, s in nearest if i in allowed][:SIMILAR_POOL]
        top = max((s for _i, s in kept), default=0.0) or 1.0
        for i, s in kept:
            found[i] = max(found.get(i, 0.0), s / top)
    return found


def _facts(conn: Connection, ids: set[int]) -> dict[int, tuple[datetime | None, str]]:
    if not ids:
        return {}
    rows = conn.execute(
        select(item.c.id, item.c.occurred_at, item.c.platform).where(item.c.id.in_(sorted(ids)))
    )
    return {r.id: (r.occurred_at, r.platform) for r in rows}


def _scoped(filters: SearchFilters, hints: Hints) -> SearchFilters | None:
    narrowed = filters
    if hints.clients and filters.client_ids is None:
        narrowed = replace(narrowed, client_ids=list(hints.clients))
    if hints.days and filters.since is None and filters.until is None:
        lo = datetime.combine(min(hints.days) - timedelta(days=DAY_REACH), datetime.min.time(),
                              tzinfo=hints.tz)
        hi = datetime.combine(max(hints.days) + timedelta(days=DAY_REACH + 1),
                              datetime.min.time(), tzinfo=hints.tz)
        narrowed = replace(narrowed, since=lo.astimezone(UTC), until=hi.astimezone(UTC))
    return None if narrowed == filters else narrowed


def closeness(when: datetime | None, hints: Hints) -> float:
    """1 on a named day, falling to 0 a week away."""
    if when is None or not hints.days:
        return 0.0
    day = when.astimezone(hints.tz).date()
    near = min(abs((day - d).days) for d in hints.days)
    return max(0.0, 1 - near / DAY_REACH)


def _notices(conn: Connection, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    # By primary key alone: with a platform condition SQLite would walk the platform index.
    rows = conn.execute(select(item.c.id, item.c.native).where(item.c.id.in_(list(ids))))
    return {r.id for r in rows if isinstance(r.native, dict)
            and r.native.get("subtype") in NOTICES}


@dataclass(frozen=True)
class Member:
    item_id: int
    storyline_id: int
    platform: str
    title: str | None
    occurred_at: datetime | None


def by_storyline(
    conn: Connection, direct: list[Hit], filters: SearchFilters, limit: int
) -> list[Hit]:
    """Direct hits plus the informative items of their strongest storylines, best first."""
    found = {h.item_id: h for h in direct}
    sid_of = storylines_of(conn, list(found))
    groups: dict[int, list[Hit]] = defaultdict(list)
    for h in direct:
        if h.item_id in sid_of:
            groups[sid_of[h.item_id]].append(h)
    strength = {
        sid: hits[0].score + CORROBORATION * sum(h.score for h in hits[1:3])
        for sid, hits in groups.items()
    }
    chosen = sorted(strength, key=lambda s: (-strength[s], s))[:STORYLINES]
    members = storyline_members(conn, chosen)
    decided = decisions(conn, [m.item_id for m in members])
    proposed: list[Hit] = []
    for sid in chosen:
        hits = groups[sid]
        times = [m.occurred_at for m in members if m.item_id in {h.item_id for h in hits}
                 and m.occurred_at is not None]
        near = sorted(
            (m for m in members if m.storyline_id == sid and m.item_id not in found),
            key=lambda m: (_gap(m.occurred_at, times), m.item_id),
        )
        for m in near[:MEMBERS]:
            gap = _gap(m.occurred_at, times)
            if gap > MEMBER_REACH.total_seconds():
                break
            kind = ("decision" if m.item_id in decided
                    else "titled" if m.platform != "slack" and m.title else "message")
            fade = 1 - 0.2 * gap / MEMBER_REACH.total_seconds()
            proposed.append(Hit(m.item_id, strength[sid] * INHERIT[kind] * fade,
                                "storyline", hits[0].item_id))
    allowed = allowed_items(conn, {h.item_id for h in proposed},
                            replace(filters, since=None, until=None))
    for h in proposed:
        kept = found.get(h.item_id)
        if h.item_id in allowed and (kept is None or kept.score < h.score):
            found[h.item_id] = h
    # A storyline's own hits rise with its corroboration, so a story told in several
    # items outranks a single stray match of the same strength.
    for sid in chosen:
        for h in groups[sid]:
            lift = 1.0 if h is groups[sid][0] else INHERIT["titled"]
            h.score = max(h.score, strength[sid] * lift)
    ranked = sorted(found.values(), key=lambda h: (-h.score, h.via not in DIRECT, h.item_id))
    return ranked[:limit]


def _gap(when: datetime | None, times: Iterable[datetime]) -> float:
    spans = [abs((when - t).total_seconds()) for t in times] if when is not None else []
    return min(spans, default=float("inf"))


def storylines_of(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(conn.execute(
        select(storyline_item.c.item_id, storyline_item.c.storyline_id)
        .where(storyline_item.c.item_id.in_(list(ids)))
    ).all())


def storyline_members(conn: Connection, sids: Sequence[int]) -> list[Member]:
    if not sids:
        return []
    rows = conn.execute(
        select(storyline_item.c.storyline_id, item.c.id, item.c.platform, item.c.title,
               item.c.occurred_at)
        .join(item, item.c.id == storyline_item.c.item_id)
        .where(storyline_item.c.storyline_id.in_(list(sids)), item.c.deleted.is_(False))
        .limit(200 * len(sids))
    )
    return [Member(r.id, r.storyline_id, r.platform, r.title, r.occurred_at) for r in rows]


def decisions(conn: Connection, ids: Sequence[int]) -> set[int]:
    """Items that state a decision still believed."""
    if not ids:
        return set()
    return set(conn.execute(
        select(fact.c.item_id).where(fact.c.item_id.in_(list(ids)), fact.c.kind == "decision",
                                     fact.c.expired_at.is_(None))
    ).scalars())


def allowed_items(conn: Connection, ids: Iterable[int], filters: SearchFilters) -> set[int]:
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
