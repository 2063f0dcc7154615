"""Weekly notes with the real storylines folder: a week shows each storyline as it stood at
that week's end, later items leave earlier weeks' notes alone, and what the storylines
folder reports as changed rebuilds exactly the notes a full rebuild would change."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from tests.fakes.list_importer import ListImporter
from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.context.accumulate import Folder, accumulate
from threadline.context.clients import ClientsFolder
from threadline.context.clients_config import ClientRule, ClientsConfig, DomainList
from threadline.context.note_model import NoteBody
from threadline.context.notes import NotesFolder
from threadline.context.people import PeopleFolder
from threadline.context.storylines import StorylinesFolder
from threadline.context.timeline import TimelineFolder
from threadline.records import IdentityRef, ItemRecord
from threadline.sample import FILES, generate_workspace
from threadline.sample.clients_yaml import sample_clients_config
from threadline.store.context_schema import client, storyline, weekly_note

MON_W47 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
JANE = IdentityRef(kind="email", value="jane@northwind.example", display_name="Jane Doe")
DEV = IdentityRef(kind="email", value="dev.kumar@acme.example", display_name="Dev Kumar")
ACME = ClientsConfig(
    me=DomainList(domains=["northwind.example"]),
    clients=[ClientRule(name="Acme Corp", domains=["acme.example"], channels=["#acme-web"])],
)
KINDS = {"slack": "slack-export", "email": "mbox", "calendar": "ics", "notion": "notion-export"}


def folders(config: ClientsConfig = ACME) -> list[Folder]:
    return [PeopleFolder(), ClientsFolder(config), StorylinesFolder(), TimelineFolder(tz=UTC),
            NotesFolder()]


def mail(mid: str, subject: str, text: str, when: datetime, *, sender: IdentityRef = JANE,
         to: IdentityRef = DEV) -> ItemRecord:
    return ItemRecord(
        platform="email", kind="email", canonical_id=f"email:{mid}",
        container_id="email-thread:numbers", thread_id="email-thread:numbers",
        author=sender, recipients=[to], occurred_at=when, title=subject, text=text,
    )


ASK = mail("ask@x", "October numbers", "Hi Dev,\n\nCould you confirm the October numbers "
           "for the board pack?", MON_W47)
NUDGE = mail("nudge@x", "Re: October numbers", "Hi Dev,\n\nAny update on the October numbers "
             "for the board pack?", MON_W47 + timedelta(days=2))
FIXED = mail("fixed@x", "Re: October numbers", "Hi Jane,\n\nConfirmed, the October numbers "
             "in the board pack are fixed now.", MON_W47 + timedelta(days=8), sender=DEV, to=JANE)
EARLIER = mail("brief@x", "Board pack brief", "Hi Dev,\n\nWe need the October numbers for "
               "the board pack; I will ask you to confirm them.", MON_W47 - timedelta(days=6))


def slack(ts: str, text: str, when: datetime, thread: str) -> ItemRecord:
    return ItemRecord(
        platform="slack", kind="message", canonical_id=f"slack:C1:{ts}",
        native={"channel": "C1", "ts": ts}, container_id="C1", container_name="#acme-web",
        thread_id=f"slack:C1:{thread}", occurred_at=when, text=text,
        author=IdentityRef(kind="slack", value="U1", display_name="Priya"),
    )


def notes(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(weekly_note.c.week, weekly_note.c.body, weekly_note.c.updated_at)
            .join(client, client.c.id == weekly_note.c.client_id)
            .where(client.c.name == "Acme Corp")
        ).all()
    return {r.week: {"body": r.body, "updated_at": r.updated_at} for r in rows}


def bodies(engine: Engine) -> dict[str, Any]:
    return {week: value["body"] for week, value in notes(engine).items()}


def story(body: dict[str, Any]) -> dict[str, Any]:
    found = NoteBody.model_validate(body).section("storylines").model_dump()["entries"]
    assert len(found) == 1, found
    return dict(found[0])


def add(engine: Engine, *records: ItemRecord) -> None:
    run_import(engine, ListImporter(list(records), "email"), Path("x"))
    accumulate(engine, folders=folders())


def equals_rebuild(engine: Engine) -> dict[str, Any]:
    incremental = bodies(engine)
    with engine.connect() as conn:
        weekly = dict(conn.execute(select(storyline.c.key, storyline.c.weekly)).all())
    accumulate(engine, folders=folders(), rebuild=True)
    assert bodies(engine) == incremental
    with engine.connect() as conn:
        assert dict(conn.execute(select(storyline.c.key, storyline.c.weekly)).all()) == weekly
    return incremental


def test_a_week_shows_the_storyline_as_it_stood_at_week_end(store: Engine) -> None:
    add(store, ASK, NUDGE)
    w47 = story(notes(store)["2026-W47"]["body"])
    assert w47["detail"]["status"] == "waiting"
    assert w47["detail"]["status_detail"].startswith("waiting on Dev Kumar")
    before = notes(store)
    time.sleep(0.01)

    # Dev answers in W48: the storyline is resolved now, and W47 still reads as it stood.
    add(store, FIXED)
    after = notes(store)
    assert after["2026-W47"] == before["2026-W47"]
    assert story(after["2026-W48"]["body"])["detail"]["status"] == "resolved"
    with store.connect() as conn:
        assert conn.execute(select(storyline.c.status)).scalar_one() == "resolved"
    stored = equals_rebuild(store)
    risks = NoteBody.model_validate(stored["2026-W47"]).section("risks").model_dump()["entries"]
    assert any("still waiting at week end" in e["text"] for e in risks)
    assert not NoteBody.model_validate(stored["2026-W48"]).section("risks").entries


def test_an_earlier_item_that_renames_the_storyline_rebuilds_every_week(store: Engine) -> None:
    add(store, ASK, NUDGE, FIXED)
    before = notes(store)
    assert story(before["2026-W47"]["body"])["detail"]["title"] == "October numbers"
    time.sleep(0.01)
    add(store, EARLIER)
    after = notes(store)
    for week in ("2026-W46", "2026-W47", "2026-W48"):
        shown = story(after[week]["body"])["detail"]
        assert (shown["storyline"], shown["title"]) == ("email:brief@x", "Board pack brief")
    assert after["2026-W48"]["updated_at"] > before["2026-W48"]["updated_at"]
    equals_rebuild(store)


def test_a_later_email_that_renames_the_storyline_rebuilds_every_week(store: Engine) -> None:
    thu = MON_W47 + timedelta(days=3)
    run_import(store, ListImporter([
        slack("1.1", "The October numbers in the board pack look wrong to me.", thu, "1.1"),
        slack("1.2", "Agreed, the board pack numbers for October need a second look.",
              thu + timedelta(hours=1), "1.1"),
    ], "slack"), Path("x"))
    accumulate(store, folders=folders())
    before = notes(store)
    key = story(before["2026-W47"]["body"])["detail"]["storyline"]
    time.sleep(0.01)
    # An email in W48 joins the thread's storyline; its subject becomes the title.
    add(store, mail("pack@x", "Board pack: October numbers", "Hi Dev,\n\nThe October "
                    "numbers in the board pack look wrong; we are checking them.",
                    thu + timedelta(days=4)))
    after = notes(store)
    shown = story(after["2026-W47"]["body"])["detail"]
    assert (shown["storyline"], shown["title"]) == (key, "Board pack: October numbers")
    assert after["2026-W47"]["updated_at"] > before["2026-W47"]["updated_at"]
    equals_rebuild(store)


def test_storylines_stored_before_weekly_statuses_catch_up(sqlite_store: Engine) -> None:
    add(sqlite_store, ASK, NUDGE)
    with sqlite_store.begin() as conn:
        # A store upgraded from before migration 0012.
        conn.execute(update(storyline).values(weekly=None))
    add(sqlite_store, FIXED)
    with sqlite_store.connect() as conn:
        assert conn.execute(select(storyline.c.weekly)).scalar_one() is not None
    stored = equals_rebuild(sqlite_store)
    assert story(stored["2026-W47"])["detail"]["status"] == "waiting"


def test_sample_notes_with_real_storylines_equal_a_rebuild(
    sqlite_store: Engine, tmp_path: Path
) -> None:
    generate_workspace(tmp_path, seed=7, weeks=3, scale=1)
    config = sample_clients_config(7, 1)
    for platform in ("slack", "calendar", "email", "notion"):
        path = tmp_path / FILES[platform]
        run_import(sqlite_store, open_importer(KINDS[platform], path), path)
        accumulate(sqlite_store, folders=folders(config), chunk_size=300)
    with sqlite_store.connect() as conn:
        incremental = {
            (r.client_id, r.week): r.body for r in conn.execute(select(weekly_note))
        }
    accumulate(sqlite_store, folders=folders(config), rebuild=True)
    with sqlite_store.connect() as conn:
        rebuilt = {(r.client_id, r.week): r.body for r in conn.execute(select(weekly_note))}
    assert len(rebuilt) > 10
    assert rebuilt == incremental
