"""The timeline folder: facts about what changed and when, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.runner import run_import
from threadline.context.accumulate import accumulate
from threadline.context.as_of import changes_between, facts_about, item_as_of, world_as_of
from threadline.context.timeline import TimelineFolder
from threadline.ids import event_id, instance_start
from threadline.records import IdentityRef, ItemRecord, Platform, Record, SourceInfo
from threadline.store.context_schema import client, fact, item_client, item_date
from threadline.store.schema import item
from threadline.store.writer import utcnow

LONDON = ZoneInfo("Europe/London")
UID = "weekly-review@northwind"
SERIES = f"event-series:{UID}"
THU_19 = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
TUE_17 = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
JANE = IdentityRef(kind="slack", value="U1", display_name="Jane")


class ListImporter:
    name = "test-list"

    def __init__(self, records: list[Record], platform: Platform) -> None:
        self.records = records
        self.platform = platform

    def source(self) -> SourceInfo:
        return SourceInfo(platform=self.platform, kind="test-list", account="T1")

    def estimate(self) -> int | None:
        return len(self.records)

    def read(self) -> Iterator[Record]:
        yield from self.records


def load(engine: Engine, records: list[ItemRecord]) -> None:
    for platform in sorted({r.platform for r in records}):
        batch: list[Record] = [r for r in records if r.platform == platform]
        run_import(engine, ListImporter(batch, platform), Path("x"))


def fold(engine: Engine, *, rebuild: bool = False, chunk_size: int = 1000) -> None:
    accumulate(engine, folders=[TimelineFolder(tz=LONDON)], rebuild=rebuild, chunk_size=chunk_size)


def instance(
    original: datetime,
    *,
    start: datetime | None = None,
    title: str = "Weekly review",
    override: bool = False,
    cancelled: bool = False,
    modified: datetime = datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
) -> ItemRecord:
    start = start or original
    native = {"uid": UID, "instance_start": instance_start(original), "sequence": "0"}
    ics = "BEGIN:VEVENT\nRRULE:FREQ=WEEKLY;BYDAY=TH\nEND:VEVENT"
    if override:
        native["recurrence_id"] = instance_start(original)
        ics = f"BEGIN:VEVENT\nRECURRENCE-ID:{instance_start(original)}\nEND:VEVENT"
    return ItemRecord(
        platform="calendar",
        kind="event",
        canonical_id=event_id(UID, original),
        native=native,
        container_id="Work",
        thread_id=SERIES,
        created_at=datetime(2026, 10, 1, tzinfo=UTC),
        updated_at=modified,
        occurred_at=start,
        title=title,
        text=f"When: {start:%Y-%m-%d %H:%M}",
        raw={"ics": ics, "instance_start": instance_start(start)},
        deleted=cancelled,
    )


def series(*changed: ItemRecord) -> list[ItemRecord]:
    plain = {
        r.canonical_id: r
        for r in (instance(THU_19 + timedelta(weeks=n)) for n in (-1, 0, 1))
    }
    plain.update({r.canonical_id: r for r in changed})
    return list(plain.values())


def message(ts: str, text: str, when: datetime, *, thread: str | None = None,
            edited: datetime | None = None, deleted: bool = False) -> ItemRecord:
    return ItemRecord(
        platform="slack",
        kind="message",
        canonical_id=f"slack:C1:{ts}",
        native={"channel": "C1", "ts": ts},
        container_id="C1",
        container_name="#acme",
        thread_id=thread,
        author=JANE,
        created_at=when,
        updated_at=edited,
        occurred_at=when,
        text=text,
        deleted=deleted,
    )


def row(status: str, edited: datetime) -> ItemRecord:
    props = {"Name": "Launch checklist", "Status": status, "Owner": "Jane"}
    return ItemRecord(
        platform="notion",
        kind="row",
        canonical_id="notion:11111111-2222-3333-4444-555555555555",
        container_id="tasks",
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
        updated_at=edited,
        occurred_at=edited,
        title="Launch checklist",
        text="\n".join(f"{k}: {v}" for k, v in props.items() if k != "Name"),
        raw={"properties": props},
    )


def facts(engine: Engine, subject: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [(f.attribute, f.previous, f.value) for f in facts_about(conn, subject)]


LAST_START = THU_19 + timedelta(weeks=1)
MOVED = event_id(UID, THU_19)
LAST = event_id(UID, LAST_START)
SUMMARY = "Weekly review (Thu 19 Nov 15:00) moved to Tue 17 Nov 10:00 and renamed Crisis call"


def test_moved_renamed_cancelled_across_two_imports(store: Engine) -> None:
    load(store, series())
    fold(store)
    between = utcnow()
    time.sleep(0.01)
    crisis = instance(THU_19, start=TUE_17, title="Crisis call", override=True, modified=MONDAY)
    gone = instance(LAST_START, cancelled=True, override=True, modified=MONDAY)
    load(store, series(crisis, gone))
    fold(store)

    assert sorted(facts(store, MOVED)) == [
        ("start", "2026-11-19T15:00:00Z", "2026-11-17T10:00:00Z"),
        ("title", "Weekly review", "Crisis call"),
    ]
    assert facts(store, LAST) == [("status", "scheduled", "cancelled")]
    with store.connect() as conn:
        week = changes_between(conn, MONDAY, MONDAY + timedelta(days=7), tz=LONDON)
        before = world_as_of(conn, between, MONDAY, MONDAY + timedelta(days=14))
        after = world_as_of(conn, utcnow(), MONDAY, MONDAY + timedelta(days=14))
        moved_then = item_as_of(conn, MOVED, MONDAY - timedelta(hours=1))
        moved_now = item_as_of(conn, MOVED, MONDAY + timedelta(hours=1))
    assert [(c.summary, c.citations) for c in week] == [
        (SUMMARY, [MOVED]),
        ("Weekly review (Thu 26 Nov 15:00) cancelled", [LAST]),
    ]
    assert [(e.title, e.start, e.cancelled) for e in before] == [
        ("Weekly review", THU_19, False),
        ("Weekly review", THU_19 + timedelta(weeks=1), False),
    ]
    assert [(e.title, e.start, e.cancelled) for e in after] == [
        ("Crisis call", TUE_17, False),
        ("Weekly review", THU_19 + timedelta(weeks=1), True),
    ]
    assert after[0].facts and not before[0].facts
    assert moved_then is not None and moved_then.occurred_at == THU_19
    assert moved_now is not None and (moved_now.title, moved_now.occurred_at) == (
        "Crisis call",
        TUE_17,
    )

    # A third export restores the cancelled instance: the restore supersedes the cancellation.
    restored_at = MONDAY + timedelta(days=1)
    load(store, series(crisis, instance(LAST_START, modified=restored_at)))
    fold(store)
    with store.connect() as conn:
        chain = facts_about(conn, LAST)
    assert [(f.value, f.valid_from) for f in chain] == [
        ("cancelled", MONDAY),
        ("scheduled", restored_at),
    ]
    assert chain[1].detail["change"] == "restored" and chain[1].supersedes_id == chain[0].id
    assert chain[0].expired_at == chain[1].recorded_at and chain[0].valid_to == restored_at
    assert chain[1].expired_at is None


def test_single_import_override_differs_from_its_series(store: Engine) -> None:
    crisis = instance(THU_19, start=TUE_17, title="Crisis call", override=True, modified=MONDAY)
    load(store, series(crisis))
    fold(store)
    with store.connect() as conn:
        week = changes_between(conn, MONDAY, MONDAY + timedelta(days=7), tz=LONDON)
        moved = facts_about(conn, MOVED)
        # Changed on Monday, but it is about Thursday's slot: a Thursday-only span shows it.
        thursday = changes_between(conn, THU_19 - timedelta(hours=1), THU_19 + timedelta(hours=1))
        next_week = changes_between(conn, MONDAY + timedelta(days=7), MONDAY + timedelta(days=14))
    assert [(c.summary, c.citations) for c in week] == [(SUMMARY, [MOVED])]
    assert [c.summary for c in thursday] == [SUMMARY] and next_week == []
    assert {f.detail["source"] for f in moved} == {"override"}
    assert all(f.valid_from == MONDAY for f in moved)


def test_slack_edit_and_delete(store: Engine) -> None:
    sent = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    edit = sent + timedelta(hours=2)
    load(store, [message("1.1", "ship on Friday", sent)])
    load(store, [message("1.1", "ship on Monday", sent, edited=edit)])
    load(store, [message("1.1", "", sent, edited=edit + timedelta(hours=1), deleted=True)])
    fold(store)
    assert facts(store, "slack:C1:1.1") == [
        ("text", "ship on Friday", "ship on Monday"),
        ("status", "present", "deleted"),
    ]
    with store.connect() as conn:
        early = item_as_of(conn, "slack:C1:1.1", sent + timedelta(hours=1))
        mid = item_as_of(conn, "slack:C1:1.1", edit + timedelta(minutes=30))
        late = item_as_of(conn, "slack:C1:1.1", edit + timedelta(hours=2))
        unborn = item_as_of(conn, "slack:C1:1.1", sent - timedelta(hours=1))
        entries = changes_between(conn, sent, sent + timedelta(days=1))
    assert early is not None and (early.text, early.deleted) == ("ship on Friday", False)
    assert mid is not None and (mid.text, mid.deleted) == ("ship on Monday", False)
    assert late is not None and late.deleted
    assert unborn is None
    assert [e.summary for e in entries] == [
        'Message edited: "ship on Friday" -> "ship on Monday"',
        "Message deleted",
    ]


def test_notion_status_change(store: Engine) -> None:
    load(store, [row("In progress", datetime(2026, 11, 16, 10, tzinfo=UTC))])
    load(store, [row("Done", datetime(2026, 11, 19, 16, tzinfo=UTC))])
    fold(store)
    subject = "notion:11111111-2222-3333-4444-555555555555"
    assert facts(store, subject) == [("property:Status", "In progress", "Done")]
    with store.connect() as conn:
        [entry] = changes_between(conn, MONDAY, MONDAY + timedelta(days=7))
    assert entry.summary == "Notion page Status In progress -> Done"
    assert entry.at == datetime(2026, 11, 19, 16, tzinfo=UTC)


def test_decisions_supersede_and_deadlines_resolve(store: Engine) -> None:
    wednesday = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
    thread = "slack:C1:2.1"
    load(store, [
        message("2.1", "We decided to go with the soft launch.", wednesday, thread=thread),
        message("2.2", "Please send the copy by EOD Friday.", wednesday + timedelta(hours=1),
                thread=thread),
        message("2.3", "Change of plan: going with the big-bang switch-over.",
                wednesday + timedelta(days=1), thread=thread),
        message("2.4", "Timeout was 2s instead of 20s.", wednesday, thread=thread),
    ])
    fold(store)
    with store.connect() as conn:
        chain = [f for f in facts_about(conn, thread) if f.kind == "decision"]
        due = [f for f in facts_about(conn, thread) if f.kind == "due"]
        dates = conn.execute(
            select(item_date.c.phrase, item_date.c.resolved, item_date.c.granularity)
        ).all()
        entries = changes_between(conn, wednesday, wednesday + timedelta(days=2))
    assert [f.value for f in chain] == [
        "We decided to go with the soft launch.",
        "Change of plan: going with the big-bang switch-over.",
    ]
    assert chain[1].supersedes_id == chain[0].id and chain[0].supersedes_id is None
    assert chain[0].expired_at is not None and chain[0].valid_to == chain[1].valid_from
    assert chain[1].previous == chain[0].value
    assert [tuple(d) for d in dates] == [
        ("EOD Friday", datetime(2026, 11, 20, 17, 0, tzinfo=UTC), "time")
    ]
    assert [(f.value, f.item) for f in due] == [("2026-11-20T17:00:00Z", "slack:C1:2.2")]
    decisions = [e for e in entries if e.kind == "decision"]
    assert decisions[1].citations == ["slack:C1:2.3", "slack:C1:2.1"]


def snapshot(engine: Engine) -> tuple[list[Any], list[Any]]:
    """Derived tables without their surrogate ids, which a rebuild renumbers."""
    with engine.connect() as conn:
        ids = {r.id: r.canonical_id for r in conn.execute(select(item.c.id, item.c.canonical_id))}
        rows = conn.execute(select(fact)).all()
        key = {
            r.id: (r.subject, r.attribute, r.value, r.valid_from, ids.get(r.item_id))
            for r in rows
        }
        facts_ = sorted(
            (
                r.subject, r.kind, r.attribute, r.value, r.previous, r.valid_from, r.valid_to,
                r.recorded_at, r.expired_at, ids.get(r.item_id), key.get(r.supersedes_id),
                json.dumps(r.detail, sort_keys=True),
            )
            for r in rows
        )
        dates = sorted(
            (ids[r.item_id], r.phrase, r.resolved, r.granularity)
            for r in conn.execute(select(item_date))
        )
    return facts_, dates


def test_incremental_in_three_batches_equals_rebuild(store: Engine) -> None:
    wed = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
    crisis = instance(THU_19, start=TUE_17, title="Crisis call", override=True, modified=MONDAY)
    batches = [
        [crisis, message("3.1", "We agreed to ship by EOD Friday.", wed, thread="slack:C1:3.1"),
         row("In progress", MONDAY)],
        [*series(crisis), message("3.2", "Going with Monday instead, next Tuesday at the latest.",
                                  wed + timedelta(hours=3), thread="slack:C1:3.1"),
         message("3.1", "We agreed to ship by EOD Thursday.", wed, thread="slack:C1:3.1",
                 edited=wed + timedelta(hours=1))],
        [*series(instance(THU_19, start=THU_19 + timedelta(hours=1), title="Crisis call",
                          override=True, modified=MONDAY + timedelta(days=1)),
                 instance(LAST_START, cancelled=True, override=True, modified=MONDAY)),
         row("Done", MONDAY + timedelta(days=2))],
    ]
    titles = []
    for batch in batches:
        load(store, batch)
        fold(store, chunk_size=2)
        titles.append([f for f in facts(store, MOVED) if f[0] == "title"])
    # The override came before its series: its rename shows once the series' title is known.
    assert titles[0] == [] and titles[1] == [("title", "Weekly review", "Crisis call")]
    incremental = snapshot(store)
    fold(store)  # nothing pending: folding again changes nothing
    assert snapshot(store) == incremental
    fold(store, rebuild=True)
    assert snapshot(store) == incremental
    # Any order of arrival: fold the items one at a time, newest first.
    folder = TimelineFolder(tz=LONDON)
    with store.begin() as conn:
        folder.reset(conn)
        for item_id in sorted(conn.execute(select(item.c.id)).scalars(), reverse=True):
            folder.fold(conn, [item_id], utcnow())
            folder.fold(conn, [item_id], utcnow())
    assert snapshot(store) == incremental
    facts_, dates = incremental
    assert len(dates) >= 3
    assert {f[2] for f in facts_} >= {"start", "title", "status", "text", "decision", "due",
                                      "property:Status"}
    with store.connect() as conn:
        linked = conn.execute(select(fact.c.id).where(fact.c.supersedes_id.is_not(None))).all()
    assert linked


def test_timeline_command(store: Engine, monkeypatch: Any) -> None:
    crisis = instance(THU_19, start=TUE_17, title="Crisis call", override=True, modified=MONDAY)
    load(store, [*series(crisis), message("4.1", "Deadline is EOD Friday", MONDAY)])
    fold(store)
    with store.begin() as conn:
        conn.execute(client.insert().values(name="Acme Corp", origin="config", rules={},
                                            created_at=utcnow()))
        acme = conn.execute(select(client.c.id)).scalar_one()
        event = conn.execute(select(item.c.id).where(item.c.canonical_id == MOVED)).scalar_one()
        conn.execute(item_client.insert().values(item_id=event, client_id=acme, rule="t",
                                                 detail=""))
    monkeypatch.setenv("THREADLINE_TZ", "Europe/London")
    db = store.url.render_as_string(hide_password=False)
    runner = CliRunner()
    every = runner.invoke(app, ["--db", db, "timeline", "--since", "2026-11-16"])
    acme_only = runner.invoke(app, ["--db", db, "timeline", "--client", "acme corp", "--json"])
    unknown = runner.invoke(app, ["--db", db, "timeline", "--client", "Globex"])
    too_early = runner.invoke(app, ["--db", db, "timeline", "--as-of", "2020-01-01", "--json"])
    assert every.exit_code == 0, every.output
    assert SUMMARY in every.output and MOVED in every.output
    assert 'Due Fri 20 Nov 17:00 ("EOD Friday")  [slack:C1:4.1]' in every.output
    assert acme_only.exit_code == 0, acme_only.output
    assert [(c["summary"], c["citations"]) for c in json.loads(acme_only.stdout)] == [
        (SUMMARY, [MOVED])
    ]
    assert unknown.exit_code == 1 and "Acme Corp" in unknown.output
    assert json.loads(too_early.stdout) == []


def test_a_decision_line_with_a_colon_is_a_decision() -> None:
    from threadline.context.temporal_facts import _decision_sentence

    assert _decision_sentence("Decision: we go with Contentful for the CMS.") is not None
    assert _decision_sentence("Decisions are hard on Fridays.") is None
