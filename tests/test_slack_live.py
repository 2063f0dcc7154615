"""Slack live events over Socket Mode: slack_sdk's builtin SocketModeClient against a local
apps.connections.open (FakeSlack) and a local WebSocket server (fakes.slack_socket)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.slack_server import FakeSlack, SlackWorkspace
from fakes.slack_socket import SocketModeServer
from sqlalchemy import Engine, select

from threadline.connectors.connections import create_connection, get_connection
from threadline.connectors.engine import SyncSummary, sync_connection
from threadline.connectors.runner import ensure_source
from threadline.connectors.scheduler import Scheduler
from threadline.connectors.slack_api_live import LiveHub, SlackLiveEvents, live_line, live_status
from threadline.connectors.slack_export import SlackExportImporter
from threadline.sample import generate_workspace
from threadline.store.schema import item
from threadline.store.writer import StoreWriter, utcnow

TOKEN, APP_TOKEN = "xoxb-live-secret", "xapp-1-live-secret"
SECRETS = {"token": TOKEN, "app_token": APP_TOKEN}
FAST = {"*": {"per_minute": 1e7, "burst": 1000}}
NOW = 1_800_000_000


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def small() -> SlackWorkspace:
    from test_slack_api import small_workspace

    return small_workspace()


@pytest.fixture
def servers() -> Iterator[tuple[FakeSlack, SocketModeServer]]:
    with FakeSlack(small(), token=TOKEN) as fake, SocketModeServer() as socket:
        fake.app_tokens.add(APP_TOKEN)
        fake.socket_url = socket.url
        yield fake, socket


def connect(engine: Engine, fake: FakeSlack, now: float = NOW) -> int:
    conn = create_connection(engine, name="slack", platform="slack", account=fake.workspace.team,
                             api_url=fake.url, options={"now": now, "budgets": FAST})
    return conn.id


def run(engine: Engine, conn_id: int) -> SyncSummary:
    return sync_connection(engine, conn_id, secrets=SECRETS)


def events_api(envelope_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """A Socket Mode events_api envelope, shaped as Slack sends it."""
    return {"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
            "retry_attempt": 0, "retry_reason": "",
            "payload": {"token": "", "team_id": "T0", "api_app_id": "A1",
                        "type": "event_callback", "event_id": f"Ev{envelope_id}",
                        "event_time": NOW, "event": event}}


def rows(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.canonical_id: r for r in conn.execute(select(item))}


def test_event_lands_as_the_export_importer_would_store_it(
    tmp_path: Path, sqlite_store: Engine
) -> None:
    manifest = generate_workspace(tmp_path / "ws", seed=5, weeks=1, scale=1)
    export = manifest.files["slack"]
    workspace = SlackWorkspace.from_export(export, domain="northwind")
    conv, message = next(
        (c, m) for c in workspace.convs.values() if c.kind == "channel"
        for m in c.messages.values()
        if m.get("user") and not m.get("subtype") and not m.get("thread_ts")
    )
    del conv.messages[message["ts"]]  # posted after the first pass: only the event brings it
    with FakeSlack(workspace, token=TOKEN) as fake, SocketModeServer() as socket:
        fake.app_tokens.add(APP_TOKEN)
        fake.socket_url = socket.url
        conn_id = connect(sqlite_store, fake)
        assert run(sqlite_store, conn_id).status == "ok"
        listener = SlackLiveEvents(sqlite_store, get_connection(sqlite_store, conn_id), SECRETS,
                                   min_delay=0.01, poll=0.05).start()
        try:
            wait_for(lambda: socket.clients != [] and listener.status.current() is not None)
            event = {**message, "channel": conv.id, "event_ts": message["ts"],
                     "channel_type": "channel"}
            socket.send(events_api("e-1", event))
            assert socket.wait_ack("e-1") == {"envelope_id": "e-1"}
        finally:
            listener.stop()
    assert not listener.thread.is_alive()

    from threadline.store import open_store

    other = open_store(str(tmp_path / "imported.db"))
    importer = SlackExportImporter(export, domain="northwind")
    with other.begin() as conn:
        StoreWriter(ensure_source(other, importer.source())).save(
            conn, list(importer.read()), utcnow())
    cid = f"slack:{conv.id}:{message['ts']}"
    live, exported = rows(sqlite_store)[cid], rows(other)[cid]
    for name in ("content_hash", "text", "author_key", "thread_id", "occurred_at",
                 "container_name", "recipients", "permalink"):
        assert getattr(live, name) == getattr(exported, name), name
    other.dispose()


def test_reconnects_with_backoff_and_reports_its_state(
    sqlite_store: Engine, servers: tuple[FakeSlack, SocketModeServer]
) -> None:
    fake, socket = servers
    conn_id = connect(sqlite_store, fake)
    run(sqlite_store, conn_id)
    fake.inject("apps.connections.open", "500")
    listener = SlackLiveEvents(sqlite_store, get_connection(sqlite_store, conn_id), SECRETS,
                               min_delay=0.01, poll=0.05).start()
    try:
        wait_for(lambda: socket.connections == 1 and listener.status.current() is not None)
        first = listener.status.current()
        line = live_line(get_connection(sqlite_store, conn_id).options)
        assert line and line.startswith("live events: connected since ")
        assert "could not open Socket Mode" in line  # the 500 before it, with its time
        socket.drop()  # Slack closes the connection: a new session, a new URL
        wait_for(lambda: socket.connections == 2 and listener.status.current() not in
                 (None, first))
        assert fake.count("apps.connections.open") == 3
    finally:
        listener.stop()
    options = get_connection(sqlite_store, conn_id).options
    assert options["live"]["state"] == "stopped"
    assert APP_TOKEN not in str(options) and TOKEN not in str(options)
    assert "not running" in (live_line(options) or "")


def test_live_session_narrows_passes_to_touched_conversations(
    sqlite_store: Engine, servers: tuple[FakeSlack, SocketModeServer]
) -> None:
    fake, _socket = servers
    conn_id = connect(sqlite_store, fake)
    status = SlackLiveEvents(sqlite_store, get_connection(sqlite_store, conn_id), SECRETS).status
    status.open()  # as a connected session would; no socket needed for the planner
    assert run(sqlite_store, conn_id).counts.added == 6  # the full first pass
    before = fake.count()
    idle = run(sqlite_store, conn_id)
    assert idle.status == "ok" and idle.requests == 0 and fake.count() == before
    fake.workspace.post("C1", "seen live", f"{NOW - 5}.000000", "U2")
    status.touch("C1")
    touched = run(sqlite_store, conn_id)
    assert touched.requests == 1 and fake.calls[-1][0] == "conversations.history"
    assert touched.counts.added == 1  # (saved by the event in real life: then unchanged)
    status.close()
    status.open()  # a new session: events in between may be lost, so a full pass
    assert run(sqlite_store, conn_id).requests == 3
    assert run(sqlite_store, conn_id).requests == 0
    status.close()
    assert live_status(get_connection(sqlite_store, conn_id).secret_ref) is status


def test_run_opens_live_events_folds_them_and_stops_cleanly(
    sqlite_store: Engine, servers: tuple[FakeSlack, SocketModeServer]
) -> None:
    fake, socket = servers
    conn_id = connect(sqlite_store, fake)
    folded: list[int] = []
    hub = LiveHub(sqlite_store, load=lambda ref: SECRETS, min_delay=0.01, poll=0.05)
    scheduler = Scheduler(
        sqlite_store, sync=lambda eng, conn: sync_connection(eng, conn, secrets=SECRETS),
        accumulate=lambda eng: folded.append(1), autonomy=None, live=hub,
    )
    scheduler.run_once()  # the first pass (it made the source), then folded
    assert folded == [1]
    scheduler.run_once()  # the listener starts once the connection has its source
    listener = hub.listeners[conn_id]
    wait_for(lambda: listener.status.current() is not None and socket.clients != [])
    new_ts = f"{NOW - 1}.000100"
    socket.send(events_api("e-9", {"type": "message", "channel": "C1", "user": "U2",
                                   "text": "live hello", "ts": new_ts, "event_ts": new_ts,
                                   "channel_type": "channel"}))
    socket.wait_ack("e-9")
    assert rows(sqlite_store)[f"slack:C1:{new_ts}"].text == "live hello"
    scheduler.run_once()
    assert folded == [1, 1]  # the live change folded, though no pass was due
    scheduler.stop.set()
    scheduler.run()
    assert not listener.thread.is_alive() and hub.listeners == {}
    assert get_connection(sqlite_store, conn_id).options["live"]["state"] == "stopped"
