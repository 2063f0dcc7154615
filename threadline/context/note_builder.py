"""One client's note for one ISO week, read from the context tables.

Every query starts from the client's items of that week (``item_client`` by client, then
``item.occurred_at``) or an indexed range (``fact.valid_from``, ``item_date.resolved``), so
building a note costs what that client-week holds, never the store.

An item counts for a client only on a placement that says it is the client's conversation:
a mere name-mention (an internal #ops line about the client's invoice, a wiki page listing
every client) is left out, unless it is a Notion row whose own property names the client.

With ``as_of``, only what Threadline had recorded by then counts: items first seen, facts
recorded and not yet expired, storyline memberships added, by that moment.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, true

from threadline.context.as_of import FactView, show_time, summarize
from threadline.context.note_model import SECTION_ORDER, SECTION_TITLES, Entry, NoteBody, Section
from threadline.context.note_model import Source as SourceModel
from threadline.context.temporal_facts import load_histories
from threadline.context.weeks import Week
from threadline.store.context_schema import (
    client,
    fact,
    item_client,
    item_date,
    storyline,
    storyline_item,
)
from threadline.store.schema import item

UPCOMING = timedelta(days=14)
DUE_AFTER = timedelta(days=7)
WEAK_RULE = "name-mention"
CHANGE_KINDS = ("event", "message", "notion")
RISK_CUE = re.compile(
    r"\b(?:blocked|blocker|blocking|risks?|at\s+risk|delay(?:s|ed)?|slip(?:s|ping|ped)?"
    r"|overdue)\b",
    re.IGNORECASE,
)
DONE = frozenset({"done", "complete", "completed", "shipped", "closed", "resolved"})
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CHUNK = 500
_COLUMNS = (
    item.c.id, item.c.canonical_id, item.c.platform, item.c.kind, item.c.container_id,
    item.c.container_name, item.c.thread_id, item.c.author_key, item.c.recipients,
    item.c.occurred_at, item.c.title, item.c.text, item.c.permalink, item.c.deleted,
)


@dataclass(frozen=True)
class Row:
    id: int
    canonical_id: str
    platform: str
    kind: str
    container: str
    thread_id: str | None
    author_key: str | None
    recipients: tuple[str, ...]
    occurred_at: datetime | None
    title: str | None
    text: str
    permalink: str | None
    deleted: bool

    @classmethod
    def of(cls, r: Any) -> Row:
        return cls(
            r.id, r.canonical_id, r.platform, r.kind, r.container_name or r.container_id,
            r.thread_id, r.author_key, tuple(r.recipients or ()), r.occurred_at, r.title,
            r.text or "", r.permalink, bool(r.deleted),
        )

    def snippet(self, width: int = 140) -> str:
        body = " ".join(self.text.split()) or " ".join((self.title or "").split())
        return textwrap.shorten(body, width=width, placeholder="…") if body else "(no text)"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class NoteBuilder:
    def __init__(
        self, conn: Connection, client_id: int, week: Week, as_of: datetime | None = None
    ) -> None:
        self.conn, self.client_id, self.week, self.as_of = conn, client_id, week, as_of
        found = conn.execute(
            select(client.c.name, client.c.rules).where(client.c.id == client_id)
        ).one()
        self.client_name: str = found.name
        config = (found.rules or {}).get("config") or {}
        self.names = {self.client_name.lower(), *(a.lower() for a in config.get("aliases", []))}
        self.rows: dict[str, Row] = {}

    # -- what the client-week holds ---------------------------------------------------

    def _known(self, query: Any) -> Any:
        return query if self.as_of is None else query.where(item.c.first_seen_at <= self.as_of)

    def _placed(self, start: datetime, end: datetime, *extra: Any) -> list[Row]:
        query = (
            select(*_COLUMNS, item_client.c.rule, item.c.raw)
            .join(item_client, item_client.c.item_id == item.c.id)
            .where(
                item_client.c.client_id == self.client_id,
                item.c.occurred_at >= start,
                item.c.occurred_at < end,
                item.c.deleted.is_(False),
                *extra,
            )
            .order_by(item.c.occurred_at, item.c.canonical_id)
        )
        rows = [Row.of(r) for r in self.conn.execute(self._known(query)) if self._strong(r)]
        self.rows.update((r.canonical_id, r) for r in rows)
        return rows

    def _strong(self, r: Any) -> bool:
        if r.rule != WEAK_RULE:
            return True
        raw = r.raw if isinstance(r.raw, dict) else {}
        props = raw.get("properties") if r.platform == "notion" else None
        if not isinstance(props, dict):
            return False
        return any(str(v).strip().lower() in self.names for v in props.values())

    def strong_ids(self, ids: Iterable[int]) -> set[int]:
        wanted = sorted(set(ids))
        found: set[int] = set()
        for n in range(0, len(wanted), _CHUNK):
            query = (
                select(item.c.id, item.c.platform, item.c.raw, item_client.c.rule)
                .join(item_client, item_client.c.item_id == item.c.id)
                .where(
                    item_client.c.client_id == self.client_id,
                    item.c.id.in_(wanted[n : n + _CHUNK]),
                )
            )
            found |= {r.id for r in self.conn.execute(query) if self._strong(r)}
        return found

    def _orphans(self) -> list[Row]:
        """Deleted items of the week (a cancelled meeting) lose their placement; they
        belong to the client whose items share their thread."""
        query = self._known(
            select(*_COLUMNS).where(
                # "= true", as the partial index on tombstones is written.
                item.c.deleted == true(),
                item.c.occurred_at >= self.week.start,
                item.c.occurred_at < self.week.end,
                item.c.thread_id.is_not(None),
                item.c.platform != "notion",
            )
        )
        rows = [Row.of(r) for r in self.conn.execute(query)]
        threads = sorted({r.thread_id for r in rows if r.thread_id})
        if not threads:
            return []
        owned = set(
            self.conn.execute(
                select(item.c.thread_id)
                .join(item_client, item_client.c.item_id == item.c.id)
                .where(item_client.c.client_id == self.client_id, item.c.thread_id.in_(threads))
                .distinct()
            ).scalars()
        )
        chosen = [r for r in rows if r.thread_id in owned]
        self.rows.update((r.canonical_id, r) for r in chosen)
        return chosen

    def _fact_views(self, *conditions: Any) -> list[FactView]:
        where = list(conditions)
        if self.as_of is not None:
            where.append(fact.c.recorded_at <= self.as_of)
        query = (
            select(fact, item.c.canonical_id)
            .join(item, item.c.id == fact.c.item_id)
            .where(*where)
            .order_by(fact.c.valid_from, fact.c.recorded_at, fact.c.id)
        )
        return [
            FactView(
                id=r.id, subject=r.subject, kind=r.kind, attribute=r.attribute, value=r.value,
                previous=r.previous, valid_from=r.valid_from, valid_to=r.valid_to,
                recorded_at=r.recorded_at, expired_at=r.expired_at, item=r.canonical_id,
                supersedes_id=r.supersedes_id, detail=dict(r.detail or {}),
            )
            for r in self.conn.execute(query)
        ]

    def _live(self, view: FactView) -> bool:
        moment = self.as_of
        return view.expired_at is None or (moment is not None and view.expired_at > moment)

    # -- the note -----------------------------------------------------------------------

    def build(self) -> NoteBody:
        week = self.week
        items = self._placed(week.start, week.end)
        ids = [r.id for r in items]
        stories = self._storylines(ids)
        story_of = {i: s for s in stories for i in s["ids"]}
        sections = {
            "storylines": [self._story_entry(s) for s in stories],
            "decisions": self._decisions(ids),
            "changes": self._changes(items),
            "risks": self._risks(items, stories, story_of),
            "upcoming": self._upcoming(items),
            "people": self._people(items),
        }
        body = NoteBody(
            client=self.client_name, week=week.label, start=week.start.isoformat(),
            end=week.end.isoformat(),
            sections=[Section(key=k, title=SECTION_TITLES[k], entries=sections[k])
                      for k in SECTION_ORDER],
        )
        body.sources = self._sources(body)
        return body

    def _storylines(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        members: dict[int, list[int]] = defaultdict(list)
        for n in range(0, len(ids), _CHUNK):
            query = select(storyline_item.c.storyline_id, storyline_item.c.item_id).where(
                storyline_item.c.item_id.in_(list(ids[n : n + _CHUNK]))
            )
            if self.as_of is not None:
                query = query.where(storyline_item.c.added_at <= self.as_of)
            for sid, iid in self.conn.execute(query):
                members[sid].append(iid)
        if not members:
            return []
        by_id = {r.id: r for r in self.items_by_id()}
        found = []
        for r in self.conn.execute(select(storyline).where(storyline.c.id.in_(list(members)))):
            rows = sorted((by_id[i] for i in members[r.id]), key=_when)
            found.append({"row": r, "ids": [x.id for x in rows], "rows": rows,
                          **self._at_week_end(r)})
        # The widest first: what crossed platforms and drew most messages this week.
        return sorted(found, key=lambda s: (
            -len({x.platform for x in s["rows"]}), -len(s["rows"]), _when(s["rows"][0]),
            s["row"].key,
        ))

    def _at_week_end(self, r: Any) -> dict[str, Any]:
        """The storyline's status, why, and platforms as they stood at the week's end."""
        said = (r.weekly or {}).get(self.week.label)
        if said is not None:
            status, detail, platforms = said
            return {"status": status, "status_detail": detail, "platforms": platforms}
        # Stored before statuses were kept by week: the storyline as it stands now, and
        # still open this week if anything came after it.
        status = r.status
        if status == "resolved" and r.last_at is not None and r.last_at >= self.week.end:
            status = "open"
        platforms = sorted(set(self.conn.execute(
            select(item.c.platform).join(storyline_item, storyline_item.c.item_id == item.c.id)
            .where(storyline_item.c.storyline_id == r.id).distinct()
        ).scalars()))
        return {"status": status, "status_detail": r.status_detail, "platforms": platforms}

    def items_by_id(self) -> list[Row]:
        return list(self.rows.values())

    def _story_entry(self, story: dict[str, Any]) -> Entry:
        r, rows, status = story["row"], story["rows"], story["status"]
        salient = next((x for x in rows if RISK_CUE.search(x.text)), rows[-1])
        counts: dict[str, int] = defaultdict(int)
        for x in rows:
            counts[x.platform] += 1
        tally = ", ".join(f"{n} {p}" for p, n in sorted(counts.items()))
        return Entry(
            text=f"{r.title} ({status}): {tally} this week; {salient.snippet(120)}",
            citations=[x.canonical_id for x in rows],
            at=iso(rows[0].occurred_at),
            detail={
                "storyline": r.key, "title": r.title, "status": status,
                "status_detail": story["status_detail"], "first_at": iso(r.first_at),
                "platforms": story["platforms"],
            },
        )

    def _decisions(self, ids: Sequence[int]) -> list[Entry]:
        views: list[FactView] = []
        for n in range(0, len(ids), _CHUNK):
            views += self._fact_views(
                fact.c.item_id.in_(list(ids[n : n + _CHUNK])), fact.c.kind == "decision"
            )
        older = self._superseded([v for v in views if v.supersedes_id])
        entries = []
        for view in sorted(views, key=lambda v: (v.valid_from or v.recorded_at, v.item or "")):
            cites = [view.item] if view.item else []
            if view.id in older and older[view.id] not in cites:
                cites.append(older[view.id])
            entries.append(Entry(text=summarize([view]), citations=cites, at=iso(view.valid_from)))
        return entries

    def _superseded(self, views: list[FactView]) -> dict[int, str]:
        """The client's own item that said what a decision replaces."""
        if not views:
            return {}
        wanted = {v.supersedes_id: v.id for v in views if v.supersedes_id}
        rows = self.conn.execute(
            select(fact.c.id, item.c.id.label("iid"), item.c.canonical_id)
            .join(item, item.c.id == fact.c.item_id)
            .where(fact.c.id.in_(list(wanted)))
        ).all()
        strong = self.strong_ids(r.iid for r in rows)
        return {wanted[r.id]: r.canonical_id for r in rows if r.iid in strong}

    def _changes(self, items: list[Row]) -> list[Entry]:
        week = self.week
        own = [r.id for r in items] + [r.id for r in self._orphans()]
        in_week = or_(
            and_(fact.c.valid_from >= week.start, fact.c.valid_from < week.end),
            and_(fact.c.valid_from.is_(None), fact.c.recorded_at >= week.start,
                 fact.c.recorded_at < week.end),
        )
        views: list[FactView] = []
        for n in range(0, len(own), _CHUNK):
            views += self._fact_views(
                fact.c.item_id.in_(own[n : n + _CHUNK]), fact.c.kind.in_(CHANGE_KINDS),
                or_(in_week, fact.c.kind == "event"),
            )
        # Changes this week to the client's items of other weeks (a page edited, a meeting
        # further out moved): the valid_from range, then the client's strong placements.
        elsewhere = self._fact_views(
            fact.c.valid_from >= week.start, fact.c.valid_from < week.end,
            fact.c.kind.in_(CHANGE_KINDS),
            fact.c.item_id.in_(
                select(item_client.c.item_id).where(item_client.c.client_id == self.client_id)
            ),
        )
        seen = {v.id for v in views}
        extra = [v for v in elsewhere if v.id not in seen]
        by_canonical = self._ids_of({v.item for v in extra if v.item})
        strong = self.strong_ids(by_canonical.values())
        views += [v for v in extra if v.item and by_canonical.get(v.item) in strong]
        groups: dict[tuple[Any, ...], list[FactView]] = {}
        for view in views:
            groups.setdefault((view.item, view.valid_from, view.recorded_at), []).append(view)
        entries = [
            Entry(text=summarize(g), citations=[g[0].item or ""],
                  at=iso(g[0].valid_from or g[0].recorded_at))
            for g in groups.values()
        ]
        changed = {e.citations[0] for e in entries}
        for row in items:
            status = self._done_status(row)
            if status and row.canonical_id not in changed:
                entries.append(Entry(
                    text=f"Completed: {row.title or row.snippet(80)} (Status: {status})",
                    citations=[row.canonical_id], at=iso(row.occurred_at),
                ))
        return sorted(entries, key=lambda e: (e.at or "", e.citations, e.text))

    def _done_status(self, row: Row) -> str | None:
        if row.platform != "notion" or row.kind != "row":
            return None
        match = re.search(r"^Status:\s*(.+)$", row.text, re.MULTILINE)
        value = match.group(1).strip() if match else ""
        return value if value.lower() in DONE else None

    def _ids_of(self, canonical: set[str]) -> dict[str, int]:
        if not canonical:
            return {}
        rows = self.conn.execute(
            select(item.c.canonical_id, item.c.id).where(item.c.canonical_id.in_(sorted(canonical)))
        )
        return {r.canonical_id: r.id for r in rows}

    def _risks(
        self, items: list[Row], stories: list[dict[str, Any]], story_of: dict[int, Any]
    ) -> list[Entry]:
        entries: list[Entry] = []

        def settled(item_id: int) -> bool:
            story = story_of.get(item_id)
            return story is not None and story["status"] == "resolved"

        for story in stories:
            r, status = story["row"], story["status"]
            if status == "resolved":
                continue
            # An open thread of small talk is no risk: open ones count when they are waiting
            # on someone or reach across platforms.
            crossing = len({x.platform for x in story["rows"]}) > 1
            if status != "waiting" and not crossing:
                continue
            text = f"{r.title}: still {status} at week end"
            if story["status_detail"]:
                text += f" ({story['status_detail']})"
            entries.append(Entry(
                text=text, citations=[x.canonical_id for x in story["rows"]][-3:],
                at=iso(story["rows"][-1].occurred_at), detail={"storyline": r.key},
            ))
        for row in items:
            if row.platform == "calendar" or settled(row.id):
                continue
            cue = _cue_sentence(row.text)
            if cue:
                entries.append(Entry(
                    text=f"Risk: {cue}", citations=[row.canonical_id], at=iso(row.occurred_at)
                ))
        entries += self._due(story_of, settled)
        return sorted(entries, key=lambda e: (e.at or "", e.citations, e.text))

    def _due(self, story_of: dict[int, Any], settled: Any) -> list[Entry]:
        week = self.week
        # Driven from the client's items: every client's dates of the week are many more.
        # Tied to item_client, not item, so the test runs before the (wide) item row is read.
        stated = (
            select(item_date.c.id)
            .where(
                item_date.c.item_id == item_client.c.item_id,
                item_date.c.resolved >= week.start,
                item_date.c.resolved < week.end + DUE_AFTER,
            )
            .exists()
        )
        query = self._known(
            select(*_COLUMNS, item_client.c.rule, item.c.raw)
            .join(item_client, item_client.c.item_id == item.c.id)
            .where(
                item_client.c.client_id == self.client_id,
                stated,
                item.c.occurred_at < week.end,
                item.c.deleted.is_(False),
            )
        )
        rows = {r.id: Row.of(r) for r in self.conn.execute(query) if self._strong(r)}
        if not rows:
            return []
        lo, hi = week.start.isoformat()[:10], (week.end + DUE_AFTER).isoformat()[:10]
        entries = []
        for view in self._fact_views(fact.c.item_id.in_(list(rows)), fact.c.kind == "due"):
            row = next(r for r in rows.values() if r.canonical_id == view.item)
            if not self._live(view) or settled(row.id) or self._done_status(row):
                continue
            if not view.value:
                continue
            if not lo <= view.value[:10] < hi:
                continue
            self.rows[row.canonical_id] = row
            entries.append(Entry(
                text=f"Due {show_time(view.value)} (\"{view.detail.get('phrase', '')}\"): "
                f"{row.snippet(100)}",
                citations=[row.canonical_id], at=view.value,
            ))
        return entries

    def _upcoming(self, items: list[Row]) -> list[Entry]:
        week = self.week
        events = self._placed(week.end, week.end + UPCOMING, item.c.platform == "calendar")
        histories = load_histories(self.conn, [e.id for e in events])
        entries = []
        for event in events:
            # The meeting as the calendar stood at the week's end.
            history = histories[event.id]
            state = history.states[0]
            for candidate in history.states:
                if candidate.valid_from is None or candidate.valid_from <= week.end:
                    state = candidate
            start = state.occurred_at
            if state.deleted or start is None or not week.end <= start < week.end + UPCOMING:
                continue
            title = state.title or event.title or "(untitled)"
            related = [
                r.canonical_id for r in items
                if len(title) >= 6 and title.lower() in f"{r.title or ''}\n{r.text}".lower()
            ]
            attendees = sorted({*event.recipients, *([event.author_key] if event.author_key
                                                     else [])})
            entries.append(Entry(
                text=f"{title}: {start:%a %d %b %H:%M} UTC",
                citations=[event.canonical_id, *related], at=iso(start),
                detail={"attendees": attendees},
            ))
        return sorted(entries, key=lambda e: (e.at or "", e.citations))

    def _people(self, items: list[Row]) -> list[Entry]:
        authored: dict[str, list[str]] = defaultdict(list)
        attended: dict[str, list[str]] = defaultdict(list)
        for row in items:
            if row.author_key:
                authored[row.author_key].append(row.canonical_id)
            if row.platform == "calendar":
                for key in row.recipients:
                    if key != row.author_key:
                        attended[key].append(row.canonical_id)
        keys = set(authored) | set(attended)
        entries = [
            Entry(
                text=key, citations=sorted(set(authored[key]) | set(attended[key])),
                detail={"keys": [key], "authored": len(authored[key]),
                        "attended": len(attended[key])},
            )
            for key in keys
        ]
        return sorted(entries, key=lambda e: (-len(e.citations), e.text))

    def _sources(self, body: NoteBody) -> list[SourceModel]:
        order: list[str] = []
        for section in body.sections:
            for entry in section.entries:
                order += [c for c in entry.citations if c and c not in order]
        missing = [c for c in order if c not in self.rows]
        for n in range(0, len(missing), _CHUNK):
            query = select(*_COLUMNS).where(item.c.canonical_id.in_(missing[n : n + _CHUNK]))
            self.rows.update((r.canonical_id, Row.of(r)) for r in self.conn.execute(query))
        return [
            SourceModel(
                id=c, platform=row.platform, container=row.container, author=row.author_key,
                occurred_at=iso(row.occurred_at), title=row.title, permalink=row.permalink,
            )
            for c in order
            if (row := self.rows.get(c)) is not None
        ]


def _when(row: Row) -> tuple[datetime, str]:
    return (row.occurred_at or datetime.min.replace(tzinfo=UTC), row.canonical_id)


def _cue_sentence(text: str) -> str | None:
    for sentence in _SENTENCE.split(text):
        clean = " ".join(sentence.split())
        if RISK_CUE.search(clean):
            return textwrap.shorten(clean, width=160, placeholder="…")
    return None


def build_note(
    conn: Connection, client_id: int, week: Week, *, as_of: datetime | None = None
) -> NoteBody:
    return NoteBuilder(conn, client_id, week, as_of).build()
