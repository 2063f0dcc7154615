"""Co-occurrence tallies: for each author, how many of their first items name each identity.

Weak merge suggestions weigh "appear together on items" (``people_suggest``). Counting that
from the items for every pair scored reads both people's items again at every fold, and
more of them as the store grows. Instead each author's tally is kept: over the author's
first ``ROWS`` live items by id, how many name each other identity. A fold brings the
tallies of its items' authors current:

- a new item past the tally's last id is appended, while the tally holds fewer than
  ``ROWS`` items (reading only the new items);
- a counted item that changed since (edited, deleted, given another author), or an item
  older than the tally that it does not hold, recounts that author from the items (at most
  ``ROWS`` rows).

Either way a tally equals one counted from scratch, so a rebuild gives the same tallies.
A store upgraded from before tallies counts each author the first time it is asked for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select

from threadline.context.people_identity import chunks
from threadline.store.context_schema import identity_tally, identity_tally_state, tally_item
from threadline.store.schema import item
from threadline.store.upsert import insert_or_update

ROWS = 5000


@dataclass(frozen=True)
class TallyState:
    items: int
    last_id: int


def co_occurrence(conn: Connection, a: str, b: str, *, ensured: bool = False) -> int:
    """Items one of them wrote that name the other, over each one's first ``ROWS`` items.

    ``ensured``: the caller has already made sure both have a tally (``ensure``)."""
    if not ensured:
        ensure(conn, [a, b])
    t = identity_tally.c
    total = conn.execute(
        select(func.coalesce(func.sum(t.together), 0)).where(
            or_(
                and_(t.author_key == a, t.other_key == b),
                and_(t.author_key == b, t.other_key == a),
            )
        )
    ).scalar_one()
    return int(total)


def co_occurrences(
    conn: Connection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """``co_occurrence`` of many pairs whose tallies are ensured, in one read per chunk."""
    wanted = set(pairs)
    found = dict.fromkeys(wanted, 0)
    keys = sorted({k for pair in wanted for k in pair})
    t = identity_tally.c
    for part in chunks(keys):
        rows = conn.execute(
            select(t.author_key, t.other_key, t.together).where(
                t.author_key.in_(part), t.other_key.in_(keys)
            )
        )
        for author, other, together in rows:
            for pair in ((author, other), (other, author)):
                if pair in found:
                    found[pair] += int(together)
    return found


def ensure(conn: Connection, authors: Iterable[str]) -> None:
    """Count the authors that have no tally yet."""
    wanted = sorted(set(authors))
    missing = set(wanted) - set(_states(conn, wanted))
    if missing:
        _recount(conn, missing)


def refresh(conn: Connection, item_ids: Sequence[int]) -> None:
    """Bring the tallies of these items' authors, present and former, up to date."""
    rows: list[Any] = []
    counted: dict[int, tuple[str, datetime]] = {}
    for part in chunks(sorted(set(item_ids))):
        rows += conn.execute(
            select(item.c.id, item.c.author_key, item.c.last_changed_at).where(
                item.c.id.in_(part)
            )
        ).all()
        counted.update(
            (r.item_id, (r.author_key, r.counted_change))
            for r in conn.execute(select(tally_item).where(tally_item.c.item_id.in_(part)))
        )
    states = _states(conn, {r.author_key for r in rows if r.author_key})
    stale: set[str] = set()
    grow: set[str] = set()
    for row in rows:
        before = counted.get(row.id)
        if before == (row.author_key, row.last_changed_at):
            continue  # counted as it is now
        if before is not None:
            stale.add(before[0])
        if not row.author_key:
            continue
        state = states.get(row.author_key)
        if state is None or row.id <= state.last_id:
            stale.add(row.author_key)
        elif state.items < ROWS:
            grow.add(row.author_key)
    _recount(conn, stale)
    for author in sorted(grow - stale):
        _append(conn, author, states[author])


def reset(conn: Connection) -> None:
    conn.execute(delete(tally_item))
    conn.execute(delete(identity_tally))
    conn.execute(delete(identity_tally_state))


def _states(conn: Connection, authors: Iterable[str]) -> dict[str, TallyState]:
    found: dict[str, TallyState] = {}
    s = identity_tally_state.c
    for part in chunks(sorted(authors)):
        for row in conn.execute(select(s.author_key, s.counted, s.last_id).where(
            s.author_key.in_(part)
        )):
            found[row.author_key] = TallyState(int(row.counted), int(row.last_id))
    return found


def _first_items(conn: Connection, author: str, after: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(item.c.id, item.c.recipients, item.c.last_changed_at)
            .where(item.c.author_key == author, item.c.id > after, item.c.deleted.is_(False))
            .order_by(item.c.id)
            .limit(limit)
        )
    )


def _named(author: str, rows: Sequence[Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update(
            {k for k in row.recipients or [] if isinstance(k, str) and k != author}
        )
    return counts


def _recount(conn: Connection, authors: set[str]) -> None:
    for part in chunks(sorted(authors)):
        conn.execute(delete(identity_tally).where(identity_tally.c.author_key.in_(part)))
        conn.execute(delete(tally_item).where(tally_item.c.author_key.in_(part)))
    for author in sorted(authors):
        rows = _first_items(conn, author, 0, ROWS)
        _write(conn, author, rows, _named(author, rows), TallyState(0, 0))


def _append(conn: Connection, author: str, state: TallyState) -> None:
    rows = _first_items(conn, author, state.last_id, ROWS - state.items)
    if not rows:
        return
    counts = _named(author, rows)
    t = identity_tally.c
    for part in chunks(sorted(counts)):
        counts.update(
            {
                r.other_key: int(r.together)
                for r in conn.execute(
                    select(t.other_key, t.together).where(
                        t.author_key == author, t.other_key.in_(part)
                    )
                )
            }
        )
    _write(conn, author, rows, counts, state)


def _write(
    conn: Connection, author: str, rows: Sequence[Any], counts: Counter[str], state: TallyState
) -> None:
    """Write ``counts`` (the whole tally of every identity they name) and mark ``rows``
    counted."""
    tallies = [
        {"author_key": author, "other_key": other, "together": n}
        for other, n in sorted(counts.items())
    ]
    for part in chunks(tallies):
        insert_or_update(conn, identity_tally, part, ["author_key", "other_key"], ["together"])
    # An item may still be counted under a former author whose own recount comes with the
    # item's chunk: it moves here now, and that recount no longer finds it.
    counted: list[dict[str, Any]] = [
        {"item_id": r.id, "author_key": author, "counted_change": r.last_changed_at}
        for r in rows
    ]
    for part in chunks(counted):
        insert_or_update(conn, tally_item, part, ["item_id"], ["author_key", "counted_change"])
    last = max((int(r.id) for r in rows), default=state.last_id)
    insert_or_update(
        conn,
        identity_tally_state,
        [{"author_key": author, "counted": state.items + len(rows), "last_id": last}],
        ["author_key"],
        ["counted", "last_id"],
    )
