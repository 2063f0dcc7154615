"""Socket Mode for ``threadline run``: Slack's live events saved as they happen.

A Slack connection saved with an app-level token (``threadline connect slack --token xoxb-...
--app-token xapp-...``) gets one background thread while ``threadline run`` runs. It opens
slack_sdk's builtin SocketModeClient (apps.connections.open, then a WebSocket), saves every
message / message_changed / message_deleted event through the one save path (StoreWriter,
the connection's source) and acks the envelope once saved: an envelope whose save failed is
not acked, so Slack delivers it again. Dropped connections are reopened with a growing delay.

The scheduler's passes lean on it: while a session is up and covered the last full pass,
a pass reads only the conversations events touched (``LiveStatus.take``) and the full
history sweep runs on its own, longer cadence. The state ("connected since", the last error)
is kept in the connection's ``options["live"]`` so ``threadline connections`` can show it
from another process; a heartbeat tells a live session from one whose process died.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from threadline.connectors.connections import Connection, get_connection
from threadline.store.schema import connection as connection_table

log = logging.getLogger(__name__)
HEARTBEAT = 60.0
"""Seconds between heartbeats in the connection row; 3 missed ones read as "not running"."""


@dataclass
class LiveStatus:
    """What the pass planner needs from a live session, shared within the process."""

    session: str | None = None
    touched: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> str | None:
        with self.lock:
            return self.session

    def open(self) -> None:
        with self.lock:
            self.session = uuid.uuid4().hex

    def close(self) -> None:
        """Events may be missed from now on: the next pass reads every conversation."""
        with self.lock:
            self.session = None

    def touch(self, channel: str) -> None:
        with self.lock:
            self.touched.add(channel)

    def take(self) -> set[str]:
        with self.lock:
            taken, self.touched = self.touched, set()
            return taken


_REGISTRY: dict[str, LiveStatus] = {}


def live_status(ref: object) -> LiveStatus | None:
    """The live session of the connection whose ``secret_ref`` is ``ref``, in this process."""
    return _REGISTRY.get(ref) if isinstance(ref, str) else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def save_live_state(engine: Engine, connection_id: int, **values: Any) -> None:
    """Merge ``values`` into the connection's ``options["live"]`` (only that key changes)."""
    with engine.begin() as conn:
        row = conn.execute(select(connection_table.c.options)
                           .where(connection_table.c.id == connection_id)).first()
        if row is None:
            return
        options = dict(row.options or {})
        options["live"] = {**(options.get("live") or {}), **values}
        conn.execute(update(connection_table).where(connection_table.c.id == connection_id)
                     .values(options=options))


def live_line(options: dict[str, Any], now: datetime | None = None) -> str | None:
    """``live events: connected since ...`` for ``threadline connections``; None if never."""
    live = options.get("live")
    if not isinstance(live, dict):
        return None
    now = now or datetime.now(UTC)
    seen = live.get("seen_at")
    alive = isinstance(seen, str) and (
        now - datetime.fromisoformat(seen.replace("Z", "+00:00"))
        < timedelta(seconds=3 * HEARTBEAT)
    )
    state = live.get("state")
    if state == "connected" and alive:
        line = f"live events: connected since {live.get('since')}"
    elif state == "reconnecting" and alive:
        line = "live events: reconnecting"
    else:
        line = "live events: not running (starts with `threadline run`)"
    if live.get("error"):
        line += f"; last error {live.get('error_at')}: {live['error']}"
    return line


class SlackLiveEvents:
    """One connection's Socket Mode session, reopened with backoff until stopped."""

    def __init__(
        self,
        engine: Engine,
        conn: Connection,
        secrets: dict[str, Any],
        *,
        min_delay: float = 1.0,
        max_delay: float = 300.0,
        poll: float = 1.0,
        on_saved: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.conn = conn
        self._secrets = secrets
        self.min_delay, self.max_delay, self.poll = min_delay, max_delay, poll
        self.on_saved = on_saved
        self.stop_event = threading.Event()
        self.status = _REGISTRY.setdefault(conn.secret_ref, LiveStatus())
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"slack-live-{conn.id}")
        self.acked = 0
        self._mapper: Any = None
        self._mapper_at = 0.0

    def __repr__(self) -> str:  # holds tokens: never show them
        return f"SlackLiveEvents(connection={self.conn.id})"

    def start(self) -> SlackLiveEvents:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    # -- the supervising loop --------------------------------------------------------------

    def _run(self) -> None:
        delay = self.min_delay
        while not self.stop_event.is_set():
            client: Any = None
            started = time.monotonic()
            try:
                client = self._open()
                self.status.open()
                self._save(state="connected", since=_iso(datetime.now(UTC)))
                beat = time.monotonic()
                while not self.stop_event.is_set() and client.is_connected():
                    self.stop_event.wait(self.poll)
                    if time.monotonic() - beat >= HEARTBEAT:
                        beat = time.monotonic()
                        self._save()
                if self.stop_event.is_set():
                    break
                self._failed("the Socket Mode connection closed; reopening")
            except Exception as exc:  # any failure to connect: record it, retry later
                self._failed(f"could not open Socket Mode: {type(exc).__name__}: {exc}")
            finally:
                self.status.close()
                if client is not None:
                    client.close()
            if time.monotonic() - started > 60:
                delay = self.min_delay  # it had been up a while: not a flapping connection
            self.stop_event.wait(delay)
            delay = min(self.max_delay, delay * 2)
        self._save(state="stopped")

    def _open(self) -> Any:
        from slack_sdk import WebClient
        from slack_sdk.socket_mode.builtin import SocketModeClient

        base = (self.conn.api_url or "https://slack.com/api/").rstrip("/") + "/"
        client = SocketModeClient(
            app_token=self._secrets["app_token"],
            web_client=WebClient(token=self._secrets.get("token"), base_url=base),
            auto_reconnect_enabled=False,  # this loop reconnects, with backoff and a status
            logger=log,
        )
        client.socket_mode_request_listeners.append(self._handle)
        try:
            client.connect()
        except Exception:
            client.close()
            raise
        return client

    def _failed(self, message: str) -> None:
        from threadline.connectors.engine import redact

        text = redact(message, self._secrets)[:300]
        log.warning("Slack live events (connection %s): %s", self.conn.id, text)
        self._save(state="reconnecting", error=text, error_at=_iso(datetime.now(UTC)))

    def _save(self, **values: Any) -> None:
        try:
            save_live_state(self.engine, self.conn.id, seen_at=_iso(datetime.now(UTC)), **values)
        except Exception:  # the status line is best effort; events matter more
            log.exception("could not record the live-events state of connection %s",
                          self.conn.id)

    # -- one envelope ----------------------------------------------------------------------

    def _handle(self, client: Any, request: Any) -> None:
        from slack_sdk.socket_mode.response import SocketModeResponse

        if request.type == "events_api":
            event = (request.payload or {}).get("event") or {}
            channel = event.get("channel") if isinstance(event, dict) else None
            if isinstance(channel, str):
                self.status.touch(channel)
            try:
                changed = self._save_event(event)
            except Exception as exc:  # not acked: Slack redelivers it
                self._failed(f"saving a {event.get('type')} event in {channel} failed: "
                             f"{type(exc).__name__}: {exc}")
                return
            if changed and self.on_saved:
                self.on_saved(changed)
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        self.acked += 1

    def _save_event(self, event: dict[str, Any]) -> int:
        from threadline.connectors.slack_api_events import save_event

        mapper = self._event_mapper(event.get("channel"))
        source_id = self.conn.source_id
        if source_id is None:
            raise RuntimeError("the connection has no source yet; run `threadline sync` once")
        counts = save_event(self.engine, source_id, mapper, event)
        return counts.added + counts.updated + counts.deleted

    def _event_mapper(self, channel: object) -> Any:
        """Names and members from the connection's cursor; reloaded for a new conversation."""
        from threadline.connectors.slack_api_events import EventMapper

        known = self._mapper is not None and channel in self._mapper.conversations
        if self._mapper is None or (not known and time.monotonic() - self._mapper_at > 30):
            fresh = get_connection(self.engine, self.conn.id)
            self.conn = fresh
            max_recipients = fresh.options.get("max_recipients")
            self._mapper = (EventMapper(fresh.cursor, max_recipients)
                            if isinstance(max_recipients, int) else EventMapper(fresh.cursor))
            self._mapper_at = time.monotonic()
        return self._mapper


class LiveHub:
    """Starts a SlackLiveEvents per Slack connection with an app token; stops them all."""

    def __init__(self, engine: Engine, *, load: Callable[[str], dict[str, Any]] | None = None,
                 recheck: float = 300.0, **listener_options: Any) -> None:
        self.engine = engine
        self._load = load
        self.recheck = recheck
        self.listener_options = listener_options
        self.listeners: dict[int, SlackLiveEvents] = {}
        self._checked: dict[int, float] = {}
        self._saved = 0
        self._lock = threading.Lock()

    def _secrets(self, ref: str) -> dict[str, Any]:
        if self._load is not None:
            return self._load(ref)
        from threadline.connectors.credentials import load_secrets

        return load_secrets(ref)

    def ensure(self, conns: list[Connection]) -> None:
        for conn in conns:
            running = self.listeners.get(conn.id)
            if conn.status == "paused" or conn.name != "slack":
                if running:
                    running.stop()
                    del self.listeners[conn.id]
                continue
            last = self._checked.get(conn.id)
            if running or conn.source_id is None or (
                last is not None and time.monotonic() - last < self.recheck
            ):
                continue
            self._checked[conn.id] = time.monotonic()
            try:
                secrets = self._secrets(conn.secret_ref)
            except Exception:  # the sync pass reports missing credentials itself
                continue
            if isinstance(secrets.get("app_token"), str) and secrets["app_token"]:
                self.listeners[conn.id] = SlackLiveEvents(
                    self.engine, conn, secrets, on_saved=self._count, **self.listener_options
                ).start()

    def _count(self, changed: int) -> None:
        with self._lock:
            self._saved += changed

    def take_saved(self) -> int:
        """Items live events changed since the last call: the scheduler folds them."""
        with self._lock:
            saved, self._saved = self._saved, 0
            return saved

    def stop(self) -> None:
        for listener in self.listeners.values():
            listener.stop_event.set()
        for listener in self.listeners.values():
            listener.stop()
        self.listeners.clear()
