"""Runs one importer into the store: batching, counting, checkpoints and the run record."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, update

from threadline.connectors.base import Importer
from threadline.errors import ImportFailed
from threadline.records import KnownUnits, Record, SourceInfo
from threadline.store.schema import import_run, import_unit, source
from threadline.store.upsert import insert_ignore
from threadline.store.writer import StoreWriter, WriteCounts, utcnow

ProgressCallback = Callable[[int], None]
"""Called with the number of records just handled, after each batch."""


@dataclass
class ImportSummary:
    importer: str
    path: str
    source_id: int
    run_id: int
    counts: WriteCounts
    status: str
    seconds: float
    error: str | None = None

    @property
    def line(self) -> str:
        c = self.counts
        return (
            f"{c.added} added, {c.updated} updated, {c.unchanged} unchanged, "
            f"{c.deleted} deleted, {c.quarantined} quarantined"
        )

    @property
    def imported_anything(self) -> bool:
        c = self.counts
        return (c.added + c.updated + c.unchanged + c.deleted + c.identities) > 0


def ensure_source(engine: Engine, info: SourceInfo) -> int:
    now = utcnow()
    with engine.begin() as conn:
        insert_ignore(
            conn,
            source,
            [{**info.model_dump(), "added_at": now}],
            ["platform", "kind", "account"],
        )
        source_id = conn.execute(
            select(source.c.id).where(
                source.c.platform == info.platform,
                source.c.kind == info.kind,
                source.c.account == info.account,
            )
        ).scalar_one()
    return int(source_id)


def known_units(engine: Engine, source_id: int) -> KnownUnits:
    """What this source's earlier imports read whole, for skipping unchanged units."""
    with engine.connect() as conn:
        seen = {
            unit: (fingerprint, items)
            for unit, fingerprint, items in conn.execute(
                select(import_unit.c.unit, import_unit.c.fingerprint, import_unit.c["items"]).where(
                    import_unit.c.source_id == source_id
                )
            )
        }

    def known(unit: str, fingerprint: str) -> int | None:
        found = seen.get(unit)
        return found[1] if found is not None and found[0] == fingerprint else None

    return known


def run_import(
    engine: Engine,
    importer: Importer,
    path: Path,
    *,
    progress: ProgressCallback | None = None,
    batch_size: int = 1000,
    reparse: bool = False,
) -> ImportSummary:
    """Read the importer to the end, saving each batch in its own transaction.

    Importers that accept ``known_units`` skip the units an earlier import read whole with
    the same fingerprint; ``reparse`` turns that off (after an importer upgrade, say).
    """
    started = time.perf_counter()
    info = importer.source()
    source_id = ensure_source(engine, info)
    if hasattr(importer, "known_units"):
        importer.known_units = None if reparse else known_units(engine, source_id)
    with engine.begin() as conn:
        run_id = int(
            conn.execute(
                import_run.insert()
                .values(
                    source_id=source_id,
                    importer=importer.name,
                    path=str(path),
                    started_at=utcnow(),
                    status="running",
                )
                .returning(import_run.c.id)
            ).scalar_one()
        )
    writer = StoreWriter(source_id, run_id)
    totals = WriteCounts()
    batch: list[Record] = []

    def flush() -> None:
        if not batch:
            return
        with engine.begin() as conn:
            totals.add(writer.save(conn, batch, utcnow()))
        if progress:
            progress(len(batch))
        batch.clear()

    error: str | None = None
    try:
        for record in importer.read():
            batch.append(record)
            if len(batch) >= batch_size:
                flush()
        flush()
    except ImportFailed as exc:
        error = str(exc)
        flush()
    except Exception as exc:  # an importer bug: keep what was read, say where it stopped
        flush()
        error = (
            f"{importer.name} stopped reading {path} after {totals.added + totals.unchanged} "
            f"items: {type(exc).__name__}: {exc}. What was read before is saved; "
            "please report this with the file if you can."
        )
    summary = ImportSummary(
        importer=importer.name,
        path=str(path),
        source_id=source_id,
        run_id=run_id,
        counts=totals,
        status="done",
        seconds=time.perf_counter() - started,
        error=error,
    )
    if not summary.imported_anything:
        summary.status = "failed" if error else "empty"
    elif error:
        summary.status = "partial"
    _finish(engine, summary, error)
    if summary.status == "failed":
        raise ImportFailed(error or "nothing could be imported")
    return summary


def _finish(engine: Engine, summary: ImportSummary, error: str | None) -> None:
    now = utcnow()
    c = summary.counts
    with engine.begin() as conn:
        conn.execute(
            update(import_run)
            .where(import_run.c.id == summary.run_id)
            .values(
                finished_at=now,
                status=summary.status,
                added=c.added,
                updated=c.updated,
                unchanged=c.unchanged,
                deleted=c.deleted,
                quarantined=c.quarantined,
                error=error,
            )
        )
        conn.execute(
            update(source).where(source.c.id == summary.source_id).values(last_import_at=now)
        )
