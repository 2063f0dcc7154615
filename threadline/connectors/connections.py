"""CRUD on the ``connection`` table: one row per connected account and connector."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, select, update

from threadline.errors import ConfigError
from threadline.store.schema import connection
from threadline.store.writer import utcnow

DEFAULT_CADENCE = {"slack": 120, "gmail": 120, "gcal": 600, "notion": 600}
"""Seconds between passes: chat and mail change by the minute, calendars and docs less."""
FALLBACK_CADENCE = 600
STATUSES = ("never", "ok", "error", "auth", "paused")


@dataclass
class Connection:
    id: int
    name: str
    platform: str
    account: str
    label: str
    source_id: int | None
    api_url: str | None
    scopes: list[str]
    options: dict[str, Any]
    cursor: dict[str, Any] | None
    cadence_seconds: int
    status: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    items: int
    requests: int
    created_at: datetime

    @property
    def secret_ref(self) -> str:
        ref = self.options.get("secret_ref")
        return ref if isinstance(ref, str) and ref else str(self.id)

    @property
    def title(self) -> str:
        return f"{self.name} {self.label or self.account}"

    @classmethod
    def from_row(cls, row: Row[Any]) -> Connection:
        m = row._mapping
        return cls(
            id=int(m["id"]),
            name=m["name"],
            platform=m["platform"],
            account=m["account"],
            label=m["label"] or "",
            source_id=m["source_id"],
            api_url=m["api_url"],
            scopes=list(m["scopes"] or []),
            options=dict(m["options"] or {}),
            cursor=m["cursor"],
            cadence_seconds=int(m["cadence_seconds"]),
            status=m["status"],
            last_attempt_at=m["last_attempt_at"],
            last_success_at=m["last_success_at"],
            last_error=m["last_error"],
            items=int(m["items"] or 0),
            requests=int(m["requests"] or 0),
            created_at=m["created_at"],
        )


def create_connection(
    engine: Engine,
    *,
    name: str,
    platform: str,
    account: str,
    label: str = "",
    source_id: int | None = None,
    api_url: str | None = None,
    scopes: list[str] | None = None,
    options: dict[str, Any] | None = None,
    cadence_seconds: int | None = None,
) -> Connection:
    """Create the connection, or update it when this account is connected again.

    Reconnecting keeps the cursor (no full re-sync) and clears a revoked-token status.
    """
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(
            select(connection).where(connection.c.name == name, connection.c.account == account)
        ).first()
        if row is None:
            opts = {"secret_ref": uuid.uuid4().hex, **(options or {})}
            new_id = conn.execute(
                connection.insert()
                .values(
                    name=name,
                    platform=platform,
                    account=account,
                    label=label,
                    source_id=source_id,
                    api_url=api_url,
                    scopes=scopes or [],
                    options=opts,
                    cursor=None,
                    cadence_seconds=cadence_seconds or DEFAULT_CADENCE.get(name, FALLBACK_CADENCE),
                    status="never",
                    items=0,
                    requests=0,
                    created_at=now,
                )
                .returning(connection.c.id)
            ).scalar_one()
        else:
            new_id = row.id
            old = Connection.from_row(row)
            opts = {**old.options, **(options or {}), "secret_ref": old.secret_ref}
            values: dict[str, Any] = {
                "label": label or old.label,
                "source_id": source_id or old.source_id,
                "api_url": api_url,
                "scopes": scopes if scopes is not None else old.scopes,
                "options": opts,
            }
            if cadence_seconds:
                values["cadence_seconds"] = cadence_seconds
            if old.status in ("auth", "error"):
                values.update(status="never" if old.last_success_at is None else "ok",
                              last_error=None)
            conn.execute(update(connection).where(connection.c.id == new_id).values(**values))
    return get_connection(engine, int(new_id))


def get_connection(engine: Engine, connection_id: int) -> Connection:
    with engine.connect() as conn:
        row = conn.execute(select(connection).where(connection.c.id == connection_id)).first()
    if row is None:
        raise ConfigError(f"no connection {connection_id}; see `threadline connections`.")
    return Connection.from_row(row)


def list_connections(engine: Engine) -> list[Connection]:
    with engine.connect() as conn:
        rows = conn.execute(select(connection).order_by(connection.c.id)).all()
    return [Connection.from_row(row) for row in rows]


def find_connections(engine: Engine, selector: str | None) -> list[Connection]:
    """All connections, or those whose id, kind (slack), label or account is ``selector``."""
    found = list_connections(engine)
    if not selector:
        return found
    wanted = selector.strip().lower()
    matched = [
        c for c in found
        if wanted in (str(c.id), c.name.lower(), c.label.lower(), c.account.lower())
    ]
    if not matched:
        names = ", ".join(f"{c.id} ({c.title})" for c in found) or "none yet"
        raise ConfigError(f"no connection matches {selector!r}; connections: {names}.")
    return matched


def update_connection(engine: Engine, connection_id: int, **values: Any) -> None:
    if "status" in values and values["status"] not in STATUSES:
        raise ValueError(f"unknown status {values['status']!r}")
    with engine.begin() as conn:
        conn.execute(update(connection).where(connection.c.id == connection_id).values(**values))


def delete_connection(engine: Engine, connection_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(connection.delete().where(connection.c.id == connection_id))
