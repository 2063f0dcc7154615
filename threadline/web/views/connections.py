"""Connections: health per account, and "sync now" (one pass, in a background thread)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from starlette.responses import Response

from threadline.connectors.connections import Connection, list_connections
from threadline.connectors.engine import redact
from threadline.web.config import WebSettings
from threadline.web.session import flash
from threadline.web.templating import back, page

_running: set[int] = set()
_lock = threading.Lock()


def describe(c: Connection, now: datetime) -> dict[str, Any]:
    """What the page may show of a connection: never its options, cursor or secrets."""
    lag = None
    if c.last_success_at is not None:
        lag = int((now - c.last_success_at).total_seconds() // 60)
    return {"id": c.id, "name": c.name, "platform": c.platform, "account": c.account,
            "label": c.label, "status": c.status, "last_success_at": c.last_success_at,
            "last_attempt_at": c.last_attempt_at, "lag_minutes": lag,
            "cadence_minutes": c.cadence_seconds // 60,
            "error": redact(c.last_error) if c.last_error else None,
            "items": c.items, "requests": c.requests, "syncing": c.id in _running}


def start_sync(engine: Engine, connection_id: int) -> bool:
    """Run one pass of this connection in a thread; False when one is already running."""
    with _lock:
        if connection_id in _running:
            return False
        _running.add(connection_id)

    def run() -> None:
        from threadline.connectors.engine import sync_connection

        try:
            sync_connection(engine, connection_id)
        finally:
            with _lock:
                _running.discard(connection_id)

    threading.Thread(target=run, name=f"sync-{connection_id}", daemon=True).start()
    return True


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/connections")
    def connections(request: Request) -> Response:
        now = settings.now()
        found = [describe(c, now) for c in list_connections(engine)]
        return page(request, "connections.html", connections=found)

    @r.post("/connections/{connection_id}/sync")
    def sync_now(request: Request, connection_id: int) -> Response:
        known = {c.id: c for c in list_connections(engine)}
        if connection_id not in known:
            flash(request, f"No connection {connection_id}.")
        elif start_sync(engine, connection_id):
            flash(request, f"Sync of {known[connection_id].title} started: reload to see it.")
        else:
            flash(request, f"{known[connection_id].title} is already syncing.")
        return back("/connections")

    return r
