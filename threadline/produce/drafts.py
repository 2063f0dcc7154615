"""Draft storage: one live draft per recipe, client and slot; the user's edits to it.

A new draft for the same recipe/client/slot supersedes the unsent one before it (a sent or
approved draft stays what it was: it is the record of what the client got). Edits keep the
Markdown before and after and a unified diff; the preferences learner reads those rows.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Connection, select, update

from threadline.errors import ThreadlineError
from threadline.produce.model import Draft
from threadline.store.produce_schema import draft, draft_edit

Status = Literal["draft", "approved", "sent", "rejected", "superseded"]
UNSENT = ("draft", "rejected")


class DraftError(ThreadlineError):
    """A draft that does not exist, or a change its status does not allow."""


class StoredDraft(BaseModel):
    id: int
    recipe: str
    client: str | None
    slot: str
    status: str
    composer: str
    draft: Draft
    edited_markdown: str | None = None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    reason: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def save(conn: Connection, body: Draft, slot: str, now: datetime | None = None) -> int:
    """Store a composed, verified draft; the unsent one it replaces becomes superseded."""
    now = now or _now()
    scope = body.scope
    supersede(conn, scope.recipe, scope.client, slot, now)
    result = conn.execute(draft.insert().values(
        recipe=scope.recipe, client=scope.client, slot=slot, status="draft",
        composer=body.composer, body=body.model_dump(mode="json"), created_at=now,
        updated_at=now,
    ))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _same(recipe: str, client: str | None, slot: str | None = None) -> list[object]:
    where: list[object] = [draft.c.recipe == recipe]
    where.append(draft.c.client.is_(None) if client is None else draft.c.client == client)
    if slot is not None:
        where.append(draft.c.slot == slot)
    return where


def supersede(conn: Connection, recipe: str, client: str | None, slot: str,
              now: datetime | None = None) -> int:
    result = conn.execute(
        update(draft).where(*_same(recipe, client, slot), draft.c.status.in_(UNSENT))  # type: ignore[arg-type]
        .values(status="superseded", updated_at=now or _now(),
                reason="a newer draft for the same slot")
    )
    return int(result.rowcount or 0)


def _stored(row: object) -> StoredDraft:
    r = row._mapping  # type: ignore[attr-defined]
    return StoredDraft(
        id=r["id"], recipe=r["recipe"], client=r["client"], slot=r["slot"],
        status=r["status"], composer=r["composer"], draft=Draft.model_validate(r["body"]),
        edited_markdown=r["edited_markdown"], created_at=r["created_at"],
        updated_at=r["updated_at"], sent_at=r["sent_at"], reason=r["reason"],
    )


def get(conn: Connection, draft_id: int) -> StoredDraft:
    row = conn.execute(select(draft).where(draft.c.id == draft_id)).first()
    if row is None:
        raise DraftError(f"no draft #{draft_id}: `threadline drafts` lists them")
    return _stored(row)


def list_drafts(conn: Connection, *, recipe: str | None = None, client: str | None = None,
                status: str | None = None, include_superseded: bool = False) -> list[StoredDraft]:
    query = select(draft).order_by(draft.c.created_at.desc(), draft.c.id.desc())
    if recipe:
        query = query.where(draft.c.recipe == recipe)
    if client:
        query = query.where(draft.c.client == client)
    if status:
        query = query.where(draft.c.status == status)
    elif not include_superseded:
        query = query.where(draft.c.status != "superseded")
    return [_stored(r) for r in conn.execute(query)]


def mark(conn: Connection, draft_id: int, status: Status, reason: str | None = None,
         now: datetime | None = None) -> StoredDraft:
    current = get(conn, draft_id)
    if current.status == "superseded" and status != "superseded":
        raise DraftError(f"draft #{draft_id} was superseded by a newer one; mark that one")
    now = now or _now()
    values: dict[str, object] = {"status": status, "updated_at": now, "reason": reason}
    if status == "sent":
        values["sent_at"] = now
    conn.execute(update(draft).where(draft.c.id == draft_id).values(**values))
    return get(conn, draft_id)


def last_sent(conn: Connection, recipe: str, client: str | None,
              other_than: str | None = None) -> StoredDraft | None:
    """The most recent draft of this recipe the client was sent (for another slot)."""
    query = select(draft).where(*_same(recipe, client), draft.c.status == "sent")  # type: ignore[arg-type]
    if other_than is not None:
        query = query.where(draft.c.slot != other_than)
    row = conn.execute(query.order_by(draft.c.sent_at.desc(), draft.c.id.desc())).first()
    return _stored(row) if row is not None else None


def diff_text(before: str, after: str) -> str:
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile="draft", tofile="edited",
    ))


def record_edit(conn: Connection, draft_id: int, before: str, after: str,
                now: datetime | None = None) -> int | None:
    """Keep an edit (None when nothing changed) and the draft's edited Markdown."""
    get(conn, draft_id)
    if before == after:
        return None
    now = now or _now()
    result = conn.execute(draft_edit.insert().values(
        draft_id=draft_id, before=before, after=after, diff=diff_text(before, after),
        created_at=now,
    ))
    conn.execute(update(draft).where(draft.c.id == draft_id)
                 .values(edited_markdown=after, updated_at=now))
    key = result.inserted_primary_key
    assert key is not None
    # Every edit is evidence: learn from it now, so the next draft already follows it.
    from threadline.produce.learn import learn_preferences

    learn_preferences(conn)
    return int(key[0])


def edits(conn: Connection, draft_id: int) -> list[dict[str, object]]:
    rows = conn.execute(select(draft_edit).where(draft_edit.c.draft_id == draft_id)
                        .order_by(draft_edit.c.id))
    return [dict(r._mapping) for r in rows]
