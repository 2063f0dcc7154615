"""Test helpers for the Google connectors: a retrying runner, saving pages, a lookup."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from threadline.connectors.runner import ensure_source
from threadline.connectors.sync_base import Page, TransientError
from threadline.records import ItemRecord, Record, SourceInfo
from threadline.store.schema import item
from threadline.store.writer import StoreWriter, WriteCounts, utcnow

T = TypeVar("T")


class RetryRunner:
    """Retries TransientError without sleeping; records the waits it was asked for."""

    def __init__(self, attempts: int = 4) -> None:
        self.attempts = attempts
        self.waits: list[float | None] = []
        self.calls: Counter[str] = Counter()
        self.errors: list[str] = []

    def call(self, method: str, fn: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            self.calls[method] += 1
            try:
                return fn()
            except TransientError as error:
                self.waits.append(error.retry_after)
                self.errors.append(str(error))
                if attempt == self.attempts - 1:
                    raise
        raise AssertionError("unreachable")


def save(engine: Engine, info: SourceInfo, pages: Iterable[Page]) -> WriteCounts:
    """Each page in its own transaction, as the engine does."""
    source_id = ensure_source(engine, info)
    writer = StoreWriter(source_id)
    total = WriteCounts()
    for page in pages:
        with engine.begin() as conn:
            total.add(writer.save(conn, page.records, utcnow()))
    return total


def import_records(engine: Engine, importer: Any) -> WriteCounts:
    """An export importer's records through the same save path (not run_import, so these
    tests do not depend on the import bookkeeping around it)."""
    return save(engine, importer.source(), [Page(list(importer.read()), {})])


def items(pages: Iterable[Page]) -> dict[str, ItemRecord]:
    return {r.canonical_id: r for p in pages for r in p.records if isinstance(r, ItemRecord)}


def records(pages: Iterable[Page]) -> list[Record]:
    return [r for p in pages for r in p.records]


def store_lookup(engine: Engine) -> Callable[[str, str], str | None]:
    """What the engine hands connectors as options["lookup"]: canonical id by native key."""

    def lookup(key: str, value: str) -> str | None:
        with engine.connect() as conn:
            for cid, native in conn.execute(select(item.c.canonical_id, item.c.native)):
                if (native or {}).get(key) == value:
                    return str(cid)
        return None

    return lookup


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(item)).mappings().all()
    return {row["canonical_id"]: dict(row) for row in rows}
