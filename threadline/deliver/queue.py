"""The delivery queue: one row per (draft, destination), sent once whatever retries.

``enqueue`` adds a pending row per destination with ``idempotency_key = sha256("{draft
id}|{destination}")`` (the destination in its canonical form), so enqueuing the same draft
to the same place twice adds nothing. ``process_due`` (in ``threadline.deliver.process``,
re-exported here) sends what is due. ``threadline deliveries`` reads ``list_deliveries``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, select, update

from threadline.deliver.destinations import Destination, parse_destination
from threadline.deliver.process import ProcessReport, process_due
from threadline.errors import ThreadlineError
from threadline.produce import drafts
from threadline.store.autonomy_schema import delivery
from threadline.store.produce_schema import draft as draft_table
from threadline.store.upsert import insert_ignore
from threadline.store.writer import utcnow

__all__ = ["DeliveryRow", "ProcessReport", "enqueue", "idempotency_key", "list_deliveries",
           "process_due", "retry_delivery"]


class DeliveryNotFound(ThreadlineError):
    """No delivery with that id, or one in a state the change does not apply to."""


def idempotency_key(draft_id: int, destination: str | Destination) -> str:
    return hashlib.sha256(f"{draft_id}|{destination}".encode()).hexdigest()


def enqueue(conn: Connection, draft_id: int, destinations: Iterable[str | Destination], *,
            now: datetime | None = None, base_dir: Path | None = None) -> list[int]:
    """Queue the draft for each destination; returns the delivery ids (existing ones too).

    Destinations are parsed first, so a typo fails the whole call and queues nothing.
    Whether the draft may go out (approved, nothing flagged) is checked when it is sent.
    """
    drafts.get(conn, draft_id)  # raises, naming the draft, when it does not exist
    now = now or utcnow()
    parsed = [d if isinstance(d, Destination) else parse_destination(d, base_dir=base_dir)
              for d in destinations]
    keys = list(dict.fromkeys(idempotency_key(draft_id, d) for d in parsed))
    by_key = {idempotency_key(draft_id, d): d for d in parsed}
    insert_ignore(conn, delivery, [
        {"draft_id": draft_id, "destination": str(by_key[k]), "idempotency_key": k,
         "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
        for k in keys], ["idempotency_key"])
    found = {key: ident for key, ident in conn.execute(
        select(delivery.c.idempotency_key, delivery.c.id)
        .where(delivery.c.idempotency_key.in_(keys)))}
    return [int(found[k]) for k in keys]


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    draft_id: int
    destination: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    message_id: str | None
    permalink: str | None
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    recipe: str
    client: str | None
    slot: str
    draft_status: str


def list_deliveries(conn: Connection, *, status: str | None = None,
                    draft_id: int | None = None, limit: int = 200) -> list[DeliveryRow]:
    query = (select(delivery, draft_table.c.recipe, draft_table.c.client, draft_table.c.slot,
                    draft_table.c.status.label("draft_status"))
             .join(draft_table, draft_table.c.id == delivery.c.draft_id)
             .order_by(delivery.c.created_at.desc(), delivery.c.id.desc()).limit(limit))
    if status:
        query = query.where(delivery.c.status == status)
    if draft_id is not None:
        query = query.where(delivery.c.draft_id == draft_id)
    return [DeliveryRow(**{f: r._mapping[f] for f in DeliveryRow.__dataclass_fields__})
            for r in conn.execute(query)]


def retry_delivery(conn: Connection, delivery_id: int, now: datetime | None = None) -> None:
    """Give a failed delivery a fresh set of attempts, due now."""
    result = conn.execute(
        update(delivery).where(delivery.c.id == delivery_id, delivery.c.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now or utcnow(), error=None))
    if not result.rowcount:
        raise DeliveryNotFound(f"no failed delivery #{delivery_id}: `threadline deliveries "
                               "--status failed` lists them")
