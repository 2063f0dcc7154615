"""Accumulation: fold new and changed items into the context, at a cost that grows with them.

Every import and sync ends here. Items whose ``last_changed_at`` is past the watermark are
handed, a chunk at a time, to each folder in order (people, clients, storylines, timeline,
weekly notes); each chunk is one transaction that also advances the watermark, so a crash
loses nothing and redoes at most one chunk. ``rebuild`` resets every folder's derived state
and folds the whole store again; it must give the same result as the incremental path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, func, select

from threadline.store.context_schema import accumulation_state
from threadline.store.engine import refresh_statistics
from threadline.store.schema import item
from threadline.store.upsert import insert_or_update
from threadline.store.writer import utcnow

STATE = "items"
# Each chunk loads the neighbourhood of its items (threads, a client's items within days,
# the storylines they join) and rewrites it: big chunks load a neighbourhood once for many
# items, and a crash still redoes no more than one of them.
CHUNK = 5000
# A fold this big (a first import) changes the tables enough to refresh PostgreSQL's
# planner statistics before anything queries them.
ANALYZE_AFTER = 20_000


class Folder(Protocol):
    """One part of the context, kept current from the items that changed."""

    name: str

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        """Bring this part of the context up to date with these (new or changed) items."""
        ...

    def reset(self, conn: Connection) -> None:
        """Forget everything derived (not the user's own decisions), before a rebuild."""
        ...


@dataclass
class AccumulationReport:
    items: int = 0
    chunks: int = 0
    seconds_by_folder: dict[str, float] = field(default_factory=dict)


def default_folders(clients_file: Path | None = None) -> list[Folder]:
    from threadline.context.registry import builtin_folders

    return builtin_folders(clients_file)


def watermark(conn: Connection) -> datetime | None:
    return conn.execute(
        select(accumulation_state.c.watermark).where(accumulation_state.c.name == STATE)
    ).scalar()


def pending(conn: Connection) -> int:
    mark = watermark(conn)
    query = select(func.count()).select_from(item)
    if mark is not None:
        query = query.where(item.c.last_changed_at > mark)
    return int(conn.execute(query).scalar_one())


def accumulate(
    engine: Engine,
    *,
    rebuild: bool = False,
    folders: list[Folder] | None = None,
    chunk_size: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> AccumulationReport:
    import time

    folders = default_folders() if folders is None else folders
    report = AccumulationReport()
    if rebuild:
        with engine.begin() as conn:
            for folder in folders:
                folder.reset(conn)
            conn.execute(accumulation_state.delete().where(accumulation_state.c.name == STATE))
    while True:
        with engine.begin() as conn:
            mark = watermark(conn)
            query = select(item.c.id, item.c.last_changed_at).order_by(
                item.c.last_changed_at, item.c.id
            )
            if mark is not None:
                query = query.where(item.c.last_changed_at > mark)
            rows = conn.execute(query.limit(chunk_size)).all()
            if not rows:
                break
            # Never split one recorded instant across chunks: the watermark is a time.
            last = rows[-1].last_changed_at
            if len(rows) == chunk_size:
                rest = conn.execute(
                    select(item.c.id).where(item.c.last_changed_at == last)
                ).scalars()
                ids = sorted({r.id for r in rows} | set(rest))
            else:
                ids = [r.id for r in rows]
            now = utcnow()
            for folder in folders:
                started = time.perf_counter()
                folder.fold(conn, ids, now)
                spent = time.perf_counter() - started
                report.seconds_by_folder[folder.name] = (
                    report.seconds_by_folder.get(folder.name, 0.0) + spent
                )
            insert_or_update(
                conn,
                accumulation_state,
                [{"name": STATE, "watermark": last, "updated_at": now, "detail": {}}],
                ["name"],
                ["watermark", "updated_at"],
            )
            report.items += len(ids)
            report.chunks += 1
        if progress:
            progress(len(ids))
    if report.items >= ANALYZE_AFTER:
        refresh_statistics(engine)
    return report
