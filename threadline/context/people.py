"""People: which identities (addresses, Slack users, Notion names) are one person, and why.

Persons are the connected groups of identities under strong keys (one address, a Slack profile
listing an address) and the user's merges, minus the user's splits. A fold recomputes only the
groups that contain the identities its items touch (and identities with no person yet), found
through the key index, so its cost follows the items, not the store. Weak keys (similar names,
co-occurrence) never join anyone: they become suggestions (``people_suggest``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, select, update

from threadline.context import people_tally
from threadline.context.people_identity import (
    ADDR,
    IdentityRow,
    best_name,
    chunks,
    load,
    lookup,
    write_index,
)
from threadline.context.people_query import PeopleError, resolve_identity
from threadline.context.people_suggest import drop_within, suggest
from threadline.store.context_schema import (
    identity_token,
    merge_suggestion,
    person_decision,
    person_evidence,
)
from threadline.store.schema import identity, item, person
from threadline.store.upsert import insert_or_update
from threadline.store.writer import utcnow

_PLATFORM = {"slack": "Slack user", "email": "address", "notion": "Notion user"}


@dataclass
class Decisions:
    """The user's merges and splits, replayed in the order they were made."""

    merges: list[tuple[str, str, datetime]] = field(default_factory=list)
    split: set[str] = field(default_factory=set)
    partners: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def load(cls, conn: Connection) -> Decisions:
        # The user's own decisions: a handful of rows, read whole once per fold.
        rows = conn.execute(select(person_decision).order_by(person_decision.c.id)).all()
        split_at: dict[str, int] = {}
        for row in rows:
            if row.decision == "split":
                split_at[row.identity_a] = row.id
        found = cls(split=set(split_at))
        for row in rows:
            a, b = row.identity_a, row.identity_b
            # A split undoes every merge made before it, and only those.
            if row.decision == "merge" and row.id > max(split_at.get(a, 0), split_at.get(b, 0)):
                found.merges.append((a, b, row.created_at))
                found.partners[a].add(b)
                found.partners[b].add(a)
        return found


def _strong(row: IdentityRow, decisions: Decisions) -> bool:
    return not row.never_merged and row.key not in decisions.split


def _discover(
    conn: Connection, start: dict[str, IdentityRow], decisions: Decisions
) -> dict[str, IdentityRow]:
    """Every identity linked to ``start`` by an address or a user's merge, transitively."""
    nodes = dict(start)
    frontier = list(start.values())
    while frontier:
        strong = [r for r in frontier if _strong(r, decisions)]
        hits = lookup(conn, {ADDR + a for r in strong for a in r.addresses()})
        wanted: set[str] = set()
        for row in frontier:
            if _strong(row, decisions):
                for address in row.addresses():
                    wanted |= hits.get(ADDR + address, set())
            wanted |= decisions.partners.get(row.key, set())
        found = load(conn, wanted - set(nodes))
        nodes.update(found)
        frontier = list(found.values())
    return nodes


def _components(nodes: dict[str, IdentityRow], decisions: Decisions) -> list[list[IdentityRow]]:
    parent = {key: key for key in nodes}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def join(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_address: dict[str, list[str]] = defaultdict(list)
    for row in nodes.values():
        if _strong(row, decisions):
            for address in row.addresses():
                by_address[address].append(row.key)
    for keys in by_address.values():
        for other in keys[1:]:
            join(keys[0], other)
    for a, b, _when in decisions.merges:
        if a in nodes and b in nodes:
            join(a, b)
    groups: dict[str, list[IdentityRow]] = defaultdict(list)
    for key in sorted(nodes):
        groups[root(key)].append(nodes[key])
    return [groups[k] for k in sorted(groups)]


def _evidence(members: list[IdentityRow], decisions: Decisions) -> list[tuple[str, str, str]]:
    """(identity key, rule, detail) for each identity joined to the others, and why."""
    if len(members) < 2:
        return []
    keys = {m.key for m in members}
    rows: list[tuple[str, str, str]] = []
    by_address: dict[str, list[IdentityRow]] = defaultdict(list)
    for m in members:
        if _strong(m, decisions):
            for address in m.addresses():
                by_address[address].append(m)
    for address, sharing in sorted(by_address.items()):
        if len(sharing) < 2:
            continue
        for m in sharing:
            if m.key == f"email:{address}":
                continue  # the address itself: the others are joined to it
            if m.kind == "slack" and m.profile_email() == address:
                rows.append(
                    (m.key, "slack-profile-email", f"Slack profile of {m.value} lists {address}")
                )
            else:
                what = _PLATFORM.get(m.kind, m.kind)
                rows.append((m.key, "same-address", f"{what} {m.value} has the address {address}"))
    for a, b, when in decisions.merges:
        if a in keys and b in keys:
            rows.append((b, "user-confirmed", f"you merged {b} with {a} on {when:%Y-%m-%d}"))
    return sorted(set(rows))


def _new_persons(conn: Connection, names: list[str], now: datetime) -> list[int]:
    if not names:
        return []
    stmt = person.insert().returning(person.c.id, sort_by_parameter_order=True)
    rows = [{"display_name": n, "created_at": now} for n in names]
    return [r.id for r in conn.execute(stmt, rows)]


def settle(conn: Connection, keys: Iterable[str], now: datetime) -> None:
    """Bring the persons of these identities, and of everyone linked to them, up to date."""
    decisions = Decisions.load(conn)
    start = load(conn, keys)
    if not start:
        return
    write_index(conn, start.values(), now)
    nodes = _discover(conn, start, decisions)
    groups = _components(nodes, decisions)
    used: set[int] = set()
    chosen: list[int | None] = []
    for members in groups:
        owned = sorted({m.person_id for m in members if m.person_id is not None} - used)
        chosen.append(owned[0] if owned else None)
        used.update(owned[:1])
    fresh = iter(
        _new_persons(
            conn, [best_name(g) for g, c in zip(groups, chosen, strict=True) if c is None], now
        )
    )
    moves: list[dict[str, Any]] = []
    names: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    for members, pid in zip(groups, chosen, strict=True):
        if pid is None:
            pid = next(fresh)
        else:
            names.append({"p_id": pid, "display_name": best_name(members)})
        used.add(pid)
        moves += [{"i_key": m.key, "person_id": pid} for m in members if m.person_id != pid]
        evidence += [
            {"person_id": pid, "identity_key": k, "rule": rule, "detail": detail, "created_at": now}
            for k, rule, detail in _evidence(members, decisions)
        ]
    _write(conn, nodes, moves, names, evidence)
    orphans = {m.person_id for m in nodes.values() if m.person_id is not None} - used
    _drop_orphans(conn, orphans)
    for members in groups:
        if len(members) > 1:
            drop_within(conn, [m.key for m in members])
    suggest(conn, load(conn, start).values(), now)


def _write(
    conn: Connection,
    nodes: dict[str, IdentityRow],
    moves: list[dict[str, Any]],
    names: list[dict[str, Any]],
    evidence: list[dict[str, Any]],
) -> None:
    for part in chunks(sorted(nodes)):
        conn.execute(delete(person_evidence).where(person_evidence.c.identity_key.in_(part)))
    if moves:
        conn.execute(
            update(identity).where(identity.c.key == bindparam("i_key")),
            moves,
        )
    if names:
        conn.execute(update(person).where(person.c.id == bindparam("p_id")), names)
    if evidence:
        conn.execute(person_evidence.insert(), evidence)


def _drop_orphans(conn: Connection, candidates: set[int]) -> None:
    if not candidates:
        return
    # Needs an index on identity.person_id to stay cheap (asked for in migration 0003).
    still = set(
        conn.execute(
            select(identity.c.person_id).where(identity.c.person_id.in_(sorted(candidates)))
        ).scalars()
    )
    gone = sorted(candidates - still)
    if gone:
        # Their evidence went with their identities' evidence in _write.
        conn.execute(delete(person).where(person.c.id.in_(gone)))


def touched_keys(conn: Connection, item_ids: Sequence[int]) -> set[str]:
    keys: set[str] = set()
    for part in chunks(list(item_ids)):
        for author, recipients in conn.execute(
            select(item.c.author_key, item.c.recipients).where(item.c.id.in_(part))
        ):
            if author:
                keys.add(author)
            keys.update(k for k in recipients or [] if isinstance(k, str))
    keys.update(
        conn.execute(select(identity.c.key).where(identity.c.person_id.is_(None))).scalars()
    )
    return keys


class PeopleFolder:
    """Keeps persons, their evidence and merge suggestions current as items arrive."""

    name = "people"

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        people_tally.refresh(conn, item_ids)
        settle(conn, touched_keys(conn, item_ids), now)

    def reset(self, conn: Connection) -> None:
        ms = merge_suggestion.c
        conn.execute(delete(person_evidence))
        conn.execute(delete(merge_suggestion).where(ms.status == "open"))
        conn.execute(delete(identity_token))
        conn.execute(update(identity).values(person_id=None))
        conn.execute(delete(person))
        people_tally.reset(conn)


def _members(conn: Connection, person_id: int | None) -> list[str]:
    if person_id is None:
        return []
    return list(
        conn.execute(select(identity.c.key).where(identity.c.person_id == person_id)).scalars()
    )


def merge(conn: Connection, a: str, b: str, now: datetime | None = None) -> int:
    """Join the persons of A and B for good (the user's word beats every rule); the person id."""
    now = now or utcnow()
    first, second = resolve_identity(conn, a), resolve_identity(conn, b)
    if first.key == second.key:
        raise PeopleError(f"{a!r} and {b!r} are the same identity {first.key}: name two identities")
    conn.execute(
        person_decision.insert().values(
            identity_a=first.key, identity_b=second.key, decision="merge", created_at=now
        )
    )
    members = _members(conn, first.person_id) + _members(conn, second.person_id)
    ms = merge_suggestion.c
    conn.execute(
        update(merge_suggestion)
        .where(and_(ms.identity_a.in_(members), ms.identity_b.in_(members), ms.status == "open"))
        .values(status="accepted")
    )
    settle(conn, [first.key, second.key, *members], now)
    found = conn.execute(select(identity.c.person_id).where(identity.c.key == first.key)).scalar()
    assert found is not None
    return int(found)


def split(conn: Connection, ref: str, now: datetime | None = None) -> int:
    """Detach one identity into a person of its own, and keep it there; the new person id."""
    now = now or utcnow()
    row = resolve_identity(conn, ref, single=True)
    mates = [k for k in _members(conn, row.person_id) if k != row.key]
    conn.execute(
        person_decision.insert().values(
            identity_a=row.key, identity_b=row.key, decision="split", created_at=now
        )
    )
    # A split is also the user's "no" to suggesting them together again.
    rejected = [
        {
            "identity_a": min(row.key, k),
            "identity_b": max(row.key, k),
            "score": 0.0,
            "evidence": f"you split {row.key} from them on {now:%Y-%m-%d}",
            "status": "rejected",
            "created_at": now,
        }
        for k in mates
    ]
    insert_or_update(
        conn, merge_suggestion, rejected, ["identity_a", "identity_b"], ["status", "evidence"]
    )
    settle(conn, [row.key, *mates], now)
    found = conn.execute(select(identity.c.person_id).where(identity.c.key == row.key)).scalar()
    assert found is not None
    return int(found)
