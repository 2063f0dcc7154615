"""Weak keys: identities that may be one person, offered to the user and never merged alone.

Only identities that share a name token (the candidate block) are compared, so one fold costs
the touched identities times the size of their blocks, not all pairs. A name match is scored
with rapidfuzz's token_sort_ratio, with initials ("J. Doe" ~ "Jane Doe") counted as a match;
appearing together on items adds to a match but never makes one on its own, since colleagues
co-occur far more often than one person's two accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Connection, and_, delete, select

from threadline.context.people_identity import (
    NAME,
    WEBMAIL,
    IdentityRow,
    chunks,
    load,
    lookup,
    normalize_name,
)
from threadline.context.people_tally import co_occurrences, ensure
from threadline.store.context_schema import merge_suggestion
from threadline.store.upsert import insert_or_update

THRESHOLD = 90.0
NEAR = 80.0
"""A name this close needs co-occurrence (``TOGETHER`` items) to be suggested."""
TOGETHER = 3
INITIALS = 92.0
DIFFERENT_COMPANIES = 15.0


def name_score(a: str, b: str) -> float:
    """Similarity of two normalized names, 0-100; matching initials count as 92."""
    score = float(fuzz.token_sort_ratio(a, b))
    ta, tb = a.split(), b.split()
    same_last = len(ta) == len(tb) >= 2 and ta[-1] == tb[-1]
    if same_last and all(
        x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))
        for x, y in zip(ta[:-1], tb[:-1], strict=True)
    ):
        score = max(score, INITIALS)
    return score


def _names(row: IdentityRow) -> list[tuple[str, str]]:
    shown = [*row.names(), *row.derived_names()]
    return [(text, normalize_name(text)) for text in shown if normalize_name(text)]


@dataclass(frozen=True)
class Suggestion:
    score: float
    evidence: str


def _who(row: IdentityRow) -> str:
    label = {"slack": "Slack user ", "notion": "Notion user "}.get(row.kind, "")
    return label + row.value


@dataclass(frozen=True)
class NameMatch:
    best: float
    shown: tuple[str, str]


def match_names(
    a: IdentityRow, b: IdentityRow,
    names: Callable[[IdentityRow], list[tuple[str, str]]] = _names,
) -> NameMatch | None:
    """The closest pair of their names, if close enough to weigh anything else."""
    best, shown = 0.0, ("", "")
    for text_a, norm_a in names(a):
        for text_b, norm_b in names(b):
            score = name_score(norm_a, norm_b)
            if score > best:
                best, shown = score, (text_a, text_b)
    return NameMatch(best, shown) if best >= NEAR else None


def weigh(
    a: IdentityRow, b: IdentityRow, matched: NameMatch, together: int
) -> Suggestion | None:
    """A name match with how often they appear together and where they work."""
    best, shown = matched.best, matched.shown
    if best < THRESHOLD and together < TOGETHER:
        return None
    notion = "notion" in (a.kind, b.kind) and best == 100.0
    parts = [
        f"{'Notion name matches' if notion else 'names match'}: "
        f"{shown[0]!r} ({_who(a)}) and {shown[1]!r} ({_who(b)}), {best:.0f}"
    ]
    score = best + 2.0 * min(together, 5)
    if together:
        parts.append(f"appear together on {together} item{'s' if together != 1 else ''}")
    corporate_a, corporate_b = a.domains() - WEBMAIL, b.domains() - WEBMAIL
    if corporate_a and corporate_b and not corporate_a & corporate_b:
        score -= DIFFERENT_COMPANIES
        domains = ", ".join(sorted(corporate_a | corporate_b))
        parts.append(f"but at different companies ({domains})")
    return Suggestion(round(min(score, 100.0), 1), "; ".join(parts))


def _decided(conn: Connection, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Pairs the user already accepted or rejected: never reopened."""
    wanted = set(pairs)
    found: set[tuple[str, str]] = set()
    ms = merge_suggestion.c
    for part in chunks(sorted({a for a, _b in pairs})):
        query = select(ms.identity_a, ms.identity_b).where(
            ms.identity_a.in_(part), ms.status.in_(["accepted", "rejected"])
        )
        found.update((a, b) for a, b in conn.execute(query) if (a, b) in wanted)
    return found


def suggest(conn: Connection, rows: Iterable[IdentityRow], now: datetime) -> None:
    """Score the touched identities against their name blocks; keep the likely pairs open."""
    touched = [r for r in rows if not r.never_merged and r.person_id is not None]
    hits = lookup(conn, {NAME + b for r in touched for b in r.blocks()})
    known = {r.key: r for r in touched}
    known.update(load(conn, {k for keys in hits.values() for k in keys} - set(known)))
    # Every pair scored below reads both tallies: count the missing ones in one go.
    ensure(conn, known)
    matched: dict[tuple[str, str], tuple[IdentityRow, IdentityRow, NameMatch]] = {}
    scored: set[tuple[str, str]] = set()
    normalized: dict[str, list[tuple[str, str]]] = {}

    def names(row: IdentityRow) -> list[tuple[str, str]]:
        # A block member meets many touched identities: normalize its names once.
        if row.key not in normalized:
            normalized[row.key] = _names(row)
        return normalized[row.key]

    for row in touched:
        others = set().union(*(hits.get(NAME + b, set()) for b in row.blocks()))
        for key in sorted(others - {row.key}):
            other = known.get(key)
            if other is None or other.never_merged or other.person_id == row.person_id:
                continue
            first, second = sorted((row, other), key=lambda r: r.key)
            pair = (first.key, second.key)
            if pair not in scored:
                scored.add(pair)
                close = match_names(first, second, names)
                if close is not None:
                    matched[pair] = (first, second, close)
    together = co_occurrences(conn, matched)
    found: dict[tuple[str, str], Suggestion] = {}
    for pair, (first, second, close) in matched.items():
        result = weigh(first, second, close, together[pair])
        if result:
            found[pair] = result
    if not found:
        return
    decided = _decided(conn, list(found))
    values: list[dict[str, Any]] = [
        {
            "identity_a": a,
            "identity_b": b,
            "score": s.score,
            "evidence": s.evidence,
            "status": "open",
            "created_at": now,
        }
        for (a, b), s in sorted(found.items())
        if (a, b) not in decided
    ]
    for part in chunks(values):
        insert_or_update(
            conn, merge_suggestion, part, ["identity_a", "identity_b"], ["score", "evidence"]
        )


def drop_within(conn: Connection, keys: Sequence[str]) -> None:
    """Open suggestions between identities that are now one person have nothing to ask."""
    ms = merge_suggestion.c
    for part in chunks(sorted(keys)):
        conn.execute(
            delete(merge_suggestion).where(
                and_(ms.identity_a.in_(part), ms.identity_b.in_(keys), ms.status == "open")
            )
        )
