"""Connections: health per account, "sync now" (one pass, in a background thread), and how
to connect or reconnect each platform.

Connecting happens in the terminal, not in a form here, on purpose: this app may be served
to a remote browser, and a token typed into a page travels through that browser, its
extensions and any proxy in between, while the CLI keeps it on the machine that stores it
(encrypted, by connectors/credentials.py). Google needs a browser consent flow started by
the CLI anyway, and connecting verifies the token against the platform with progress and
scope reports the terminal shows better. So the page shows the exact command; tokens are
read from an environment variable in it, so they do not land in shell history either.
"""

from __future__ import annotations

import shlex
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
            "items": c.items, "requests": c.requests, "syncing": c.id in _running,
            "reconnect": connect_command(c.name, c.label or None)}


# name (as `threadline connect NAME`) -> the command, with the secret from the environment.
CONNECT = {
    "slack": 'threadline connect slack --token "$SLACK_BOT_TOKEN"',
    "notion": 'threadline connect notion --token "$NOTION_TOKEN"',
    "gmail": "threadline connect google --credentials client_secret.json",
    "gcal": "threadline connect google --credentials client_secret.json",
}
PLATFORM_OF = {"slack": "slack", "notion": "notion", "gmail": "email", "gcal": "calendar"}


def connect_command(name: str, label: str | None = None) -> str:
    base = CONNECT.get(name, f"threadline connect {name}")
    return base + (f" --name {shlex.quote(label)}" if label else "")


def not_connected(found: list[Connection]) -> list[dict[str, str]]:
    """Platforms with no connection yet, each with the command that connects it."""
    have = {c.name for c in found}
    missing = [n for n in CONNECT if n not in have]
    if "gmail" in missing and "gcal" in missing:
        missing.remove("gcal")  # one command connects both
    return [{"name": n, "platform": PLATFORM_OF[n], "command": connect_command(n)}
            for n in missing]


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
        listed = list_connections(engine)
        found = [describe(c, now) for c in listed]
        return page(request, "connections.html", connections=found,
                    missing=not_connected(listed))

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
