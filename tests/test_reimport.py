"""Re-importing an export skips the units it has seen unchanged, and only those.

Each importer runs through the real runner into a real SQLite store, on the sample
workspace's exports. What the importer yields is recorded on the way to the store, so the
tests see which units were parsed (a UnitDone with ``skipped=False``) and which were not.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from threadline.connectors.base import Importer, open_importer
from threadline.connectors.runner import ImportSummary, run_import
from threadline.records import KnownUnits, Record, SourceInfo, UnitDone
from threadline.sample import generate_workspace
from threadline.store.schema import item

NOW = "2026-11-20T12:00:00+00:00"
EXPORTS = {
    "slack-export": "slack-export.zip",
    "mbox": "mail.mbox",
    "ics": "calendar.ics",
    "notion-export": "notion-export.zip",
}
OPTIONS: dict[str, dict[str, object]] = {"ics": {"now": NOW}}


class Recording:
    """Passes an importer's records on, keeping the UnitDone ones to look at."""

    def __init__(self, inner: Importer) -> None:
        self.inner = inner
        self.name = inner.name
        self.units: list[UnitDone] = []

    @property
    def known_units(self) -> KnownUnits | None:
        return getattr(self.inner, "known_units", None)

    @known_units.setter
    def known_units(self, value: KnownUnits | None) -> None:
        self.inner.known_units = value  # type: ignore[attr-defined]

    def source(self) -> SourceInfo:
        return self.inner.source()

    def estimate(self) -> int | None:
        return self.inner.estimate()

    def read(self) -> Iterator[Record]:
        for record in self.inner.read():
            if isinstance(record, UnitDone):
                self.units.append(record)
            yield record


@dataclass
class Run:
    summary: ImportSummary
    parsed: list[str]
    skipped: list[str]

    @property
    def items(self) -> int:
        c = self.summary.counts
        return c.added + c.updated + c.unchanged + c.deleted


def run(engine: Engine, kind: str, path: Path, *, reparse: bool = False, **options: object) -> Run:
    importer = Recording(open_importer(kind, path, **{**OPTIONS.get(kind, {}), **options}))
    summary = run_import(engine, importer, path, reparse=reparse, batch_size=50)
    assert summary.error is None
    return Run(
        summary,
        parsed=[u.unit for u in importer.units if not u.skipped],
        skipped=[u.unit for u in importer.units if u.skipped],
    )


def stored_text(engine: Engine, canonical_id: str) -> str:
    with engine.connect() as conn:
        query = select(item.c.text).where(item.c.canonical_id == canonical_id)
        return str(conn.execute(query).scalar_one())


def rewrite_zip(path: Path, changes: dict[str, bytes]) -> None:
    """The same zip with some members' bytes replaced, every other member as it was."""
    copy = path.with_suffix(".new")
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, changes.get(info.filename, old.read(info)))
    copy.replace(path)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_workspace(out, seed=7, weeks=1, scale=1)
    return out


@pytest.fixture
def exports(sample: Path, tmp_path: Path) -> Path:
    for name in EXPORTS.values():
        shutil.copy(sample / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("kind", list(EXPORTS))
def test_unchanged_export_is_not_parsed_again(
    kind: str, exports: Path, sqlite_store: Engine
) -> None:
    path = exports / EXPORTS[kind]
    first = run(sqlite_store, kind, path)
    assert first.summary.counts.added > 0
    assert first.parsed and not first.skipped
    assert len(set(first.parsed)) == len(first.parsed)

    again = run(sqlite_store, kind, path)
    c = again.summary.counts
    assert (c.added, c.updated, c.deleted) == (0, 0, 0)
    assert c.unchanged == first.items
    assert again.parsed == []
    assert sorted(again.skipped) == sorted(first.parsed)

    forced = run(sqlite_store, kind, path, reparse=True)
    c = forced.summary.counts
    assert (c.added, c.updated, c.deleted, c.unchanged) == (0, 0, 0, first.items)
    assert forced.skipped == []
    assert sorted(forced.parsed) == sorted(first.parsed)


# --- slack ---------------------------------------------------------------------------


def _slack_member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_slack_changed_day_file_alone_is_parsed(exports: Path, sqlite_store: Engine) -> None:
    path = exports / "slack-export.zip"
    first = run(sqlite_store, "slack-export", path)
    day = "acme-website/2026-11-16.json"
    messages = json.loads(_slack_member(path, day))
    messages[0]["text"] = "Checkout is fine again."
    rewrite_zip(path, {day: json.dumps(messages).encode()})

    again = run(sqlite_store, "slack-export", path)
    assert again.parsed == [day]
    assert len(again.skipped) == len(first.parsed) - 1
    c = again.summary.counts
    assert (c.added, c.updated, c.unchanged) == (0, 1, first.items - 1)
    canonical = f"slack:{messages[0].get('channel') or _channel_id(path, 'acme-website')}:"
    assert stored_text(sqlite_store, canonical + messages[0]["ts"]) == "Checkout is fine again."


def _channel_id(path: Path, name: str) -> str:
    channels = json.loads(_slack_member(path, "channels.json"))
    return str(next(c["id"] for c in channels if c["name"] == name))


def test_slack_renamed_user_reparses_and_updates_mentions(
    exports: Path, sqlite_store: Engine
) -> None:
    path = exports / "slack-export.zip"
    first = run(sqlite_store, "slack-export", path)
    day = "acme-website/2026-11-16.json"
    message = json.loads(_slack_member(path, day))[0]
    mentioned = re.findall(r"<@(U[A-Z0-9]+)>", message["text"])[0]
    canonical = f"slack:{_channel_id(path, 'acme-website')}:{message['ts']}"
    users = json.loads(_slack_member(path, "users.json"))

    # A profile fact the records do not show: nothing needs parsing again.
    user = next(u for u in users if u["id"] == mentioned)
    user["profile"]["title"] = "Head of Everything"
    rewrite_zip(path, {"users.json": json.dumps(users).encode()})
    retitled = run(sqlite_store, "slack-export", path)
    assert retitled.parsed == []

    old_name = user.get("real_name") or user["profile"]["real_name"]
    assert f"@{old_name}" in stored_text(sqlite_store, canonical)
    user["real_name"] = user["profile"]["real_name"] = "Renamed Person"
    rewrite_zip(path, {"users.json": json.dumps(users).encode()})
    renamed = run(sqlite_store, "slack-export", path)
    # Any day file may mention anyone: a renamed user makes every one of them parse again.
    assert sorted(renamed.parsed) == sorted(first.parsed)
    assert renamed.summary.counts.updated > 0
    text = stored_text(sqlite_store, canonical)
    assert "@Renamed Person" in text and f"@{old_name}" not in text


def test_slack_quarantined_day_file_is_retried(exports: Path, sqlite_store: Engine) -> None:
    path = exports / "slack-export.zip"
    day = "acme-website/2026-11-16.json"
    rewrite_zip(path, {day: b'[{"type": "message", "text": "cut'})
    first = run(sqlite_store, "slack-export", path)
    assert first.summary.counts.quarantined == 1
    assert day not in first.parsed

    again = run(sqlite_store, "slack-export", path)
    assert again.parsed == []
    assert day not in again.skipped
    assert again.summary.counts.quarantined == 1


# --- mbox ----------------------------------------------------------------------------


def _split(data: bytes) -> list[bytes]:
    return [b"From " + piece for piece in data.split(b"\nFrom ")[1:]] if data else []


def test_mbox_changed_message_alone_is_parsed(exports: Path, sqlite_store: Engine) -> None:
    path = exports / "mail.mbox"
    first = run(sqlite_store, "mbox", path)
    data = path.read_bytes()
    old = b"Subject: Week of Mon 16 Nov: office notes"
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, b"Subject: Week of Mon 16 Nov: office notes (v2)"))

    again = run(sqlite_store, "mbox", path)
    assert len(again.parsed) == 1
    assert len(again.skipped) == len(first.parsed) - 1
    c = again.summary.counts
    assert (c.added, c.updated, c.unchanged) == (0, 1, first.items - 1)
    with sqlite_store.connect() as conn:
        titles = conn.execute(select(item.c.title).where(item.c.title.like("Week of Mon%")))
        assert [t for (t,) in titles] == ["Week of Mon 16 Nov: office notes (v2)"]


def test_mbox_mail_added_in_front_leaves_the_rest_skipped(
    exports: Path, sqlite_store: Engine
) -> None:
    path = exports / "mail.mbox"
    first = run(sqlite_store, "mbox", path)
    new = (
        b"From 1@xxx Sun Nov 15 08:00:00 +0000 2026\n"
        b"Message-ID: <new-one@example.com>\nDate: Sun, 15 Nov 2026 08:00:00 +0000\n"
        b"From: A <a@example.com>\nTo: B <b@example.com>\nSubject: Hello\n\nHi.\n\n"
    )
    path.write_bytes(new + path.read_bytes())

    again = run(sqlite_store, "mbox", path)
    assert len(again.parsed) == 1
    assert sorted(again.skipped) == sorted(first.parsed)
    c = again.summary.counts
    assert (c.added, c.updated, c.unchanged) == (1, 0, first.items)


def test_mbox_broken_message_is_retried(tmp_path: Path, sqlite_store: Engine) -> None:
    path = tmp_path / "bad.mbox"
    path.write_bytes(
        b"From 1@xxx Sun Nov 15 08:00:00 +0000 2026\nnot an email at all\n\n"
        b"From 2@xxx Sun Nov 15 09:00:00 +0000 2026\nMessage-ID: <ok@example.com>\n"
        b"Subject: Fine\n\nBody.\n"
    )
    first = run(sqlite_store, "mbox", path)
    assert first.summary.counts.quarantined == 1 and len(first.parsed) == 1
    again = run(sqlite_store, "mbox", path)
    assert again.parsed == [] and len(again.skipped) == 1
    assert again.summary.counts.quarantined == 1


# --- ics -----------------------------------------------------------------------------


def _one_off_uid(data: str) -> tuple[str, str]:
    """A UID with one VEVENT and no RRULE, and its SUMMARY line."""
    blocks = re.findall(r"BEGIN:VEVENT\r?\n.*?END:VEVENT", data, re.S)
    uids = [re.search(r"^UID:(.*?)\r?$", b, re.M).group(1) for b in blocks]  # type: ignore[union-attr]
    for block, uid in zip(blocks, uids, strict=True):
        if uids.count(uid) == 1 and "RRULE" not in block:
            summary = re.search(r"^SUMMARY:.*?$", block, re.M)
            assert summary is not None
            return uid, summary.group(0).rstrip("\r")
    raise AssertionError("the sample calendar has no one-off event")


def test_ics_changed_event_alone_is_parsed(exports: Path, sqlite_store: Engine) -> None:
    path = exports / "calendar.ics"
    first = run(sqlite_store, "ics", path)
    data = path.read_bytes()
    uid, summary = _one_off_uid(data.decode())
    assert data.count(summary.encode()) == 1
    path.write_bytes(data.replace(summary.encode(), summary.encode() + b" (moved)"))

    again = run(sqlite_store, "ics", path)
    assert again.parsed == [f"calendar.ics#{uid}"]
    assert len(again.skipped) == len(first.parsed) - 1
    c = again.summary.counts
    assert (c.added, c.updated, c.unchanged) == (0, 1, first.items - 1)


OPEN_SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly@example.com
DTSTAMP:20260101T000000Z
DTSTART:20260105T090000Z
DTEND:20260105T093000Z
RRULE:FREQ=WEEKLY
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:once@example.com
DTSTAMP:20260101T000000Z
DTSTART:20260106T090000Z
DTEND:20260106T100000Z
SUMMARY:Kickoff
END:VEVENT
END:VCALENDAR
"""


def test_ics_open_ended_series_follows_the_window(tmp_path: Path, sqlite_store: Engine) -> None:
    path = tmp_path / "team.ics"
    path.write_text(OPEN_SERIES.replace("\n", "\r\n"), newline="")
    first = run(sqlite_store, "ics", path, window_start="2026-01-01", window_end="2026-03-01")
    assert sorted(first.parsed) == ["team.ics#once@example.com", "team.ics#weekly@example.com"]

    same = run(sqlite_store, "ics", path, window_start="2026-01-01", window_end="2026-03-01")
    assert same.parsed == []

    # Only the open-ended series depends on the window; the one-off is still skipped.
    later = run(sqlite_store, "ics", path, window_start="2026-01-01", window_end="2026-04-01")
    assert later.parsed == ["team.ics#weekly@example.com"]
    assert later.skipped == ["team.ics#once@example.com"]
    assert later.summary.counts.added == 5  # the five Mondays of March


def test_ics_options_are_in_the_fingerprint(exports: Path, sqlite_store: Engine) -> None:
    path = exports / "calendar.ics"
    first = run(sqlite_store, "ics", path)
    other = run(sqlite_store, "ics", path, max_instances=1000)
    assert sorted(other.parsed) == sorted(first.parsed)


# --- notion --------------------------------------------------------------------------


def _notion_members(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def _short(name: str) -> str:
    return name.split("/", 1)[1]  # without the Export-<uuid>/ wrapper


def test_notion_changed_page_alone_is_parsed(exports: Path, sqlite_store: Engine) -> None:
    path = exports / "notion-export.zip"
    first = run(sqlite_store, "notion-export", path)
    page = next(n for n in _notion_members(path) if "/Lunch rota " in n)
    with zipfile.ZipFile(path) as archive:
        text = archive.read(page)
    rewrite_zip(path, {page: text + b"\nFridays are pizza.\n"})

    again = run(sqlite_store, "notion-export", path)
    assert again.parsed == [_short(page)]
    assert len(again.skipped) == len(first.parsed) - 1
    c = again.summary.counts
    assert (c.added, c.updated, c.unchanged) == (0, 1, first.items - 1)
    hex_id = re.search(r"([0-9a-f]{32})\.md$", page).group(1)  # type: ignore[union-attr]
    canonical = "notion:" + "-".join(
        (hex_id[:8], hex_id[8:12], hex_id[12:16], hex_id[16:20], hex_id[20:])
    )
    assert "Fridays are pizza." in stored_text(sqlite_store, canonical)


def test_notion_changed_row_reparses_its_database(exports: Path, sqlite_store: Engine) -> None:
    path = exports / "notion-export.zip"
    first = run(sqlite_store, "notion-export", path)
    members = _notion_members(path)
    csv_name = next(n for n in members if n.endswith(".csv"))
    row = next(n for n in members if n.startswith(csv_name.removesuffix(".csv") + "/"))
    with zipfile.ZipFile(path) as archive:
        text = archive.read(row)
    rewrite_zip(path, {row: text + b"\nBlocked on legal.\n"})

    again = run(sqlite_store, "notion-export", path)
    assert again.parsed == [_short(csv_name)]
    c = again.summary.counts
    assert (c.added, c.updated) == (0, 1)
    assert c.unchanged == first.items - 1
