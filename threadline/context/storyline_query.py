"""Questions about storylines: which ones (by client, span, status), one in full, and the
storylines a set of items belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, select

from threadline.errors import ThreadlineError
from threadline.store.context_schema import client, item_client, storyline, storyline_item
from threadline.store.schema import item

STATUSES = ("open", "resolved", "waiting")
_CHUNK = 500


class StorylineError(ThreadlineError):
    pass


class StorylineItemView(BaseModel):
    item: str
    platform: str
    kind: str
    occurred_at: datetime | None
    title: str | None
    excerpt: str
    reason: str
    permalink: str | None


class StorylineSummary(BaseModel):
    id: int
    key: str
    title: str
    status: str
    status_detail: str | None
    first_at: datetime | None
    last_at: datetime | None
    clients: list[str]
    participants: list[dict[str, Any]]
    items: int
    platforms: dict[str, int]


class StorylineDetail(StorylineSummary):
    terms: list[str]
    timeline: list[StorylineItemView]


def _counts(conn: Connection, ids: list[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    for n in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(storyline_item.c.storyline_id, item.c.platform, func.count())
            .join(item, item.c.id == storyline_item.c.item_id)
            .where(storyline_item.c.storyline_id.in_(ids[n : n + _CHUNK]))
            .group_by(storyline_item.c.storyline_id, item.c.platform)
        )
        for sid, platform, count in rows:
            found.setdefault(sid, {})[platform] = count
    return found


def _summary(row: Any, platforms: dict[str, int]) -> dict[str, Any]:
    return {
        "id": row.id, "key": row.key, "title": row.title, "status": row.status,
        "status_detail": row.status_detail, "first_at": row.first_at, "last_at": row.last_at,
        "clients": list(row.clients or []), "participants": list(row.participants or []),
        "items": sum(platforms.values()), "platforms": dict(sorted(platforms.items())),
    }


def list_storylines(
    conn: Connection,
    client: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
) -> list[StorylineSummary]:
    """Storylines active in [start, end) (any overlap), newest activity first."""
    if status is not None and status not in STATUSES:
        raise StorylineError(
            f"unknown status {status!r}: use one of {', '.join(STATUSES)}"
        )
    query = select(storyline)
    if start is not None:
        query = query.where(storyline.c.last_at >= start)
    if end is not None:
        query = query.where(storyline.c.first_at < end)
    if status is not None:
        query = query.where(storyline.c.status == status)
    if client is not None:
        query = query.where(storyline.c.id.in_(_of_client(conn, client)))
    rows = conn.execute(query.order_by(storyline.c.last_at.desc(), storyline.c.id)).all()
    counts = _counts(conn, [r.id for r in rows])
    return [StorylineSummary(**_summary(r, counts.get(r.id, {}))) for r in rows]


def _of_client(conn: Connection, name: str) -> Any:
    found = conn.execute(
        select(client.c.id).where(func.lower(client.c.name) == name.strip().lower())
    ).scalar()
    if found is None:
        raise StorylineError(
            f"no client named {name!r}: see `threadline clients` for the names Threadline knows"
        )
    return (
        select(storyline_item.c.storyline_id)
        .join(item_client, item_client.c.item_id == storyline_item.c.item_id)
        .where(item_client.c.client_id == found)
    )


def show_storyline(conn: Connection, id_or_key: str | int) -> StorylineDetail:
    """One storyline with its items in time order; by id, or by key (a canonical id)."""
    ref = str(id_or_key).strip()
    query = select(storyline)
    query = query.where(storyline.c.id == int(ref)) if ref.isdigit() else query.where(
        storyline.c.key == ref
    )
    row = conn.execute(query).first()
    if row is None and not ref.isdigit():
        # Any member's canonical id finds its storyline too.
        member = select(storyline_item.c.storyline_id).join(
            item, item.c.id == storyline_item.c.item_id
        ).where(item.c.canonical_id == ref)
        row = conn.execute(select(storyline).where(storyline.c.id.in_(member))).first()
    if row is None:
        raise StorylineError(
            f"no storyline {ref!r}: give an id or key from `threadline storylines`"
        )
    members = list(conn.execute(
        select(item, storyline_item.c.reason)
        .join(storyline_item, storyline_item.c.item_id == item.c.id)
        .where(storyline_item.c.storyline_id == row.id)
    ))
    members.sort(key=lambda m: (m.occurred_at is None, m.occurred_at, m.canonical_id))
    platforms: dict[str, int] = {}
    for m in members:
        platforms[m.platform] = platforms.get(m.platform, 0) + 1
    timeline = [
        StorylineItemView(
            item=m.canonical_id, platform=m.platform, kind=m.kind, occurred_at=m.occurred_at,
            title=m.title, excerpt=" ".join((m.text or "").split())[:160], reason=m.reason,
            permalink=m.permalink,
        )
        for m in members
    ]
    return StorylineDetail(
        **_summary(row, platforms), terms=list(row.terms or []), timeline=timeline
    )


def storylines_of_items(conn: Connection, item_ids: Sequence[int]) -> dict[int, int]:
    """For each of these items that belongs to a storyline: its storyline id."""
    found: dict[int, int] = {}
    ids = list(item_ids)
    for n in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(storyline_item.c.item_id, storyline_item.c.storyline_id).where(
                storyline_item.c.item_id.in_(ids[n : n + _CHUNK])
            )
        )
        found.update({i: s for i, s in rows})
    return found
