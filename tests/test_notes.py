"""Weekly notes: what lands in weekly_note, incremental equals rebuild, and the command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, select
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.context.accumulate import Folder, accumulate
from threadline.context.clients import ClientsFolder
from threadline.context.clients_config import ClientRule, ClientsConfig, DomainList
from threadline.context.note_model import NoteBody
from threadline.context.notes import NotesFolder
from threadline.context.people import PeopleFolder
from threadline.context.timeline import TimelineFolder
from threadline.ids import event_id, instance_start
from threadline.records import IdentityRef, ItemRecord, Platform, Record, SourceInfo
from threadline.sample import FILES, generate_workspace
from threadline.sample.clients_yaml import sample_clients_config
from threadline.store.context_schema import client, storyline, storyline_item, weekly_note
from threadline.store.schema import item
from threadline.store.writer import utcnow

UID = "acme-review@northwind"
THU_12 = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
THU_19 = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
TUE_17 = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
MON_16 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
JANE = IdentityRef(kind="slack", value="U1", display_name="Jane Doe")
JANE_MAIL = IdentityRef(kind="email", value="jane@northwind.example", display_name="Jane Doe")
TOM = IdentityRef(kind="email", value="tom@acme.example", display_name="Tom Baker")
CONFIG = ClientsConfig(
    me=DomainList(domains=["northwind.example"]),
    clients=[
        ClientRule(name="Acme Corp", aliases=["Acme"], domains=["acme.example"],
                   channels=["#acme"]),
        ClientRule(name="Globex", domains=["globex.example"], channels=["#globex"]),
    ],
)


class ListImporter:
    name = "test-list"

    def __init__(self, records: Sequence[Record], platform: Platform) -> None:
        self.records = list(records)
        self.platform = platform

    def source(self) -> SourceInfo:
        return SourceInfo(platform=self.platform, kind="test-list", account="T1")

    def estimate(self) -> int | None:
        return len(self.records)

    def read(self) -> Iterator[Record]:
        yield from self.records


class ThreadStorylines:
    """A stand-in storyline folder: one storyline per Slack thread, rebuilt from the thread."""

    name = "storylines"

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(storyline_item))
        conn.execute(delete(storyline))

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        threads = set(
            conn.execute(
                select(item.c.thread_id).where(
                    item.c.id.in_(list(item_ids)), item.c.platform == "slack",
                    item.c.thread_id.is_not(None),
                )
            ).scalars()
        )
        for thread in sorted(threads):
            rows = conn.execute(
                select(item.c.id, item.c.occurred_at, item.c.text)
                .where(item.c.thread_id == thread)
                .order_by(item.c.occurred_at)
            ).all()
            waiting = any("waiting" in r.text for r in rows)
            conn.execute(delete(storyline).where(storyline.c.key == thread))
            made = conn.execute(
                storyline.insert().values(
                    key=thread, title=f"Thread {thread}", status="waiting" if waiting else "open",
                    status_detail="waiting on Acme legal" if waiting else None,
                    first_at=rows[0].occurred_at, last_at=rows[-1].occurred_at,
                    participants=[], clients=["Acme Corp"], terms=[], created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key
            assert made is not None
            sid = made[0]
            conn.execute(delete(storyline_item).where(storyline_item.c.item_id.in_(
                [r.id for r in rows])))
            conn.execute(storyline_item.insert(), [
                {"storyline_id": sid, "item_id": r.id, "reason": "thread", "added_at": now}
                for r in rows
            ])


def folders() -> list[Folder]:
    return [PeopleFolder(), ClientsFolder(CONFIG), TimelineFolder(tz=UTC), ThreadStorylines(),
            NotesFolder()]


def slack(ts: str, text: str, when: datetime, *, channel: str = "#acme",
          thread: str | None = None) -> ItemRecord:
    cid = f"C{channel[1:].upper()}"
    return ItemRecord(
        platform="slack", kind="message", canonical_id=f"slack:{cid}:{ts}",
        native={"channel": cid, "ts": ts}, container_id=cid, container_name=channel,
        thread_id=thread, author=JANE, created_at=when, occurred_at=when, text=text,
    )


def review(original: datetime, *, start: datetime | None = None, title: str = "Acme review",
           override: bool = False, cancelled: bool = False,
           modified: datetime = datetime(2026, 11, 1, tzinfo=UTC)) -> ItemRecord:
    start = start or original
    native = {"uid": UID, "instance_start": instance_start(original), "sequence": "0"}
    ics = "BEGIN:VEVENT\nRRULE:FREQ=WEEKLY;BYDAY=TH\nEND:VEVENT"
    if override:
        native["recurrence_id"] = instance_start(original)
        ics = f"BEGIN:VEVENT\nRECURRENCE-ID:{instance_start(original)}\nEND:VEVENT"
    return ItemRecord(
        platform="calendar", kind="event", canonical_id=event_id(UID, original), native=native,
        container_id="jane@northwind.example", thread_id=f"event-series:{UID}",
        author=JANE_MAIL, recipients=[JANE_MAIL, TOM],
        created_at=datetime(2026, 10, 1, tzinfo=UTC), updated_at=modified, occurred_at=start,
        title=title, text=f"When: {start:%Y-%m-%d %H:%M}",
        raw={"ics": ics, "instance_start": instance_start(start)}, deleted=cancelled,
    )


def email(mid: str, subject: str, text: str, when: datetime, thread: str | None = None
          ) -> ItemRecord:
    return ItemRecord(
        platform="email", kind="email", canonical_id=f"email:{mid}", container_id=subject,
        container_name=subject, thread_id=thread or f"email-thread:{mid}", author=TOM,
        recipients=[JANE_MAIL], created_at=when, occurred_at=when, title=subject, text=text,
    )


def task(when: datetime) -> ItemRecord:
    props = {"Name": "Set up redirects", "Status": "Done", "Client": "Acme Corp"}
    return ItemRecord(
        platform="notion", kind="row", canonical_id="notion:11111111-2222-3333-4444-555555555555",
        container_id="tasks", container_name="Tasks", created_at=when, updated_at=when,
        occurred_at=when, title="Set up redirects",
        text="\n".join(f"{k}: {v}" for k, v in props.items() if k != "Name"),
        raw={"properties": props},
    )


BLOCKED = slack("1794800000.000001", "Checkout deploy is blocked on legal sign-off.",
                MON_16, thread="t-legal")
WAITING = slack("1794800100.000002", "Still waiting for Acme legal.", MON_16 + timedelta(hours=2),
                thread="t-legal")
DECIDED = slack("1794900000.000001", "We decided to go with Vercel for the hosting.",
                TUE_17 + timedelta(hours=3))
DUE = email("due-1@acme.example", "Photos", "We need the final photos by EOD Friday.",
            MON_16 + timedelta(hours=4))
OPS = slack("1794900500.000001", "Acme invoice is overdue again, chase finance.",
            TUE_17 + timedelta(hours=4), channel="#ops")
GLOBEX = slack("1794800000.000009", "Globex kickoff notes.", MON_16, channel="#globex")
EARLIER = slack("1794200000.000001", "Kickoff done, waiting on nothing.",
                THU_12 - timedelta(days=2))
FIRST_CALL = email("call-1@acme.example", "Hosting", "We decided to wait for legal.",
                   THU_12 - timedelta(days=6), thread="email-thread:hosting")
LEGAL_START = slack("1794500000.000001", "Sent the privacy copy to legal.", THU_12,
                    thread="t-legal")
SECOND_CALL = email("call-2@acme.example", "Re: Hosting", "We agreed to ship without the banner.",
                    TUE_17 + timedelta(hours=5), thread="email-thread:hosting")
MOVED = review(THU_19, start=TUE_17, title="Acme crisis call", override=True, modified=MON_16)
CANCELLED = review(THU_19 + timedelta(weeks=1), cancelled=True, override=True, modified=MON_16)


def batches() -> list[list[ItemRecord]]:
    # Each later batch reaches back: a message that makes an earlier week's storyline
    # waiting, a decision before one already folded, live instances of a series whose
    # cancelled one came first, then a meeting moved.
    return [
        [DECIDED, task(MON_16 + timedelta(days=1)), GLOBEX, SECOND_CALL, LEGAL_START, CANCELLED,
         DUE, EARLIER],
        [BLOCKED, WAITING, OPS],
        [FIRST_CALL],
        [review(THU_12), review(THU_19)],
        [MOVED],
    ]


def load(engine: Engine, records: Sequence[ItemRecord]) -> None:
    for platform in sorted({r.platform for r in records}):
        batch: list[Record] = [r for r in records if r.platform == platform]
        run_import(engine, ListImporter(batch, platform), Path("x"))


def notes(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(client.c.name, weekly_note.c.week, weekly_note.c.body, weekly_note.c.updated_at)
            .join(client, client.c.id == weekly_note.c.client_id)
        ).all()
    return {(r.name, r.week): {"body": r.body, "updated_at": r.updated_at} for r in rows}


def bodies(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: value["body"] for key, value in notes(engine).items()}


def entries(body: dict[str, Any], section: str) -> list[dict[str, Any]]:
    return NoteBody.model_validate(body).section(section).model_dump()["entries"]


def build(engine: Engine) -> Engine:
    for batch in batches():
        load(engine, batch)
        accumulate(engine, folders=folders())
    return engine


@pytest.fixture
def built(sqlite_store: Engine) -> Engine:
    return build(sqlite_store)


def test_incremental_in_batches_equals_rebuild(store: Engine) -> None:
    incremental = bodies(build(store))
    accumulate(store, folders=folders(), rebuild=True)
    assert bodies(store) == incremental
    assert ("Acme Corp", "2026-W47") in incremental and ("Globex", "2026-W47") in incremental
    # The same content on both engines.
    check_week_note(incremental[("Acme Corp", "2026-W47")])
    check_upcoming(incremental)
    check_cancelled(incremental)


def test_every_step_equals_a_rebuild_of_that_step(sqlite_store: Engine) -> None:
    for batch in batches():
        load(sqlite_store, batch)
        accumulate(sqlite_store, folders=folders())
        incremental = bodies(sqlite_store)
        accumulate(sqlite_store, folders=folders(), rebuild=True)
        assert bodies(sqlite_store) == incremental


@pytest.mark.parametrize("order", [(2, 1, 0, 3, 4), (3, 0, 2, 1, 4)])
def test_other_orders_of_arrival_equal_rebuild(
    sqlite_store: Engine, order: tuple[int, ...]
) -> None:
    given = batches()
    for batch in (given[n] for n in order):
        load(sqlite_store, batch)
        accumulate(sqlite_store, folders=folders(), chunk_size=3)
    incremental = bodies(sqlite_store)
    accumulate(sqlite_store, folders=folders(), rebuild=True)
    assert bodies(sqlite_store) == incremental


def check_week_note(body: dict[str, Any]) -> None:
    decisions = entries(body, "decisions")
    assert [e["citations"] for e in decisions] == [
        [DECIDED.canonical_id], [SECOND_CALL.canonical_id, FIRST_CALL.canonical_id]]
    assert "Vercel" in decisions[0]["text"]
    assert decisions[1]["text"] == (
        "Decision: We agreed to ship without the banner."
        " (replacing: We decided to wait for legal.)")
    changes = {e["text"]: e["citations"] for e in entries(body, "changes")}
    moved = [t for t in changes if "moved to Tue 17 Nov 10:00" in t]
    assert moved and changes[moved[0]] == [MOVED.canonical_id]
    assert "renamed Acme crisis call" in moved[0]
    assert changes["Completed: Set up redirects (Status: Done)"] == [task(MON_16).canonical_id]
    risks = entries(body, "risks")
    cited = {c for e in risks for c in e["citations"]}
    assert {BLOCKED.canonical_id, DUE.canonical_id} <= cited
    assert any("waiting on Acme legal" in e["text"] for e in risks)
    assert any(e["text"].startswith("Due Fri 20 Nov 17:00") for e in risks)
    stories = entries(body, "storylines")
    assert [e["detail"]["storyline"] for e in stories] == ["t-legal"]
    assert stories[0]["citations"] == [BLOCKED.canonical_id, WAITING.canonical_id]
    people = entries(body, "people")
    assert {k: e["detail"]["authored"] for e in people for k in e["detail"]["keys"]} == {
        "slack:U1": 3, "email:tom@acme.example": 2, "email:jane@northwind.example": 1}
    # The internal #ops line names Acme but is not Acme's conversation.
    every = NoteBody.model_validate(body).cited()
    assert OPS.canonical_id not in every
    sources = {s["id"]: s for s in body["sources"]}
    assert set(sources) == every
    assert sources[DECIDED.canonical_id]["container"] == "#acme"


def check_upcoming(stored: dict[tuple[str, str], dict[str, Any]]) -> None:
    upcoming = entries(stored[("Acme Corp", "2026-W46")], "upcoming")
    # At the end of W46 the review was still Thursday's; it moved on Monday 16th.
    assert [(e["text"], e["citations"][0]) for e in upcoming] == [
        ("Acme review: Thu 19 Nov 15:00 UTC", MOVED.canonical_id),
    ]
    assert upcoming[0]["detail"]["attendees"] == ["email:jane@northwind.example",
                                                   "email:tom@acme.example"]
    # W46's storyline reads as the thread stands now: waiting (a W47 message says so).
    story = entries(stored[("Acme Corp", "2026-W46")], "storylines")
    assert [e["detail"]["status"] for e in story] == ["waiting"]
    w47 = entries(stored[("Acme Corp", "2026-W47")], "upcoming")
    assert w47 == []  # the 26 Nov review was cancelled


def check_cancelled(stored: dict[tuple[str, str], dict[str, Any]]) -> None:
    changes = entries(stored[("Acme Corp", "2026-W48")], "changes")
    assert [(e["text"], e["citations"]) for e in changes] == [
        ("Acme review (Thu 26 Nov 15:00) cancelled", [CANCELLED.canonical_id]),
    ]


def test_refold_touches_only_affected_notes_and_keeps_unchanged_times(store: Engine) -> None:
    built = build(store)
    before = notes(built)
    time.sleep(0.01)
    # An internal line naming Acme: its note is built again and stays the same.
    load(built, [slack("1794950000.000001", "Acme lunch order?", TUE_17, channel="#ops")])
    accumulate(built, folders=folders())
    assert notes(built) == before
    # A new Acme message in W47 changes that note only.
    extra = slack("1794960000.000001", "Deploy slipping to Thursday.", TUE_17 + timedelta(hours=8))
    load(built, [extra])
    accumulate(built, folders=folders())
    after = notes(built)
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {("Acme Corp", "2026-W47")}
    assert after[("Acme Corp", "2026-W47")]["updated_at"] > before[("Acme Corp", "2026-W47")][
        "updated_at"]


def test_deleted_message_leaves_the_note_it_was_cited_in(sqlite_store: Engine) -> None:
    load(sqlite_store, [DECIDED, BLOCKED])
    accumulate(sqlite_store, folders=folders())
    gone = DECIDED.model_copy(update={"deleted": True, "text": ""})
    load(sqlite_store, [gone])
    accumulate(sqlite_store, folders=folders())
    incremental = bodies(sqlite_store)
    assert DECIDED.canonical_id not in NoteBody.model_validate(
        incremental[("Acme Corp", "2026-W47")]).cited()
    accumulate(sqlite_store, folders=folders(), rebuild=True)
    assert bodies(sqlite_store) == incremental


def test_context_command(built: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_TZ", "UTC")
    runner = CliRunner()
    url = str(built.url)
    shown = runner.invoke(app, ["--db", url, "context", "acme corp", "--week", "2026-W47"])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "Acme Corp — week 2026-W47" in out and "Decisions" in out and "Sources" in out
    decided = next(line for line in out.splitlines() if "Vercel" in line)
    number = decided.rsplit("[", 1)[1].rstrip("]")
    source = next(line for line in out.splitlines() if line.strip().startswith(f"[{number}] "))
    assert DECIDED.canonical_id in source and "#acme" in source and "Jane Doe" in source
    assert "Jane Doe" in out.split("Who was involved", 1)[1]

    as_json = runner.invoke(app, ["--db", url, "context", "Acme Corp", "--week", "2026-W47",
                                  "--json"])
    data = json.loads(as_json.stdout)
    assert data["body"]["week"] == "2026-W47" and data["updated_at"]
    assert DECIDED.canonical_id in {s["id"] for s in data["body"]["sources"]}

    unknown = runner.invoke(app, ["--db", url, "context", "Initech", "--week", "2026-W47"])
    assert unknown.exit_code == 1
    assert "no client named 'Initech'" in unknown.output
    assert "Acme Corp" in unknown.output and "Globex" in unknown.output


def test_as_of_shows_what_was_recorded_then(sqlite_store: Engine) -> None:
    *earlier, last = batches()
    load(sqlite_store, [r for batch in earlier for r in batch])
    accumulate(sqlite_store, folders=folders())
    between = utcnow()
    time.sleep(0.01)
    load(sqlite_store, last)
    accumulate(sqlite_store, folders=folders())
    runner = CliRunner()
    args = ["--db", str(sqlite_store.url), "context", "Acme Corp", "--week", "2026-W47",
            "--json"]
    now = json.loads(runner.invoke(app, args).stdout)
    then = json.loads(runner.invoke(app, [*args, "--as-of", between.isoformat()]).stdout)
    texts = [e["text"] for s in now["body"]["sections"] if s["key"] == "changes"
             for e in s["entries"]]
    earlier = [e["text"] for s in then["body"]["sections"] if s["key"] == "changes"
               for e in s["entries"]]
    assert any("crisis call" in t for t in texts)
    assert not any("crisis call" in t for t in earlier)
    assert then["as_of"] and DECIDED.canonical_id in {s["id"] for s in then["body"]["sources"]}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, list[dict[str, Any]]]:
    from threadline.store import open_store

    out = tmp_path_factory.mktemp("sample")
    generate_workspace(out, seed=7, weeks=2, scale=1)
    engine = open_store(str(out / "t.db"))
    kinds = {"slack": "slack-export", "email": "mbox", "calendar": "ics",
             "notion": "notion-export"}
    for platform, kind in kinds.items():
        path = out / FILES[platform]
        run_import(engine, open_importer(kind, path), path)
    config = sample_clients_config(seed=7, scale=1)
    accumulate(engine, folders=[PeopleFolder(), ClientsFolder(config), TimelineFolder(tz=UTC),
                                NotesFolder()])
    return engine, json.loads((out / FILES["gold"]).read_text())


def test_sample_notes_cite_gold_items_and_no_forbidden_ones(
    sample: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, gold = sample
    stored = bodies(engine)
    forbidden = []
    facts = covered = 0
    for entry in gold:
        body = stored.get((entry["client"], entry["week"]))
        cited = NoteBody.model_validate(body).cited() if body else set()
        forbidden += sorted(set(entry["must_not_mention"]) & cited)
        for fact_ in entry["must_mention"]:
            facts += 1
            covered += any(i in cited for i in fact_["items"])
    assert forbidden == []
    assert facts and covered / facts >= 0.9
