"""What is stored: the figures behind ``threadline status`` and ``quarantine list``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, case, func, select

from threadline.store.schema import identity, import_run, item, item_version, quarantine, source


class ContainerCount(BaseModel):
    container: str
    items: int


class PlatformStatus(BaseModel):
    items: int
    deleted: int
    containers: list[ContainerCount]


class RunStatus(BaseModel):
    id: int
    importer: str
    path: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    added: int
    updated: int
    unchanged: int
    deleted: int
    quarantined: int
    error: str | None


class StoreStatus(BaseModel):
    db: str
    items: int
    deleted: int
    versions: int
    identities: int
    quarantined: int
    sources: int
    platforms: dict[str, PlatformStatus]
    last_import: RunStatus | None
    recent_runs: list[RunStatus]


class QuarantineEntry(BaseModel):
    id: int
    platform: str
    file: str
    position: str
    reason: str
    size: int
    created_at: datetime


def _count(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def store_status(conn: Connection, db: str, *, top_containers: int = 8) -> StoreStatus:
    platforms: dict[str, PlatformStatus] = {}
    per_platform = conn.execute(
        select(
            item.c.platform,
            func.count(),
            func.sum(case((item.c.deleted, 1), else_=0)),
        ).group_by(item.c.platform)
    )
    for platform, count, deleted in per_platform:
        label = func.coalesce(item.c.container_name, item.c.container_id)
        containers = conn.execute(
            select(label, func.count())
            .where(item.c.platform == platform)
            .group_by(label)
            .order_by(func.count().desc(), label)
            .limit(top_containers)
        )
        platforms[platform] = PlatformStatus(
            items=count,
            deleted=int(deleted or 0),
            containers=[ContainerCount(container=c, items=n) for c, n in containers],
        )
    runs = [
        RunStatus.model_validate(row._asdict())
        for row in conn.execute(
            select(
                import_run.c.id,
                import_run.c.importer,
                import_run.c.path,
                import_run.c.started_at,
                import_run.c.finished_at,
                import_run.c.status,
                import_run.c.added,
                import_run.c.updated,
                import_run.c.unchanged,
                import_run.c.deleted,
                import_run.c.quarantined,
                import_run.c.error,
            )
            .order_by(import_run.c.id.desc())
            .limit(5)
        )
    ]
    total = sum(p.items for p in platforms.values())
    return StoreStatus(
        db=db,
        items=total,
        deleted=sum(p.deleted for p in platforms.values()),
        versions=_count(conn, item_version),
        identities=_count(conn, identity),
        quarantined=_count(conn, quarantine),
        sources=_count(conn, source),
        platforms=dict(sorted(platforms.items())),
        last_import=runs[0] if runs else None,
        recent_runs=runs,
    )


def quarantine_entries(conn: Connection, *, limit: int | None = None) -> list[QuarantineEntry]:
    query = select(
        quarantine.c.id,
        quarantine.c.platform,
        quarantine.c.file,
        quarantine.c.position,
        quarantine.c.reason,
        func.length(quarantine.c.raw).label("size"),
        quarantine.c.created_at,
    ).order_by(quarantine.c.id)
    if limit:
        query = query.limit(limit)
    return [QuarantineEntry.model_validate(row._asdict()) for row in conn.execute(query)]


def quarantine_raw(conn: Connection, entry_id: int) -> bytes | None:
    raw = conn.execute(select(quarantine.c.raw).where(quarantine.c.id == entry_id)).scalar()
    return bytes(raw) if raw is not None else None
