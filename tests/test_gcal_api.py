"""Google Calendar live sync: the real googleapiclient against a local fake Calendar API.

The fake serves real events.list items from the corpus and the sample workspace's
calendar.ics expanded into API instances (``singleEvents=True``); syncing the latter must
give the store what importing calendar.ics gives, instance for instance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes.google_server import GoogleFake, GoogleState, load_ics
from fakes.google_sync import (
    RetryRunner,
    import_records,
    items,
    records,
    save,
    store_lookup,
    stored,
)
from sqlalchemy import Engine

from threadline.connectors.gcal_api import CalendarConnector
from threadline.connectors.ics import IcsImporter
from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    DirectRunner,
    Page,
    PermanentError,
    RequestRunner,
    TransientError,
    load_connector,
)
from threadline.records import IdentityRecord, QuarantineRecord
from threadline.sample import FILES, generate_workspace
from threadline.store import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "gcal-api"
NOW = "2026-11-20T00:00:00+00:00"
KEY_FIELDS = (
    "title", "text", "thread_id", "container_id", "container_name", "author_key", "recipients",
    "labels", "occurred_at", "created_at", "updated_at", "deleted", "permalink", "content_hash",
)  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ws")
    generate_workspace(out, seed=7, weeks=3, scale=1)
    return out


@pytest.fixture
def fake(workspace: Path) -> Iterator[GoogleFake]:
    state = GoogleState(account="jane@northwind.example")
    load_ics(state, workspace / FILES["calendar"])
    with GoogleFake(state) as server:
        yield server


def connector(
    fake: GoogleFake, runner: RequestRunner | None = None, **options: Any
) -> CalendarConnector:
    settings = ConnectionSettings(
        platform="calendar", name="gcal", api_url=fake.url, secrets=fake.secrets(),
        options={"timeout": 2, "now": NOW, **options},
    )  # fmt: skip
    return CalendarConnector(settings, runner or DirectRunner())


def sync_all(conn: CalendarConnector, cursor: dict[str, Any] | None = None) -> list[Page]:
    return list(conn.sync(cursor))


def import_ics(engine: Engine, workspace: Path) -> None:
    path = workspace / FILES["calendar"]
    importer = IcsImporter(path, now=datetime.fromisoformat(NOW))
    assert import_records(engine, importer).quarantined == 0


def series_instance(fake: GoogleFake, index: int = 0) -> dict[str, Any]:
    recurring = [
        e for e in fake.state.events.values()
        if e.get("recurringEventId") and e["status"] == "confirmed"
    ]  # fmt: skip
    return sorted(recurring, key=lambda e: e["id"])[index]


def test_discover_reads_the_calendar_list_and_the_registry_builds_it(fake: GoogleFake) -> None:
    settings = ConnectionSettings(platform="calendar", name="gcal", api_url=fake.url,
                                  secrets=fake.secrets())  # fmt: skip
    made = load_connector("gcal")(settings, DirectRunner())
    assert (made.platform, made.name) == ("calendar", "gcal")
    info = made.discover()
    assert (info.account, info.kind) == ("jane@northwind.example", "gcal")
    other = connector(fake, calendar_id="jcrowgey@uw.edu").discover()  # from the corpus list
    assert other.account == "jcrowgey@uw.edu"
    with pytest.raises(PermanentError, match="is not in the account's list"):
        connector(fake, calendar_id="nobody@example.com").discover()


def test_real_events_list_items_through_the_real_client() -> None:
    state = GoogleState(
        account="sherwyn@example.com", cal_name="sherwyn@example.com", cal_zone="Asia/Kolkata"
    )
    for event in json.loads((FIXTURES / "relai_events_list_items_capture.json").read_text())[
        "message"
    ]:
        state.put_event(event)
    with GoogleFake(state) as server:
        pages = sync_all(connector(server, now="2021-03-01T00:00:00+00:00"))
    found = items(pages)
    party = found["event:dri0ajcq9htutq26o3jhmpdmu0@google.com@2021-04-22T19:30:00Z"]
    # The offset (-07:00) fixes the instant; the event's zone is how it is shown.
    assert party.text.startswith("When: 2021-04-23 01:00–12:00 (Asia/Kolkata)\nWhere: Mumbai")
    assert party.title == "Bithday Party" and party.container_id == "sherwyn@example.com"
    assert party.native["html_link"].startswith("https://www.google.com/calendar/event?eid=")
    hackathon = next(i for i in found.values() if i.title == "DeveloperWeek 2021 Hackathon")
    assert hackathon.author is not None
    assert hackathon.author.value == "unknownorganizer@calendar.google.com"
    assert [r.value for r in hackathon.recipients] == ["sherwyndsouza1999@gmail.com"]
    assert "https://g.co/calendar" in [link.target for link in hackathon.links]
    assert pages[-1].cursor["sync_token"].startswith("s")
    assert not [r for r in records(pages) if isinstance(r, QuarantineRecord)]


def test_workspace_sync_converges_with_the_ics_import(
    fake: GoogleFake, workspace: Path, tmp_path: Path
) -> None:
    conn = connector(fake, page_size=10)
    pages = sync_all(conn)
    assert len(pages) > 3 and pages[-1].done
    synced_db = open_store(str(tmp_path / "synced.db"))
    imported_db = open_store(str(tmp_path / "imported.db"))
    save(synced_db, conn.discover(), pages)
    import_ics(imported_db, workspace)
    synced, imported = stored(synced_db), stored(imported_db)
    assert set(imported) <= set(synced)
    for cid, row in imported.items():
        for key in KEY_FIELDS:
            assert synced[cid][key] == row[key], (cid, key)
    # The API also reports instances removed from a series (EXDATE), as tombstones.
    extra = set(synced) - set(imported)
    assert extra and all(synced[cid]["deleted"] for cid in extra)
    assert any(row["deleted"] for row in imported.values())  # a cancelled override
    people = {r.identity.key for r in records(pages) if isinstance(r, IdentityRecord)}
    path = workspace / FILES["calendar"]
    imported_people = {
        r.identity.key
        for r in IcsImporter(path, now=datetime.fromisoformat(NOW)).read()
        if isinstance(r, IdentityRecord)
    }
    assert people == imported_people
    synced_db.dispose()
    imported_db.dispose()


def test_incremental_pass_after_moving_renaming_and_cancelling(
    fake: GoogleFake, workspace: Path, tmp_path: Path
) -> None:
    db = open_store(str(tmp_path / "t.db"))
    import_ics(db, workspace)
    conn = connector(fake, lookup=store_lookup(db))
    first = sync_all(conn)
    save(db, conn.discover(), first)
    moved, cancelled = series_instance(fake, 0), series_instance(fake, 1)
    one_off = next(
        e for e in fake.state.events.values()
        if not e.get("recurringEventId") and e["status"] == "confirmed"
    )  # fmt: skip
    state = fake.state
    key = f"{moved['originalStartTime']['dateTime']}"
    original = datetime.fromisoformat(key).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state.move_instance(moved["iCalUID"], original, hours=2, summary="Moved review")
    cancel_start = datetime.fromisoformat(cancelled["originalStartTime"]["dateTime"])
    state.cancel_instance(cancelled["iCalUID"], cancel_start.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"))  # fmt: skip
    state.delete_event(one_off["id"])
    fresh = connector(fake, lookup=store_lookup(db))  # knows no series yet: asks events.get
    second = sync_all(fresh, first[-1].cursor)
    counts = save(db, fresh.discover(), second)
    assert (counts.updated, counts.deleted, counts.added) == (1, 2, 0)
    after = stored(db)
    moved_id = f"event:{moved['iCalUID']}@{original}"
    assert after[moved_id]["title"] == "Moved review"
    assert after[moved_id]["occurred_at"].astimezone(UTC).strftime("%H") == (
        datetime.fromisoformat(moved["start"]["dateTime"]).astimezone(UTC).hour + 2
    ).__format__("02d")
    assert after[f"event:{cancelled['iCalUID']}@{cancel_start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"][
        "deleted"
    ]
    assert sum(1 for r in after.values() if r["native"].get("gcal_id") == one_off["id"]) == 1
    assert second[-1].cursor["sync_token"] == f"s{state.seq}"
    db.dispose()


def test_a_deleted_one_off_event_without_lookup_is_reported(fake: GoogleFake) -> None:
    conn = connector(fake)
    cursor = sync_all(conn)[-1].cursor
    one_off = next(e for e in fake.state.events.values() if not e.get("recurringEventId"))
    fake.state.delete_event(one_off["id"])
    [page] = sync_all(conn, cursor)
    assert page.records == [] and "1 cancelled events not known here" in page.note


def test_faults_are_transient_and_retried_without_loss(fake: GoogleFake) -> None:
    fake.state.fault("/events", "429", retry_after="5")
    with pytest.raises(TransientError) as caught:
        sync_all(connector(fake))
    assert caught.value.retry_after == 5.0 and "events.list" in str(caught.value)
    expected = set(items(sync_all(connector(fake))))
    for kind in ("429", "500", "timeout", "truncated"):
        fake.state.fault("/events", kind, retry_after="1")
    runner = RetryRunner(attempts=6)
    pages = sync_all(connector(fake, runner, timeout=0.3, page_size=20))
    assert set(items(pages)) == expected
    assert len(runner.errors) == 4 and 1.0 in runner.waits


def test_an_expired_sync_token_means_a_full_resync(fake: GoogleFake) -> None:
    conn = connector(fake)
    first = sync_all(conn)
    fake.state.expire_sync_tokens()
    second = sync_all(conn, first[-1].cursor)
    assert "sync token has expired (HTTP 410 Gone): full resync" in second[0].note
    assert set(items(second)) == set(items(first))
    assert second[-1].cursor["sync_token"] == f"s{fake.state.seq}"


def test_a_revoked_token_is_an_auth_error(fake: GoogleFake) -> None:
    fake.state.access_tokens = set()
    fake.state.refresh_tokens = set()
    with pytest.raises(AuthError, match="token revoked or expired: run threadline connect google"):
        sync_all(connector(fake))


def test_a_repeating_page_token_stops_with_a_clear_error(fake: GoogleFake) -> None:
    fake.state.repeat_tokens = True
    seen: list[Page] = []
    with pytest.raises(PermanentError, match="a second time"):
        for page in connector(fake, page_size=10).sync(None):
            seen.append(page)
    assert len(seen) == 1 and len(items(seen)) == 10


def test_requests_per_instance(fake: GoogleFake) -> None:
    runner = RetryRunner()
    pages = sync_all(connector(fake, runner))
    assert len(items(pages)) == len(fake.state.events)
    assert dict(runner.calls) == {"calendar.calendarList.list": 1, "calendar.events.list": 1}
