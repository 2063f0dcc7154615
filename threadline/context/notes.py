"""Weekly notes: per client and ISO week, an accumulated note kept in ``weekly_note``.

Folding finds which (client, week) notes a batch of items can change and builds exactly
those again (``note_builder``); ``updated_at`` moves only when a body changes. A note
depends on more than the items of its own week, and each dependency is followed through
an index from the items that changed:

- an item's own week; for a calendar event also the two weeks before ("upcoming"), and
  the weeks it was moved from (``item_version``);
- the weeks of its facts (a change happens when it happens), and for a deadline the week
  it falls in and the week before; a decision or deadline re-links the facts of its chain,
  so the other facts of that chain count as touched too;
- the dates written in it (``item_date``): the week they fall in and the week before;
- the weeks whose note shows a storyline otherwise than before, for every client of that
  storyline, as the storylines folder reports them in the same fold (``shown_weeks``): a
  week shows the storyline's status at that week's end, so an item arriving later changes
  only its own week and after, unless the storyline is renamed, merged or split. (Without
  that report, every week the storyline spans);
- a series instance re-derives the series' overrides (the timeline does), and a deleted
  item takes its client from its thread, so those thread neighbours are touched too;
- an item folded before (edited, deleted, re-placed) may have left notes that cite it
  under another client: those notes, found by their sources, are built again.

While later chunks of the same accumulation wait, the notes a chunk touches are only
recorded (``pending`` in this folder's state) and built once by the last chunk: a rebuild
touches nearly every client-week in every chunk. A crash keeps them pending for the next run.

Placement changes the clients folder makes without the items arriving again are mirrored
here from its state: a channel whose client changed, a client shown or hidden, and an
edited ``clients.yaml`` (which, as there, means every note is built again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from threadline.context.accumulate import watermark
from threadline.context.client_inference import STATE_NAME as CLIENTS_STATE
from threadline.context.note_builder import build_note
from threadline.context.note_model import NoteBody, NoteView
from threadline.context.storylines import shown_weeks
from threadline.context.weeks import Week, week_of
from threadline.errors import ThreadlineError
from threadline.store.context_schema import (
    accumulation_state,
    client,
    fact,
    item_client,
    item_date,
    storyline,
    storyline_item,
    weekly_note,
)
from threadline.store.schema import item, item_version
from threadline.store.upsert import insert_or_update

STATE_NAME = "notes"
VISIBLE = ("config", "inferred")
_CHUNKED = ("decision", "due")
_CHUNK = 500

Pair = tuple[int, str]


class NoteError(ThreadlineError):
    """A client or week that has no note, with what to ask for instead."""


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _labels(moment: datetime | date | None, before: int = 0) -> set[str]:
    if moment is None:
        return set()
    week = week_of(moment)
    return {week.shifted(-n).label for n in range(before + 1)}


def _due_weeks(value: str | None) -> set[str]:
    try:
        day = date.fromisoformat((value or "")[:10])
    except ValueError:
        return set()
    return _labels(day, before=1)


class NotesFolder:
    name = "notes"

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(weekly_note))
        conn.execute(delete(accumulation_state).where(accumulation_state.c.name == STATE_NAME))

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        state = _load_state(conn, STATE_NAME)
        placed = _load_state(conn, CLIENTS_STATE)
        visible = {
            int(r.id): str(r.name)
            for r in conn.execute(
                select(client.c.id, client.c.name).where(client.c.origin.in_(VISIBLE))
            )
        }
        before = {int(k): v for k, v in (state.get("visible") or {}).items()}
        pairs: set[Pair] = set()
        if state and placed.get("config") != state.get("config"):
            conn.execute(delete(weekly_note))
            for cid in visible:
                pairs |= client_weeks(conn, cid)
        else:
            hidden = [cid for cid in before if cid not in visible]
            if hidden:
                conn.execute(delete(weekly_note).where(weekly_note.c.client_id.in_(hidden)))
            for cid in visible:
                if cid not in before and state:
                    pairs |= client_weeks(conn, cid)
            pairs |= _moved_channels(conn, state, placed, visible)
            shown = shown_weeks(conn, now)
            pairs |= affected(conn, item_ids, storylines=shown is None)
            if shown:
                names = _client_ids(conn)
                pairs |= {(names[c.lower()], w) for c, w in shown if c.lower() in names}
        pairs |= {(int(cid), str(label)) for cid, label in state.get("pending") or []}
        wanted = {p for p in pairs if p[0] in visible}
        later: list[list[Any]] = []
        if _more_to_come(conn, item_ids):
            # Accumulation goes on with later chunks that may touch the same notes again
            # (a rebuild touches every week in every chunk): build them once, at the end.
            later = [[cid, label] for cid, label in sorted(wanted)]
        else:
            refresh(conn, wanted, now)
        detail = {
            "config": placed.get("config"),
            "channel_map": placed.get("channel_map") or {},
            "visible": {str(k): v for k, v in sorted(visible.items())},
            "pending": later,
        }
        row = {"name": STATE_NAME, "watermark": None, "updated_at": now, "detail": detail}
        insert_or_update(conn, accumulation_state, [row], ["name"], ["updated_at", "detail"])


def _more_to_come(conn: Connection, item_ids: Sequence[int]) -> bool:
    """Whether items changed after this chunk's last one wait for a later chunk."""
    if not item_ids:
        return False
    last = None
    for chunk in _chunks(sorted(set(item_ids))):
        found = conn.execute(
            select(func.max(item.c.last_changed_at)).where(item.c.id.in_(chunk))
        ).scalar()
        if found is not None and (last is None or found > last):
            last = found
    if last is None:
        return False
    after = select(item.c.id).where(item.c.last_changed_at > last).limit(1)
    return conn.execute(after).first() is not None


def _load_state(conn: Connection, name: str) -> dict[str, Any]:
    found = conn.execute(
        select(accumulation_state.c.detail).where(accumulation_state.c.name == name)
    ).scalar()
    return dict(found) if isinstance(found, dict) else {}


def _moved_channels(
    conn: Connection, state: dict[str, Any], placed: dict[str, Any], visible: dict[int, str]
) -> set[Pair]:
    """Channels the clients folder re-placed: their items' weeks, for old and new clients."""
    old, new = state.get("channel_map") or {}, placed.get("channel_map") or {}
    if not state:
        return set()
    changed = sorted(c for c in set(old) | set(new) if old.get(c) != new.get(c))
    if not changed:
        return set()
    names = {
        decided[0] for c in changed for decided in (old.get(c), new.get(c)) if decided
    }
    ids = {cid for cid, name in visible.items() if name in names}
    found: set[Pair] = set()
    for chunk in _chunks(changed):
        rows = conn.execute(
            select(item.c.id).where(item.c.platform == "slack", item.c.container_id.in_(chunk))
        ).scalars()
        touched = list(rows)
        weeks = {label for labels in _item_weeks(conn, touched).values() for label in labels}
        found |= {(cid, label) for cid in ids for label in weeks}
    return found


def client_weeks(conn: Connection, client_id: int) -> set[Pair]:
    """Every week a client's items reach: for a client shown, or all notes rebuilt."""
    ids = list(
        conn.execute(
            select(item_client.c.item_id).where(item_client.c.client_id == client_id)
        ).scalars()
    )
    found: set[Pair] = set()
    for chunk in _chunks(ids):
        found |= {p for p in affected(conn, chunk) if p[0] == client_id}
    return found


def _item_weeks(conn: Connection, ids: Sequence[int]) -> dict[int, set[str]]:
    """The weeks whose notes an item can appear in, from the item and what it states."""
    weeks: dict[int, set[str]] = defaultdict(set)
    calendar: set[int] = set()
    for chunk in _chunks(list(ids)):
        rows = conn.execute(
            select(item.c.id, item.c.platform, item.c.occurred_at, item.c.version).where(
                item.c.id.in_(chunk)
            )
        )
        versioned = []
        for r in rows:
            is_event = r.platform == "calendar"
            if is_event:
                calendar.add(r.id)
                if r.version > 1:
                    versioned.append(r.id)
            weeks[r.id] |= _labels(r.occurred_at, before=2 if is_event else 0)
        if versioned:
            for iid, moment in conn.execute(
                select(item_version.c.item_id, item_version.c.occurred_at).where(
                    item_version.c.item_id.in_(versioned)
                )
            ):
                weeks[iid] |= _labels(moment, before=2)
        for said in conn.execute(
            select(fact.c.item_id, fact.c.kind, fact.c.valid_from, fact.c.recorded_at,
                   fact.c.value).where(fact.c.item_id.in_(chunk))
        ):
            weeks[said.item_id] |= _fact_weeks(said)
        for iid, resolved in conn.execute(
            select(item_date.c.item_id, item_date.c.resolved).where(item_date.c.item_id.in_(chunk))
        ):
            weeks[iid] |= _labels(resolved, before=1)
    return dict(weeks)


def _fact_weeks(r: Any) -> set[str]:
    found = _labels(r.valid_from or r.recorded_at)
    if r.kind == "due":
        found |= _due_weeks(r.value)
    return found


def affected(conn: Connection, item_ids: Sequence[int], storylines: bool = True) -> set[Pair]:
    """The (client id, week) notes these items can change (with ``storylines``, also every
    week of the storylines they belong to)."""
    ids = sorted(set(item_ids))
    if not ids:
        return set()
    related = _neighbours(conn, ids)
    everything = sorted(set(ids) | related)
    weeks = _item_weeks(conn, everything)
    chain_weeks = _chain_weeks(conn, everything)
    for iid, labels in chain_weeks.items():
        weeks.setdefault(iid, set()).update(labels)
    clients = _clients_of(conn, sorted(weeks))
    pairs = {(cid, label) for iid, labels in weeks.items() for cid in clients.get(iid, ())
             for label in labels}
    if storylines:
        pairs |= _storyline_pairs(conn, ids, clients)
    pairs |= _citing_notes(conn, ids, weeks)
    return pairs


def _neighbours(conn: Connection, ids: list[int]) -> set[int]:
    """Series overrides (re-derived when any instance arrives) and deleted thread mates."""
    threads: set[str] = set()
    for chunk in _chunks(ids):
        threads |= set(
            conn.execute(
                select(item.c.thread_id).where(
                    item.c.id.in_(chunk), item.c.thread_id.is_not(None),
                    item.c.platform != "notion",
                ).distinct()
            ).scalars()
        )
    found: set[int] = set()
    for chunk in _chunks(sorted(threads)):
        rows = conn.execute(
            select(item.c.id, item.c.platform, item.c.native, item.c.deleted).where(
                item.c.thread_id.in_(chunk),
                or_(item.c.deleted.is_(True), item.c.platform == "calendar"),
            )
        )
        found |= {
            r.id for r in rows if r.deleted or "recurrence_id" in (r.native or {})
        }
    return found


def _chain_weeks(conn: Connection, ids: list[int]) -> dict[int, set[str]]:
    """Decisions and deadlines re-link their chain: every fact of it may read differently."""
    keys: set[tuple[str, str]] = set()
    for chunk in _chunks(ids):
        keys |= {
            (r.subject, r.attribute)
            for r in conn.execute(
                select(fact.c.subject, fact.c.attribute).where(
                    fact.c.item_id.in_(chunk), fact.c.kind.in_(_CHUNKED)
                )
            )
        }
    found: dict[int, set[str]] = defaultdict(set)
    subjects = sorted({s for s, _a in keys})
    for chunk in _chunks(subjects):
        rows = conn.execute(
            select(fact.c.subject, fact.c.attribute, fact.c.item_id, fact.c.kind,
                   fact.c.valid_from, fact.c.recorded_at, fact.c.value).where(
                fact.c.subject.in_(chunk), fact.c.item_id.is_not(None)
            )
        )
        for r in rows:
            if (r.subject, r.attribute) in keys:
                found[r.item_id] |= _fact_weeks(r)
    return dict(found)


def _clients_of(conn: Connection, ids: list[int]) -> dict[int, set[int]]:
    """Each item's clients; a deleted item (unplaced) takes those of its thread."""
    found: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(ids):
        for iid, cid in conn.execute(
            select(item_client.c.item_id, item_client.c.client_id).where(
                item_client.c.item_id.in_(chunk)
            )
        ):
            found[iid].add(cid)
    orphans = [i for i in ids if i not in found]
    for chunk in _chunks(orphans):
        rows = conn.execute(
            select(item.c.id, item.c.thread_id).where(
                item.c.id.in_(chunk), item.c.deleted.is_(True), item.c.thread_id.is_not(None),
                item.c.platform != "notion",
            )
        ).all()
        threads = sorted({r.thread_id for r in rows})
        owners: dict[str, set[int]] = defaultdict(set)
        if threads:
            for thread, cid in conn.execute(
                select(item.c.thread_id, item_client.c.client_id)
                .join(item_client, item_client.c.item_id == item.c.id)
                .where(item.c.thread_id.in_(threads))
                .distinct()
            ):
                owners[thread].add(cid)
        for r in rows:
            found[r.id] |= owners.get(r.thread_id, set())
    return dict(found)


def _storyline_pairs(
    conn: Connection, ids: list[int], clients: dict[int, set[int]]
) -> set[Pair]:
    """An item joining a storyline changes it in every week it is active, for its clients."""
    members: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(ids):
        for sid, iid in conn.execute(
            select(storyline_item.c.storyline_id, storyline_item.c.item_id).where(
                storyline_item.c.item_id.in_(chunk)
            )
        ):
            members[sid].add(iid)
    if not members:
        return set()
    names = _client_ids(conn)
    pairs: set[Pair] = set()
    for r in conn.execute(select(storyline).where(storyline.c.id.in_(sorted(members)))):
        owners = {cid for iid in members[r.id] for cid in clients.get(iid, ())}
        for each in r.clients or []:
            if isinstance(each, int):
                owners.add(each)
            elif isinstance(each, str) and each.lower() in names:
                owners.add(names[each.lower()])
        pairs |= {(cid, label) for cid in owners for label in _span(r.first_at, r.last_at)}
    return pairs


def _client_ids(conn: Connection) -> dict[str, int]:
    return {
        str(name).lower(): int(cid)
        for cid, name in conn.execute(select(client.c.id, client.c.name))
    }


def _span(first: datetime | None, last: datetime | None) -> set[str]:
    if first is None or last is None:
        return _labels(first or last)
    week, final = week_of(first), week_of(last)
    labels: set[str] = set()
    while week.start <= final.start:
        labels.add(week.label)
        week = week.shifted(1)
    return labels


def _citing_notes(conn: Connection, ids: list[int], weeks: dict[int, set[str]]) -> set[Pair]:
    """Notes that cite an item folded before, whatever client it belongs to now."""
    mark = watermark(conn)
    if mark is None:
        return set()
    seen: dict[str, set[str]] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(
            select(item.c.id, item.c.canonical_id).where(
                item.c.id.in_(chunk), item.c.first_seen_at <= mark
            )
        ):
            seen[r.canonical_id] = weeks.get(r.id, set())
    labels = sorted({label for found in seen.values() for label in found})
    pairs: set[Pair] = set()
    for chunk in _chunks(labels):
        for cid, week, body in conn.execute(
            select(weekly_note.c.client_id, weekly_note.c.week, weekly_note.c.body).where(
                weekly_note.c.week.in_(chunk)
            )
        ):
            cited = {s.get("id") for s in (body or {}).get("sources", [])}
            if any(c in cited and week in found for c, found in seen.items()):
                pairs.add((cid, week))
    return pairs


def _week(label: str) -> Week:
    year, number = label.split("-W")
    return Week(int(year), int(number))


def is_empty(body: NoteBody) -> bool:
    return not any(section.entries for section in body.sections)


def refresh(conn: Connection, pairs: set[Pair], now: datetime) -> None:
    """Build these notes again; write only those whose body changed."""
    for client_id, label in sorted(pairs):
        body = build_note(conn, client_id, _week(label)).model_dump(mode="json")
        where = (weekly_note.c.client_id == client_id, weekly_note.c.week == label)
        stored = conn.execute(select(weekly_note.c.id, weekly_note.c.body).where(*where)).first()
        empty = is_empty(NoteBody.model_validate(body))
        if stored is None:
            if not empty:
                conn.execute(
                    weekly_note.insert().values(
                        client_id=client_id, week=label, body=body, updated_at=now
                    )
                )
        elif empty:
            conn.execute(delete(weekly_note).where(weekly_note.c.id == stored.id))
        elif stored.body != body:
            conn.execute(
                update(weekly_note)
                .where(weekly_note.c.id == stored.id)
                .values(body=body, updated_at=now)
            )


def find_client(conn: Connection, name: str) -> tuple[int, str]:
    """A visible client by name (any case); the error lists the known ones."""
    found = conn.execute(
        select(client.c.id, client.c.name).where(
            func.lower(client.c.name) == name.strip().lower(), client.c.origin.in_(VISIBLE)
        )
    ).first()
    if found is not None:
        return int(found.id), str(found.name)
    known = list(
        conn.execute(
            select(client.c.name).where(client.c.origin.in_(VISIBLE)).order_by(client.c.name)
        ).scalars()
    )
    hint = f"known clients: {', '.join(known)}" if known else (
        "no clients yet: import some data and run `threadline accumulate`"
    )
    raise NoteError(f"no client named {name!r} ({hint})")


def load_note(conn: Connection, client_id: int, week: Week) -> NoteView | None:
    """The stored note: one indexed read."""
    row = conn.execute(
        select(weekly_note.c.body, weekly_note.c.updated_at).where(
            weekly_note.c.client_id == client_id, weekly_note.c.week == week.label
        )
    ).first()
    if row is None:
        return None
    return NoteView(body=NoteBody.model_validate(row.body), updated_at=row.updated_at.isoformat())


def note_as_of(conn: Connection, client_id: int, week: Week, when: datetime) -> NoteView:
    """The note as Threadline would have written it with what it had recorded by ``when``."""
    return NoteView(body=build_note(conn, client_id, week, as_of=when), as_of=when.isoformat())
