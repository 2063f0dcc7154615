"""The one save path for importers and live connectors: idempotent upserts by canonical id.

A batch of records is compared with what is stored by content hash. New items are
inserted, changed items keep their previous state in ``item_version``, deletions become
tombstones, and identical items cost one indexed lookup. Each batch is one transaction,
so a run killed halfway leaves whole batches behind and the next run completes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from threadline.records import (
    IdentityRecord,
    IdentityRef,
    ItemRecord,
    QuarantineRecord,
    Record,
    UnitDone,
)
from threadline.store.schema import identity, import_unit, item, item_version, link, quarantine
from threadline.store.upsert import insert_ignore, insert_or_update


@dataclass
class WriteCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    identities: int = 0

    def add(self, other: WriteCounts) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.quarantined += other.quarantined
        self.identities += other.identities


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def content_hash(record: ItemRecord) -> str:
    """What counts as a change: the normalized content, not the raw payload's noise."""
    payload = [
        record.title,
        record.text,
        record.deleted,
        _iso(record.occurred_at),
        _iso(record.updated_at),
        record.container_id,
        record.container_name,
        record.thread_id,
        record.author.key if record.author else None,
        [r.key for r in record.recipients],
        record.labels,
        [a.model_dump() for a in record.attachments],
        record.permalink,
        sorted((ln.kind, ln.target) for ln in record.links),
    ]
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def quarantine_fingerprint(record: QuarantineRecord) -> str:
    digest = hashlib.sha256()
    for part in (record.platform, record.file, record.position, record.reason):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(record.raw)
    return digest.hexdigest()


def _item_row(record: ItemRecord, digest: str) -> dict[str, Any]:
    return {
        "platform": record.platform,
        "kind": record.kind,
        "native": record.native,
        "container_id": record.container_id,
        "container_name": record.container_name,
        "thread_id": record.thread_id,
        "author_key": record.author.key if record.author else None,
        "recipients": [r.key for r in record.recipients],
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "occurred_at": record.occurred_at,
        "title": record.title,
        "text": record.text,
        "permalink": record.permalink,
        "labels": record.labels,
        "attachments": [a.model_dump(exclude_none=True) for a in record.attachments],
        "raw": record.raw,
        "content_hash": digest,
        "deleted": record.deleted,
    }


class StoreWriter:
    """Saves batches of records for one source and one import run."""

    def __init__(self, source_id: int, run_id: int | None = None) -> None:
        self.source_id = source_id
        self.run_id = run_id

    def save(self, conn: Connection, records: Sequence[Record], now: datetime) -> WriteCounts:
        counts = WriteCounts()
        items: dict[str, ItemRecord] = {}
        people: dict[str, IdentityRecord] = {}
        quarantined: list[QuarantineRecord] = []
        units: dict[str, UnitDone] = {}
        for record in records:
            if isinstance(record, ItemRecord):
                # The last copy wins when an export lists one item twice.
                items[record.canonical_id] = record
            elif isinstance(record, IdentityRecord):
                people[record.identity.key] = record
            elif isinstance(record, UnitDone):
                if record.skipped:
                    counts.unchanged += record.items
                else:
                    units[record.unit] = record
            else:
                quarantined.append(record)
        if people:
            counts.identities = self._save_identities(conn, people.values(), now)
        if items:
            self._save_items(conn, items, now, counts)
        if quarantined:
            counts.quarantined = self._save_quarantine(conn, quarantined, now)
        if units:
            # After the unit's items, in the same transaction: a crash re-parses it, no more.
            rows = [
                {
                    "source_id": self.source_id,
                    "unit": u.unit,
                    "fingerprint": u.fingerprint,
                    "items": u.items,
                    "seen_at": now,
                }
                for u in units.values()
            ]
            insert_or_update(
                conn, import_unit, rows, ["source_id", "unit"], ["fingerprint", "items", "seen_at"]
            )
        return counts

    def _save_identities(
        self, conn: Connection, records: Iterable[IdentityRecord], now: datetime
    ) -> int:
        rows = [
            {
                "key": r.identity.key,
                "kind": r.identity.kind,
                "value": r.identity.value,
                "display_name": r.identity.display_name,
                "platform": r.platform,
                "profile": r.profile,
                "first_seen_at": now,
            }
            for r in records
        ]
        insert_or_update(conn, identity, rows, ["key"], ["display_name", "profile"])
        return len(rows)

    def _save_seen_identities(
        self, conn: Connection, records: Iterable[ItemRecord], now: datetime
    ) -> None:
        seen: dict[str, tuple[IdentityRef, str]] = {}
        for record in records:
            refs = [record.author, *record.recipients] if record.author else record.recipients
            for ref in refs:
                if ref is not None and ref.key not in seen:
                    seen[ref.key] = (ref, record.platform)
        rows: list[dict[str, Any]] = [
            {
                "key": key,
                "kind": ref.kind,
                "value": ref.value,
                "display_name": ref.display_name,
                "platform": platform,
                "profile": {},
                "first_seen_at": now,
            }
            for key, (ref, platform) in seen.items()
        ]
        insert_ignore(conn, identity, rows, ["key"])

    def _save_items(
        self, conn: Connection, records: dict[str, ItemRecord], now: datetime, counts: WriteCounts
    ) -> None:
        stored = {
            row.canonical_id: row
            for row in conn.execute(
                select(
                    item.c.id,
                    item.c.canonical_id,
                    item.c.content_hash,
                    item.c.version,
                    item.c.deleted,
                ).where(item.c.canonical_id.in_(list(records)))
            )
        }
        inserts: list[dict[str, Any]] = []
        changes: list[tuple[Any, ItemRecord, dict[str, Any]]] = []
        for cid, record in records.items():
            digest = content_hash(record)
            old = stored.get(cid)
            if old is None:
                row = _item_row(record, digest)
                row.update(
                    canonical_id=cid,
                    source_id=self.source_id,
                    version=1,
                    deleted_at=(record.updated_at or now) if record.deleted else None,
                    first_seen_at=now,
                    last_changed_at=now,
                )
                inserts.append(row)
                if record.deleted:
                    counts.deleted += 1
                else:
                    counts.added += 1
            elif old.content_hash == digest:
                counts.unchanged += 1
            else:
                changes.append((old, record, _item_row(record, digest)))
        if inserts:
            conn.execute(item.insert(), inserts)
        if changes:
            self._apply_changes(conn, changes, now, counts)
        new_or_changed = [r["canonical_id"] for r in inserts]
        new_or_changed += [record.canonical_id for _old, record, _row in changes]
        touched = [records[cid] for cid in new_or_changed]
        self._save_seen_identities(conn, touched, now)
        self._save_links(conn, touched, replace=[r.canonical_id for _o, r, _w in changes])

    def _apply_changes(
        self,
        conn: Connection,
        changes: list[tuple[Any, ItemRecord, dict[str, Any]]],
        now: datetime,
        counts: WriteCounts,
    ) -> None:
        ids = [old.id for old, _record, _row in changes]
        previous = {
            row.id: row
            for row in conn.execute(
                select(
                    item.c.id,
                    item.c.title,
                    item.c.text,
                    item.c.occurred_at,
                    item.c.content_hash,
                    item.c.raw,
                    item.c.updated_at,
                    item.c.created_at,
                    item.c.version,
                ).where(item.c.id.in_(ids))
            )
        }
        versions: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for old, record, row in changes:
            if record.deleted and not old.deleted:
                change = "deleted"
                counts.deleted += 1
            elif old.deleted and not record.deleted:
                change = "restored"
                counts.updated += 1
            else:
                change = "edited"
                counts.updated += 1
            before = previous[old.id]
            versions.append(
                {
                    "item_id": old.id,
                    "version": before.version,
                    "change": change,
                    "title": before.title,
                    "text": before.text,
                    "occurred_at": before.occurred_at,
                    "content_hash": before.content_hash,
                    "raw": before.raw,
                    "valid_from": before.updated_at or before.created_at,
                    "valid_to": record.updated_at or now,
                    "recorded_at": now,
                }
            )
            row.update(
                b_id=old.id,
                version=before.version + 1,
                deleted_at=(record.updated_at or now) if record.deleted else None,
                last_changed_at=now,
            )
            updates.append(row)
        conn.execute(item_version.insert(), versions)
        conn.execute(item.update().where(item.c.id == bindparam("b_id")), updates)

    def _save_links(self, conn: Connection, records: list[ItemRecord], replace: list[str]) -> None:
        if replace:
            conn.execute(delete(link).where(link.c.from_id.in_(replace)))
        rows = {
            (r.canonical_id, ln.kind, ln.target): {
                "from_id": r.canonical_id,
                "kind": ln.kind,
                "target": ln.target,
            }
            for r in records
            for ln in r.links
        }
        insert_ignore(conn, link, list(rows.values()), ["from_id", "kind", "target"])

    def _save_quarantine(
        self, conn: Connection, records: list[QuarantineRecord], now: datetime
    ) -> int:
        rows = {
            fp: {
                "fingerprint": fp,
                "source_id": self.source_id,
                "import_run_id": self.run_id,
                "platform": r.platform,
                "file": r.file,
                "position": r.position,
                "reason": r.reason,
                "raw": r.raw,
                "created_at": now,
            }
            for r in records
            if (fp := quarantine_fingerprint(r))
        }
        insert_ignore(conn, quarantine, list(rows.values()), ["fingerprint"])
        return len(rows)


def utcnow() -> datetime:
    return datetime.now(UTC)
