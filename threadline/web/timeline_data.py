"""The week of one client as lanes of marks: one lane per storyline, one for changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from threadline.context.as_of import changes_between
from threadline.context.clients import items_for_client
from threadline.context.storyline_query import list_storylines, show_storyline
from threadline.context.weeks import Week
from threadline.store.schema import item

MAX_LANES = 12


@dataclass
class Mark:
    at: datetime
    item: str
    platform: str
    label: str


@dataclass
class Lane:
    title: str
    marks: list[Mark] = field(default_factory=list)
    link: str | None = None


@dataclass
class ChangeMark:
    at: datetime
    kind: str
    summary: str
    item: str | None


@dataclass
class WeekTimeline:
    client: str
    week: Week
    lanes: list[Lane]
    changes: list[ChangeMark]
    more: int = 0


def _occurred(conn: Connection, ids: list[str]) -> dict[str, datetime]:
    if not ids:
        return {}
    rows = conn.execute(select(item.c.canonical_id, item.c.occurred_at)
                        .where(item.c.canonical_id.in_(ids)))
    return {r.canonical_id: r.occurred_at for r in rows if r.occurred_at is not None}


def _inside(moment: datetime | None, week: Week) -> bool:
    return moment is not None and week.start <= moment < week.end


def week_timeline(conn: Connection, client: str, week: Week) -> WeekTimeline:
    found = list_storylines(conn, client, week.start, week.end)
    found.sort(key=lambda s: (-s.items, s.id))
    lanes: list[Lane] = []
    for summary in found[:MAX_LANES]:
        detail = show_storyline(conn, summary.id)
        marks = [Mark(v.occurred_at, v.item, v.platform, v.title or v.excerpt[:80])
                 for v in detail.timeline if v.occurred_at and _inside(v.occurred_at, week)]
        if marks:
            lanes.append(Lane(summary.title, marks, f"/storylines/{summary.id}"))
    allowed = items_for_client(conn, client)
    changes = changes_between(conn, week.start, week.end, allowed)
    where = _occurred(conn, [c.citations[0] for c in changes if c.citations])
    marks_of_changes = []
    for change in changes:
        cited = change.citations[0] if change.citations else None
        at: datetime | None = change.at
        if not _inside(at, week):
            # A moved event's change is dated when it was recorded; show it where the
            # event now sits in this week, which is where the reader looks for it.
            at = where.get(cited or "")
        if at is None or not _inside(at, week):
            at = week.start
        marks_of_changes.append(ChangeMark(at, change.kind, change.summary, cited))
    return WeekTimeline(client, week, lanes, marks_of_changes, max(0, len(found) - MAX_LANES))


def as_json(timeline: WeekTimeline) -> dict[str, Any]:
    return {
        "client": timeline.client, "week": timeline.week.label,
        "lanes": [{"title": lane.title, "marks": [
            {"at": m.at.isoformat(), "item": m.item, "platform": m.platform, "label": m.label}
            for m in lane.marks]} for lane in timeline.lanes],
        "changes": [{"at": c.at.isoformat(), "kind": c.kind, "summary": c.summary,
                     "item": c.item} for c in timeline.changes],
    }
