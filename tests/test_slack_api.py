"""The live Slack connector through the real slack_sdk WebClient against a local fake API."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.slack_server import FIXTURES, Conv, FakeSlack, SlackWorkspace, fixture
from sqlalchemy import Engine, select

from threadline.cli.connect import status_line
from threadline.connectors.connections import (
    create_connection,
    get_connection,
    update_connection,
)
from threadline.connectors.engine import SyncSummary, sync_connection
from threadline.connectors.request_runner import RetryPolicy
from threadline.connectors.runner import ensure_source
from threadline.connectors.slack_export import SlackExportImporter
from threadline.sample import generate_workspace
from threadline.store.schema import identity, item, item_version
from threadline.store.writer import StoreWriter, utcnow

TOKEN = "xoxb-test-secret-token"
NOW = 1_800_000_000
FAST = {"*": {"per_minute": 1e7, "burst": 1000}}
DAY = 86400


def ts(seconds_ago: float, n: int = 0) -> str:
    return f"{NOW - seconds_ago:.0f}.{n:06d}"


def small_workspace() -> SlackWorkspace:
    ws = SlackWorkspace(team="T0SMALL", domain="small", self_user="U1")
    ws.users = [
        {"id": "U1", "team_id": "T0SMALL", "name": "ann", "real_name": "Ann Lee",
         "profile": {"email": "ann@example.com", "real_name": "Ann Lee"}},
        {"id": "U2", "team_id": "T0SMALL", "name": "bo", "real_name": "Bo Chan",
         "profile": {"email": "bo@example.com", "real_name": "Bo Chan"}},
    ]
    general = Conv("C1", "channel", {"id": "C1", "name": "general", "members": ["U1", "U2"]})
    dm = Conv("D1", "dm", {"id": "D1", "members": ["U1", "U2"]})
    ws.convs = {"C1": general, "D1": dm}
    ws.post("C1", "ten days ago", ts(10 * DAY), "U1")
    ws.post("C1", "five days ago, a thread", ts(5 * DAY), "U2")
    ws.post("C1", "a reply four days ago", ts(4 * DAY), "U1", thread_ts=ts(5 * DAY))
    ws.post("C1", "yesterday <@U2>", ts(DAY), "U1")
    ws.post("C1", "an hour ago", ts(3600), "U2")
    ws.post("D1", "a DM", ts(7200), "U2")
    return ws


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(small_workspace(), token=TOKEN) as server:
        yield server


def connect(engine: Engine, fake: FakeSlack, **options: Any) -> int:
    opts = {"now": NOW, "budgets": FAST, **options}
    conn = create_connection(engine, name="slack", platform="slack",
                             account=fake.workspace.team, api_url=fake.url, options=opts)
    return conn.id


def run(engine: Engine, conn_id: int, sleeps: list[float] | None = None,
        attempts: int = 4) -> SyncSummary:
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    return sync_connection(engine, conn_id, secrets={"token": TOKEN}, sleep=record,
                           policy=RetryPolicy(max_attempts=attempts, base_seconds=0.001))


def items(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.canonical_id: r for r in conn.execute(select(item))}


# -- convergence with the export importer ---------------------------------------------------


def test_sample_workspace_synced_live_equals_its_export_import(
    tmp_path: Path, sqlite_store: Engine
) -> None:
    manifest = generate_workspace(tmp_path / "ws", seed=11, weeks=1, scale=1)
    export = manifest.files["slack"]
    workspace = SlackWorkspace.from_export(export, domain="northwind")
    with FakeSlack(workspace, token=TOKEN) as server:
        conn_id = connect(sqlite_store, server, now=NOW)
        summary = run(sqlite_store, conn_id)
    assert summary.status == "ok", summary.error
    assert summary.counts.added == workspace.message_count() == manifest.counts["slack"]

    imported = tmp_path / "imported.db"
    from threadline.store import open_store

    other = open_store(str(imported))
    importer = SlackExportImporter(export, domain="northwind")
    # The importer's records through the one save path (run_import adds only bookkeeping).
    writer = StoreWriter(ensure_source(other, importer.source()))
    with other.begin() as conn:
        writer.save(conn, list(importer.read()), utcnow())
    live, exported = items(sqlite_store), items(other)
    assert set(live) == set(exported)
    fields = ("content_hash", "text", "author_key", "thread_id", "occurred_at",
              "container_id", "container_name", "recipients", "permalink", "deleted")
    for cid, row in exported.items():
        for name in fields:
            assert getattr(live[cid], name) == getattr(row, name), (cid, name)
    with sqlite_store.connect() as a, other.connect() as b:
        ids_live = {r.key: (r.display_name, r.profile) for r in a.execute(select(identity))}
        ids_export = {r.key: (r.display_name, r.profile) for r in b.execute(select(identity))}
    assert ids_live == ids_export
    other.dispose()


def test_real_slack_example_payloads_map_to_records(sqlite_store: Engine) -> None:
    """Slack's own example responses (slack-api-specs) served as a workspace."""
    ws = SlackWorkspace(team="T12345678", domain="subarachnoid", self_user="W12345678")
    ws.users = fixture("users.list")["members"]
    channel = fixture("conversations.list")["channels"][0]
    entry = {**channel, "members": fixture("conversations.members")["members"]}
    conv = Conv(channel["id"], "channel", entry)
    for message in (fixture("conversations.history")["messages"]
                    + fixture("conversations.replies")["messages"]):
        conv.messages[message["ts"]] = message
    union = json.loads(gzip.decompress((FIXTURES / "java-union-conversations.history.json.gz")
                                       .read_bytes()))
    # The SDK's union sample masks every ts as zeros: give it a real one to be stored.
    for message in union["messages"]:
        conv.messages["1600000000.000001"] = {**message, "ts": "1600000000.000001",
                                              "thread_ts": "1600000000.000001", "reply_count": 0}
    ws.convs = {conv.id: conv}
    with FakeSlack(ws, token=TOKEN) as server:
        summary = run(sqlite_store, connect(sqlite_store, server))
    assert summary.status == "ok", summary.error
    stored = items(sqlite_store)
    first = stored["slack:C012AB3CD:1512085950.000216"]
    assert first.text == "I find you punny and would like to smell your nose letter"
    assert first.author_key == "slack:U012AB3CDE"
    assert first.container_name == "#general"
    assert first.permalink.startswith("https://subarachnoid.slack.com/archives/C012AB3CD/p")
    reply = stored["slack:C012AB3CD:1483037603.017503"]
    assert reply.text == "one island"
    assert reply.thread_id == "slack:C012AB3CD:1482960137.003543"
    assert "slack:C012AB3CD:1600000000.000001" in stored
    with sqlite_store.connect() as conn:
        egon = conn.execute(select(identity).where(identity.c.key == "slack:W012A3CDE")).one()
    assert egon.profile["email"] == "spengler@ghostbusters.example.com"


# -- incremental passes ---------------------------------------------------------------------


def test_incremental_pass_finds_new_edited_deleted_and_late_replies(
    sqlite_store: Engine, fake: FakeSlack
) -> None:
    conn_id = connect(sqlite_store, fake)
    first = run(sqlite_store, conn_id)
    assert first.status == "ok" and first.counts.added == 6

    ws = fake.workspace
    ws.post("C1", "new since last pass", ts(60), "U2")
    ws.post("C1", "late reply to the 5-day-old thread", ts(30), "U2", thread_ts=ts(5 * DAY))
    ws.edit("C1", ts(DAY), "yesterday, edited", edited_ts=ts(120))
    ws.delete("C1", ts(3600))
    ws.delete("C1", ts(10 * DAY))  # outside the reconciliation window: not looked for
    second = run(sqlite_store, conn_id)  # within the hour: a light pass, new messages only
    assert second.status == "ok", second.error
    assert (second.counts.added, second.counts.updated, second.counts.deleted) == (1, 0, 0)
    assert items(sqlite_store)[f"slack:C1:{ts(60)}"].text == "new since last pass"

    set_now(sqlite_store, conn_id, NOW + 3600)  # the hourly sweep is due
    third = run(sqlite_store, conn_id)
    assert third.status == "ok", third.error
    c = third.counts
    assert (c.added, c.updated, c.deleted) == (1, 1, 1)

    stored = items(sqlite_store)
    late = stored[f"slack:C1:{ts(30)}"]
    assert late.thread_id == f"slack:C1:{ts(5 * DAY)}"
    assert stored[f"slack:C1:{ts(DAY)}"].text == "yesterday, edited"
    gone = stored[f"slack:C1:{ts(3600)}"]
    assert gone.deleted and gone.version == 2
    with sqlite_store.connect() as conn:
        versions = conn.execute(select(item_version.c.change, item_version.c.text)).all()
    assert ("deleted", "an hour ago") in [tuple(v) for v in versions]
    assert ("edited", "yesterday @Bo Chan") in [tuple(v) for v in versions]

    before = fake.count()
    light = run(sqlite_store, conn_id)
    assert (light.counts.added, light.counts.updated, light.counts.deleted) == (0, 0, 0)
    # Nothing changed, no sweep due: one listing, one history read per conversation.
    assert fake.count() - before == light.requests == 3
    set_now(sqlite_store, conn_id, NOW + 7200)
    sweep = run(sqlite_store, conn_id)
    assert (sweep.counts.added, sweep.counts.updated, sweep.counts.deleted) == (0, 0, 0)
    # A sweep re-reads the windows too: and the one thread active within the thread window.
    assert sweep.requests == 4


def set_now(engine: Engine, conn_id: int, now: float) -> None:
    options = get_connection(engine, conn_id).options
    update_connection(engine, conn_id, options={**options, "now": now})


# -- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "500", "truncated", "timeout"])
def test_transient_faults_are_retried_and_nothing_is_lost(
    sqlite_store: Engine, fake: FakeSlack, kind: str
) -> None:
    conn_id = connect(sqlite_store, fake, timeout=1)
    fake.inject("conversations.history", kind, times=2, retry_after=7 if kind == "429" else 1.2)
    sleeps: list[float] = []
    summary = run(sqlite_store, conn_id, sleeps)
    assert summary.status == "ok", summary.error
    assert summary.counts.added == 6
    if kind == "429":
        assert sleeps.count(7.0) == 2  # the server's Retry-After, honoured exactly
    assert fake.count("conversations.history") == 2 + 2


def test_retries_exhausted_records_the_error_and_the_next_pass_completes(
    sqlite_store: Engine, fake: FakeSlack
) -> None:
    conn_id = connect(sqlite_store, fake)
    fake.inject("conversations.history", "500", times=3)
    failed = run(sqlite_store, conn_id, attempts=3)
    assert failed.status == "error"
    assert "conversations.history" in (failed.error or "")
    assert "gave up after 3 attempts" in (failed.error or "")
    conn = get_connection(sqlite_store, conn_id)
    assert conn.status == "error" and conn.last_error == failed.error
    assert conn.cursor and conn.cursor["users_done"]  # what was read is checkpointed
    retry = run(sqlite_store, conn_id)
    assert retry.status == "ok" and len(items(sqlite_store)) == 6


def test_revoked_token_is_reported_with_the_fix_and_no_secret(
    sqlite_store: Engine, fake: FakeSlack
) -> None:
    conn_id = connect(sqlite_store, fake)
    fake.inject("conversations.history", "revoked")
    summary = run(sqlite_store, conn_id)
    assert summary.status == "auth"
    assert "token_revoked" in (summary.error or "")
    assert "threadline connect slack --token NEW" in (summary.error or "")
    conn = get_connection(sqlite_store, conn_id)
    assert status_line(conn) == "token revoked: run threadline connect slack --token NEW"
    assert TOKEN not in (conn.last_error or "") and TOKEN not in json.dumps(conn.cursor)


def test_expired_page_cursor_restarts_the_conversation(
    sqlite_store: Engine, fake: FakeSlack
) -> None:
    class Crash(BaseException):
        pass

    conn_id = connect(sqlite_store, fake, page_size=1)
    pages = 0

    def crash_after_a_history_page(event: Any) -> None:
        nonlocal pages
        pages += 1
        if event.note.startswith("#general") and pages > 3:
            raise Crash

    with pytest.raises(Crash):
        sync_connection(sqlite_store, conn_id, secrets={"token": TOKEN},
                        progress=crash_after_a_history_page)
    cursor = get_connection(sqlite_store, conn_id).cursor
    assert cursor and cursor["channels"]["C1"]["page"]  # stopped mid-conversation
    fake.inject("conversations.history", "invalid_cursor")
    summary = run(sqlite_store, conn_id)
    assert summary.status == "ok", summary.error
    assert len(items(sqlite_store)) == 6


def test_repeating_pagination_cursor_stops_that_conversation_only(
    sqlite_store: Engine, fake: FakeSlack
) -> None:
    conn_id = connect(sqlite_store, fake, page_size=1)
    fake.inject("conversations.history", "repeat_cursor", times=3)
    summary = run(sqlite_store, conn_id)
    assert summary.status == "error"
    assert "same page cursor twice" in (summary.error or "")
    assert f"slack:D1:{ts(7200)}" in items(sqlite_store)  # the other conversation synced
    assert run(sqlite_store, conn_id).status == "ok"
    assert len(items(sqlite_store)) == 6


def test_conversation_types_follow_granted_scopes(sqlite_store: Engine) -> None:
    with FakeSlack(small_workspace(), token=TOKEN,
                   scopes="channels:read,channels:history,users:read") as server:
        summary = run(sqlite_store, connect(sqlite_store, server))
        listed = [p for m, p in server.calls if m == "conversations.list"]
    assert summary.status == "ok"
    assert listed[0]["types"] == "public_channel"
    assert not any(cid.startswith("slack:D1") for cid in items(sqlite_store))


def test_non_marketplace_budget_completes_at_one_request_a_minute(
    sqlite_store: Engine, fake: FakeSlack
) -> None:
    conn = create_connection(sqlite_store, name="slack", platform="slack", account="T0SMALL",
                             api_url=fake.url, options={"now": NOW,
                                                        "rate_profile": "non_marketplace"})
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    summary = sync_connection(sqlite_store, conn.id, secrets={"token": TOKEN}, sleep=sleep,
                              clock=lambda: clock[0])
    assert summary.status == "ok" and summary.counts.added == 6
    limited = [p for m, p in fake.calls if m in ("conversations.history",
                                                 "conversations.replies")]
    assert {p["limit"] for p in limited} == {"15"}
    # One request a minute per method: the sync waited for its budget, it did not fail.
    history = fake.count("conversations.history")
    assert history == 2 and clock[0] >= (history - 1) * 60


def test_store_never_holds_the_token(sqlite_store: Engine, fake: FakeSlack,
                                     tmp_path: Path) -> None:
    run(sqlite_store, connect(sqlite_store, fake))
    db = sqlite_store.url.database
    assert db is not None
    sqlite_store.dispose()
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert TOKEN not in dump


# -- Socket Mode events ---------------------------------------------------------------------


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """An events_api payload, shaped as in java-slack-sdk's json-logs/samples/events/."""
    return {"token": "", "team_id": "T0SMALL", "api_app_id": "A1", "type": "event_callback",
            "event_id": "Ev1", "event_time": NOW, "event": event}


def test_live_events_map_through_the_same_mapper(sqlite_store: Engine, fake: FakeSlack) -> None:
    from threadline.connectors.slack_api_events import EventMapper, save_event

    conn_id = connect(sqlite_store, fake)
    run(sqlite_store, conn_id)
    conn = get_connection(sqlite_store, conn_id)
    assert conn.source_id is not None
    mapper = EventMapper(conn.cursor)
    new_ts = ts(10)
    posted = envelope({"type": "message", "channel": "C1", "user": "U2", "text": "live <@U1>",
                       "ts": new_ts, "event_ts": new_ts, "channel_type": "channel",
                       "client_msg_id": "x", "team": "T0SMALL"})
    counts = save_event(sqlite_store, conn.source_id, mapper, posted["event"])
    assert counts.added == 1
    changed = envelope({"type": "message", "subtype": "message_changed", "channel": "C1",
                        "hidden": True, "event_ts": ts(5), "ts": ts(5),
                        "message": {"type": "message", "user": "U2", "text": "live, edited",
                                    "ts": new_ts, "edited": {"user": "U2", "ts": ts(5)}},
                        "previous_message": {"type": "message", "user": "U2",
                                             "text": "live <@U1>", "ts": new_ts}})
    assert save_event(sqlite_store, conn.source_id, mapper, changed["event"]).updated == 1
    deleted = envelope({"type": "message", "subtype": "message_deleted", "channel": "C1",
                        "hidden": True, "deleted_ts": new_ts, "event_ts": ts(1), "ts": ts(1),
                        "previous_message": {"type": "message", "user": "U2",
                                             "text": "live, edited", "ts": new_ts}})
    assert save_event(sqlite_store, conn.source_id, mapper, deleted["event"]).deleted == 1
    row = items(sqlite_store)[f"slack:C1:{new_ts}"]
    assert row.deleted and row.version == 3 and row.container_name == "#general"
    # The next pass reads the channel without that message: nothing changes again.
    fake.workspace.post("C1", "live <@U1>", new_ts, "U2")
    fake.workspace.delete("C1", new_ts)
    assert run(sqlite_store, conn_id).counts.updated == 0
    assert mapper.records({"type": "reaction_added", "channel": "C1"}) == []
