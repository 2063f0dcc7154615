"""Reading people back: the list, one person with the evidence that joins them, suggestions.

These are what the CLI prints and the web app shows. A reference to a person is a person id,
an identity key ("email:jane@x", "slack:U123") or a name; errors say what to try instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel
from sqlalchemy import Connection, func, or_, select

from threadline.context.people_identity import IdentityRow, chunks, load
from threadline.errors import ThreadlineError
from threadline.store.context_schema import merge_suggestion, person_evidence
from threadline.store.schema import identity, item, person


class PeopleError(ThreadlineError):
    """A person or identity reference that matches nothing, or too much."""


class Evidence(BaseModel):
    rule: str
    detail: str


class IdentityView(BaseModel):
    key: str
    kind: str
    platform: str
    display_name: str | None
    title: str | None
    items: int
    bot: bool
    evidence: list[Evidence]


class PersonSummary(BaseModel):
    id: int
    name: str
    identities: int
    platforms: list[str]
    items: int
    bot: bool


class SuggestionView(BaseModel):
    identity_a: str
    identity_b: str
    person_a: int | None
    person_b: int | None
    name_a: str
    name_b: str
    score: float
    evidence: str


class PersonDetail(BaseModel):
    id: int
    name: str
    identities: list[IdentityView]
    suggestions: list[SuggestionView]


def item_counts(conn: Connection, keys: Iterable[str]) -> dict[str, int]:
    """Items each identity wrote (item.author_key is indexed)."""
    counts: dict[str, int] = {}
    for part in chunks(sorted(set(keys))):
        query = (
            select(item.c.author_key, func.count())
            .where(item.c.author_key.in_(part))
            .group_by(item.c.author_key)
        )
        counts.update({key: int(n) for key, n in conn.execute(query).all()})
    return counts


def _members(conn: Connection, person_ids: Iterable[int]) -> dict[int, list[IdentityRow]]:
    keys: list[str] = []
    for part in chunks(sorted(set(person_ids))):
        keys += conn.execute(select(identity.c.key).where(identity.c.person_id.in_(part))).scalars()
    grouped: dict[int, list[IdentityRow]] = defaultdict(list)
    for row in sorted(load(conn, keys).values(), key=lambda r: r.key):
        if row.person_id is not None:
            grouped[row.person_id].append(row)
    return grouped


def _names(conn: Connection, person_ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in chunks(sorted(set(person_ids))):
        query = select(person.c.id, person.c.display_name).where(person.c.id.in_(part))
        found.update({pid: name for pid, name in conn.execute(query).all()})
    return found


def _matching(conn: Connection, ref: str) -> list[int]:
    """Person ids whose name (or an identity's name) is ``ref``; failing that, contains it."""
    for exact in (True, False):
        if exact:
            on_person = func.lower(person.c.display_name) == ref.lower()
            on_identity = func.lower(identity.c.display_name) == ref.lower()
        else:
            on_person = person.c.display_name.ilike(f"%{ref}%")
            on_identity = or_(
                identity.c.display_name.ilike(f"%{ref}%"), identity.c.key.ilike(f"%{ref}%")
            )
        ids = set(conn.execute(select(person.c.id).where(on_person)).scalars())
        ids |= {
            pid
            for pid in conn.execute(select(identity.c.person_id).where(on_identity)).scalars()
            if pid is not None
        }
        if ids:
            return sorted(ids)
    return []


def resolve_person(conn: Connection, ref: str) -> int:
    ref = ref.strip()
    if ref.isdigit():
        if conn.execute(select(person.c.id).where(person.c.id == int(ref))).scalar() is None:
            raise PeopleError(f"no person #{ref}: try threadline people")
        return int(ref)
    if ":" in ref:
        row = _identity(conn, ref)
        if row is not None:
            if row.person_id is None:
                raise PeopleError(f"{row.key} has no person yet: run threadline accumulate")
            return row.person_id
    ids = _matching(conn, ref)
    if not ids:
        raise PeopleError(f"no person or identity matches {ref!r}: try threadline people")
    if len(ids) > 1:
        names = _names(conn, ids[:10])
        listed = ", ".join(f"#{pid} {names.get(pid, '')}" for pid in ids[:10])
        raise PeopleError(f"{ref!r} matches {len(ids)} people ({listed}): use the person id")
    return ids[0]


def _identity(conn: Connection, ref: str) -> IdentityRow | None:
    kind, _, value = ref.partition(":")
    key = f"{kind}:{value.strip().lower()}" if kind == "email" else ref.strip()
    return load(conn, [key]).get(key)


def resolve_identity(conn: Connection, ref: str, *, single: bool = False) -> IdentityRow:
    """The identity ``ref`` names; for a person, its first identity (or, if ``single``, its
    only one)."""
    if ":" in ref and not ref.strip().isdigit():
        row = _identity(conn, ref)
        if row is not None:
            return row
    pid = resolve_person(conn, ref)
    rows = _members(conn, [pid]).get(pid, [])
    if not rows:
        raise PeopleError(f"person #{pid} has no identities: run threadline accumulate --rebuild")
    if single and len(rows) > 1:
        keys = ", ".join(r.key for r in rows)
        raise PeopleError(
            f"{ref!r} is person #{pid} with {len(rows)} identities ({keys}): name one"
        )
    return rows[0]


def list_people(conn: Connection, query: str | None = None) -> list[PersonSummary]:
    everyone = select(person.c.id)
    ids = _matching(conn, query) if query else list(conn.execute(everyone).scalars())
    members = _members(conn, ids)
    names = _names(conn, members)
    counts = item_counts(conn, [r.key for rows in members.values() for r in rows])
    found = [
        PersonSummary(
            id=pid,
            name=names.get(pid, ""),
            identities=len(rows),
            platforms=sorted({r.platform for r in rows}),
            items=sum(counts.get(r.key, 0) for r in rows),
            bot=all(r.never_merged for r in rows),
        )
        for pid, rows in members.items()
    ]
    return sorted(found, key=lambda p: (-p.items, p.name.casefold(), p.id))


def show_person(conn: Connection, ref: str) -> PersonDetail:
    pid = resolve_person(conn, ref)
    rows = _members(conn, [pid]).get(pid, [])
    keys = [r.key for r in rows]
    counts = item_counts(conn, keys)
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    for part in chunks(keys):
        query = (
            select(person_evidence.c.identity_key, person_evidence.c.rule, person_evidence.c.detail)
            .where(person_evidence.c.identity_key.in_(part))
            .order_by(person_evidence.c.identity_key, person_evidence.c.rule)
        )
        for key, rule, detail in conn.execute(query).all():
            evidence[key].append(Evidence(rule=rule, detail=detail))
    views = [
        IdentityView(
            key=r.key,
            kind=r.kind,
            platform=r.platform,
            display_name=r.display_name,
            title=r.profile.get("title") if isinstance(r.profile.get("title"), str) else None,
            items=counts.get(r.key, 0),
            bot=r.never_merged,
            evidence=evidence.get(r.key, []),
        )
        for r in rows
    ]
    mine = set(keys)
    related = [s for s in suggestions(conn, keys) if {s.identity_a, s.identity_b} & mine]
    return PersonDetail(
        id=pid, name=_names(conn, [pid]).get(pid, ""), identities=views, suggestions=related
    )


def suggestions(conn: Connection, keys: list[str] | None = None) -> list[SuggestionView]:
    """Open suggestions, the best one per pair of persons, most likely first."""
    ms = merge_suggestion.c
    query = select(ms.identity_a, ms.identity_b, ms.score, ms.evidence).where(ms.status == "open")
    if keys is not None:
        query = query.where(or_(ms.identity_a.in_(keys), ms.identity_b.in_(keys)))
    rows = conn.execute(query.order_by(ms.score.desc(), ms.identity_a, ms.identity_b)).all()
    known = load(conn, {k for r in rows for k in (r.identity_a, r.identity_b)})
    names = _names(conn, {r.person_id for r in known.values() if r.person_id is not None})
    best: dict[tuple[int | None, ...], SuggestionView] = {}
    for a, b, score, evidence in rows:
        pa = known[a].person_id if a in known else None
        pb = known[b].person_id if b in known else None
        pair = tuple(sorted((pa or 0, pb or 0)))
        if pair not in best:
            best[pair] = SuggestionView(
                identity_a=a,
                identity_b=b,
                person_a=pa,
                person_b=pb,
                name_a=names.get(pa or 0, a),
                name_b=names.get(pb or 0, b),
                score=score,
                evidence=evidence,
            )
    return list(best.values())
