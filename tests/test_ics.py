"""The ics importer: real-world and broken calendars, and hand-written recurrence cases."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from threadline.connectors.base import load_importer
from threadline.connectors.ics import IcsImporter
from threadline.errors import ConfigError, ImportFailed
from threadline.records import IdentityRecord, ItemRecord, QuarantineRecord, Record

CORPUS = Path(__file__).parent / "fixtures" / "ical" / "collective-icalendar"
CORPUS_FILES = sorted(CORPUS.rglob("*.ics"))
NOW = "2024-01-01T00:00:00+00:00"
POSITION = re.compile(r"^(file|line \d+|[A-Z0-9-]+ #\d+( \((UID|TZID) .+\))? at line \d+)$")


def read(path: Path, **options: object) -> list[Record]:
    options.setdefault("now", NOW)
    return list(IcsImporter(path, **options).read())


def items(records: list[Record]) -> dict[str, ItemRecord]:
    found = [r for r in records if isinstance(r, ItemRecord)]
    by_id = {r.canonical_id: r for r in found}
    assert len(by_id) == len(found), "canonical ids must be unique within one file"
    return by_id


def quarantined(records: list[Record]) -> list[QuarantineRecord]:
    return [r for r in records if isinstance(r, QuarantineRecord)]


def write(tmp_path: Path, body: str, name: str = "cal.ics", header: str = "") -> Path:
    path = tmp_path / name
    text = (
        f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{header}{body.strip()}\nEND:VCALENDAR\n"
    )
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return path


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the collective/icalendar corpus ------------------------------------------------------


def test_corpus_is_complete() -> None:
    assert len(CORPUS_FILES) == 163
    assert (CORPUS / "LICENSE.rst").is_file()


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_yields_items_or_explains_why_not(path: Path) -> None:
    records = read(path)
    events = [r for r in records if isinstance(r, ItemRecord)]
    problems = quarantined(records)
    assert events or problems, "a file must yield items or say why it yields none"
    for problem in problems:
        assert problem.file == str(path)
        assert POSITION.match(problem.position), problem.position
        assert len(problem.reason) > 20
    assert len({event.canonical_id for event in events}) == len(events)
    for event in events:
        assert event.canonical_id.startswith("event:")
        assert event.occurred_at is not None and event.occurred_at.tzinfo is not None
        assert event.native["uid"] in event.canonical_id
    assert [r.model_dump() for r in read(path)] == [r.model_dump() for r in records]


def test_custom_vtimezone_is_used_for_event_times() -> None:
    (event,) = items(read(CORPUS / "calendars" / "issue_218_bad_tzid.ics")).values()
    # DTSTART;TZID=UTC+11:20170228T230000 with a VTIMEZONE of +11:00.
    assert event.canonical_id == "event:1961094_636238800000000000@2017-02-28T12:00:00Z"
    assert event.occurred_at == utc("2017-02-28T12:00:00")
    assert event.title == "TESTIN"


def test_unknown_tzid_falls_back_and_is_recorded() -> None:
    path = CORPUS / "calendars" / "issue_722_missing_VTIMEZONE_custom.ics"
    (event,) = items(read(path, default_tz="Europe/Berlin")).values()
    assert event.native["tz_fallback"] == "CUSTOM_tzid"
    assert event.native["synthetic_uid"] == "1"
    assert event.occurred_at == utc("2014-08-29T06:00:00")


def test_one_bad_vevent_does_not_lose_the_others() -> None:
    path = CORPUS / "calendars" / "parsing_error.ics"
    records = read(path)
    assert len(items(records)) == 20
    (problem,) = quarantined(records)
    assert problem.position == "VEVENT #2 at line 13"
    assert "EXDATE" in problem.reason
    assert problem.raw.startswith(b"BEGIN:VEVENT")


def test_unparsable_dtstart_is_quarantined_with_uid_and_line() -> None:
    (problem,) = quarantined(read(CORPUS / "calendars" / "broken_ical.ics"))
    assert problem.position == "VEVENT #1 (UID abc) at line 2"
    assert "DTSTART" in problem.reason


def test_fuzzed_file_is_one_quarantine_record() -> None:
    path = CORPUS / "calendars" / "fuzz_testcase_invalid_month.ics"
    (problem,) = read(path)
    assert isinstance(problem, QuarantineRecord)
    assert problem.position == "line 1"
    assert "never closed" in problem.reason


def test_file_without_events_says_what_it_holds() -> None:
    (problem,) = read(CORPUS / "todos" / "example.ics")
    assert isinstance(problem, QuarantineRecord)
    assert problem.position == "file"
    assert "1 VTODO" in problem.reason


def test_bounded_series_is_expanded_whole_minus_exdates() -> None:
    found = items(read(CORPUS / "events" / "event_with_recurrence.ics"))
    assert len(found) == 100 - 3  # COUNT=100 with three EXDATEs
    starts = sorted(e.occurred_at for e in found.values() if e.occurred_at)
    assert starts[0] == utc("1996-04-01T01:00:00")
    assert starts[1] == utc("1996-04-05T01:00:00")


def test_open_ended_series_is_bounded_by_the_window() -> None:
    path = CORPUS / "calendars" / "x_location.ics"
    found = items(read(path, window_start="2024-01-01", window_end="2024-02-01"))
    assert len(found) == 23  # weekdays in January 2024
    event = next(iter(found.values()))
    assert event.container_id == "ITC"
    assert event.thread_id == f"event-series:{event.native['uid']}"
    assert IcsImporter(path).source().account == "ITC"


# --- hand-written series --------------------------------------------------------------------

WEEKLY = """
BEGIN:VEVENT
UID:w1
DTSTAMP:20231201T120000Z
DTSTART;TZID=Europe/Berlin:20240101T100000
DTEND;TZID=Europe/Berlin:20240101T110000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Berlin:20240108T100000
SUMMARY:Weekly review
END:VEVENT
BEGIN:VEVENT
UID:w1
RECURRENCE-ID;TZID=Europe/Berlin:20240115T100000
DTSTART;TZID=Europe/Berlin:20240116T140000
DTEND;TZID=Europe/Berlin:20240116T150000
SEQUENCE:1
SUMMARY:Crisis call
END:VEVENT
BEGIN:VEVENT
UID:w1
RECURRENCE-ID;TZID=Europe/Berlin:20240122T100000
DTSTART;TZID=Europe/Berlin:20240122T100000
STATUS:CANCELLED
SUMMARY:Weekly review
END:VEVENT
"""


def test_weekly_series_with_moved_renamed_cancelled_and_excluded_instances(
    tmp_path: Path,
) -> None:
    found = items(read(write(tmp_path, WEEKLY)))
    assert sorted(found) == [
        "event:w1@2024-01-01T09:00:00Z",
        "event:w1@2024-01-15T09:00:00Z",
        "event:w1@2024-01-22T09:00:00Z",
        "event:w1@2024-01-29T09:00:00Z",
        "event:w1@2024-02-05T09:00:00Z",
    ]  # 2024-01-08 is an EXDATE
    moved = found["event:w1@2024-01-15T09:00:00Z"]
    assert moved.title == "Crisis call"
    assert moved.occurred_at == utc("2024-01-16T13:00:00")
    assert moved.native["recurrence_id"] == "2024-01-15T09:00:00Z"
    assert moved.native["sequence"] == "1"
    assert "When: 2024-01-16 14:00–15:00 (Europe/Berlin)" in moved.text
    cancelled = found["event:w1@2024-01-22T09:00:00Z"]
    assert cancelled.deleted
    assert not found["event:w1@2024-01-29T09:00:00Z"].deleted
    first = found["event:w1@2024-01-01T09:00:00Z"]
    assert first.title == "Weekly review"
    assert first.created_at == utc("2023-12-01T12:00:00")
    assert first.native["instance_start"] == "2024-01-01T09:00:00Z"
    assert "recurrence_id" not in first.native
    assert {e.thread_id for e in found.values()} == {"event-series:w1"}
    assert {e.container_id for e in found.values()} == {"cal"}


def test_this_and_future_override_moves_later_instances_but_keeps_their_ids(
    tmp_path: Path,
) -> None:
    body = """
BEGIN:VEVENT
UID:t1
DTSTART;TZID=Europe/Berlin:20240101T100000
DURATION:PT1H
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Weekly review
END:VEVENT
BEGIN:VEVENT
UID:t1
RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20240115T100000
DTSTART;TZID=Europe/Berlin:20240115T120000
DURATION:PT1H
SUMMARY:Later review
END:VEVENT
"""
    found = items(read(write(tmp_path, body)))
    assert sorted(found) == [
        "event:t1@2024-01-01T09:00:00Z",
        "event:t1@2024-01-08T09:00:00Z",
        "event:t1@2024-01-15T09:00:00Z",
        "event:t1@2024-01-22T09:00:00Z",
    ]
    assert found["event:t1@2024-01-08T09:00:00Z"].occurred_at == utc("2024-01-08T09:00:00")
    for day in ("15", "22"):
        later = found[f"event:t1@2024-01-{day}T09:00:00Z"]
        assert later.title == "Later review"
        assert later.occurred_at == utc(f"2024-01-{day}T11:00:00")
        assert later.native["range"] == "THISANDFUTURE"


def test_cancelled_series_makes_every_instance_a_tombstone(tmp_path: Path) -> None:
    body = """
BEGIN:VEVENT
UID:c1
DTSTART:20240101T100000Z
RRULE:FREQ=DAILY;COUNT=3
STATUS:CANCELLED
SUMMARY:Dropped
END:VEVENT
"""
    found = items(read(write(tmp_path, body)))
    assert len(found) == 3
    assert all(e.deleted for e in found.values())
    assert all("Status: cancelled" in e.text for e in found.values())


def test_floating_times_use_x_wr_timezone_and_utc_rules_keep_local_time(tmp_path: Path) -> None:
    body = """
BEGIN:VEVENT
UID:f1
DTSTART:20240301T090000
SUMMARY:Floating
END:VEVENT
BEGIN:VEVENT
UID:u1
DTSTART:20240304T140000Z
RRULE:FREQ=WEEKLY;COUNT=2
SUMMARY:Standup
END:VEVENT
"""
    path = write(tmp_path, body, header="X-WR-TIMEZONE:America/New_York\n")
    found = items(read(path))
    assert found["event:f1@2024-03-01T14:00:00Z"].occurred_at == utc("2024-03-01T14:00:00")
    # 9:00 in New York before and after the 2024-03-10 DST change.
    assert "event:u1@2024-03-04T14:00:00Z" in found
    assert found["event:u1@2024-03-11T13:00:00Z"].occurred_at == utc("2024-03-11T13:00:00")


def test_floating_times_without_x_wr_timezone_use_default_tz(tmp_path: Path) -> None:
    body = "BEGIN:VEVENT\nUID:f2\nDTSTART:20240301T090000\nEND:VEVENT"
    path = write(tmp_path, body)
    assert list(items(read(path))) == ["event:f2@2024-03-01T09:00:00Z"]
    assert list(items(read(path, default_tz="Europe/Berlin"))) == ["event:f2@2024-03-01T08:00:00Z"]


def test_all_day_event_has_a_date_id_and_starts_at_local_midnight(tmp_path: Path) -> None:
    body = """
BEGIN:VEVENT
UID:ad1
DTSTART;VALUE=DATE:20240305
DTEND;VALUE=DATE:20240307
SUMMARY:Offsite
END:VEVENT
"""
    path = write(tmp_path, body, header="X-WR-TIMEZONE:Europe/Berlin\nX-WR-CALNAME:Team\n")
    (event,) = items(read(path)).values()
    assert event.canonical_id == "event:ad1@2024-03-05"
    assert event.native["instance_start"] == "2024-03-05"
    assert event.occurred_at == utc("2024-03-04T23:00:00")
    assert event.text.startswith("When: 2024-03-05 – 2024-03-06 (all day)")
    assert event.container_id == event.container_name == "Team"


def test_unknown_tzid_uses_x_wr_timezone(tmp_path: Path) -> None:
    body = "BEGIN:VEVENT\nUID:z1\nDTSTART;TZID=Nowhere/Special:20240301T090000\nEND:VEVENT"
    path = write(tmp_path, body, header="X-WR-TIMEZONE:Europe/Berlin\n")
    (event,) = items(read(path)).values()
    assert event.canonical_id == "event:z1@2024-03-01T08:00:00Z"
    assert event.native["tz_fallback"] == "Nowhere/Special"


def test_people_links_and_text(tmp_path: Path) -> None:
    body = """
BEGIN:VEVENT
UID:p1
DTSTART:20240301T090000Z
DTEND:20240301T100000Z
CREATED:20240201T080000Z
LAST-MODIFIED:20240202T080000Z
SUMMARY:Kickoff
LOCATION:Room 4
URL:https://calendar.example.com/e/p1
CATEGORIES:Client,Acme
ORGANIZER;CN=Alice Smith:mailto:alice@example.com
ATTENDEE;CN="Doe, Jane";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:MAILTO:jane@example.com
ATTENDEE;PARTSTAT=DECLINED;ROLE=OPT-PARTICIPANT:mailto:bob@example.com
ATTENDEE;CN=Room:urn:uuid:room-4
DESCRIPTION:Plan: https://www.notion.so/acme/Plan-0123456789abcdef0123456789abcdef.\\n
 Notes at https://example.com/notes
END:VEVENT
"""
    records = read(write(tmp_path, body))
    (event,) = items(records).values()
    assert event.author is not None
    assert (event.author.value, event.author.display_name) == ("alice@example.com", "Alice Smith")
    assert [(r.value, r.display_name) for r in event.recipients] == [
        ("jane@example.com", "Doe, Jane"),
        ("bob@example.com", None),
    ]
    assert event.raw["attendees"][1] == {
        "email": "bob@example.com",
        "name": None,
        "partstat": "DECLINED",
        "role": "OPT-PARTICIPANT",
    }
    assert "ORGANIZER;CN=Alice Smith" in event.raw["ics"]
    assert [link.target for link in event.links] == [
        "https://calendar.example.com/e/p1",
        "notion:01234567-89ab-cdef-0123-456789abcdef",
        "https://example.com/notes",
    ]
    assert event.permalink == "https://calendar.example.com/e/p1"
    assert event.labels == ["Client", "Acme"]
    assert event.created_at == utc("2024-02-01T08:00:00")
    assert event.updated_at == utc("2024-02-02T08:00:00")
    assert event.text.splitlines()[:3] == [
        "When: 2024-03-01 09:00–10:00 (UTC)",
        "Where: Room 4",
        "Organizer: Alice Smith <alice@example.com>",
    ]
    assert "Notes at https://example.com/notes" in event.text
    identities = {r.identity.value: r.profile for r in records if isinstance(r, IdentityRecord)}
    assert identities == {
        "alice@example.com": {"email": "alice@example.com", "real_name": "Alice Smith"},
        "jane@example.com": {"email": "jane@example.com", "real_name": "Doe, Jane"},
        "bob@example.com": {"email": "bob@example.com"},
    }


def test_event_without_uid_gets_a_stable_synthetic_uid(tmp_path: Path) -> None:
    path = write(tmp_path, "BEGIN:VEVENT\nDTSTART:20240301T090000Z\nSUMMARY:Anon\nEND:VEVENT")
    (first,) = items(read(path)).values()
    (again,) = items(read(path)).values()
    assert first.native["synthetic_uid"] == "1"
    assert first.canonical_id == again.canonical_id
    assert first.canonical_id.startswith("event:synthetic-")


def test_huge_series_is_capped_with_a_note(tmp_path: Path) -> None:
    body = "BEGIN:VEVENT\nUID:m1\nDTSTART:20240101T000000Z\nRRULE:FREQ=MINUTELY\nEND:VEVENT"
    path = write(tmp_path, body)
    records = read(path, window_start="2020-01-01", window_end="2030-01-01", max_instances=300)
    assert len(items(records)) == 300
    (note,) = quarantined(records)
    assert note.position == "VEVENT #1 (UID m1) at line 4"
    assert "more than 300" in note.reason


def test_open_ended_series_follows_the_default_window_around_now(tmp_path: Path) -> None:
    body = "BEGIN:VEVENT\nUID:d1\nDTSTART;VALUE=DATE:20000101\nRRULE:FREQ=YEARLY\nEND:VEVENT"
    found = items(read(write(tmp_path, body), now="2024-06-01T00:00:00Z"))
    # Two years back and one year ahead of now.
    assert sorted(found) == ["event:d1@2023-01-01", "event:d1@2024-01-01", "event:d1@2025-01-01"]


# --- bad input --------------------------------------------------------------------------------


def test_truncated_file_keeps_complete_events_and_quarantines_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "cut.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240301T090000Z\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b\r\nDTSTART:2024"
    )
    records = read(path)
    assert list(items(records)) == ["event:a@2024-03-01T09:00:00Z"]
    (problem,) = quarantined(records)
    assert (problem.file, problem.position) == (str(path), "line 6")
    assert problem.raw == b"BEGIN:VEVENT\r\nUID:b\r\nDTSTART:2024"
    assert "truncated" in problem.reason


def test_invalid_line_in_one_vevent_quarantines_only_that_vevent(tmp_path: Path) -> None:
    body = """
BEGIN:VEVENT
UID:good
DTSTART:20240301T090000Z
END:VEVENT
BEGIN:VEVENT
UID:bad
DTSTART:2024-03-01 nine o'clock
END:VEVENT
BEGIN:VEVENT
UID:rule
DTSTART:20240301T090000Z
RRULE:FREQ=FORTNIGHTLY
END:VEVENT
"""
    path = write(tmp_path, body)
    records = read(path)
    assert list(items(records)) == ["event:good@2024-03-01T09:00:00Z"]
    problems = {p.position: p for p in quarantined(records)}
    assert set(problems) == {"VEVENT #2 (UID bad) at line 8", "VEVENT #3 (UID rule) at line 12"}
    assert "DTSTART" in problems["VEVENT #2 (UID bad) at line 8"].reason
    assert "RRULE" in problems["VEVENT #3 (UID rule) at line 12"].reason
    assert b"UID:bad" in problems["VEVENT #2 (UID bad) at line 8"].raw


def test_file_that_is_not_a_calendar_is_one_quarantine_record(tmp_path: Path) -> None:
    path = tmp_path / "notes.ics"
    path.write_bytes(b"\x00\xffjust some text\nnot a calendar\n")
    (problem,) = read(path)
    assert isinstance(problem, QuarantineRecord)
    assert (problem.file, problem.position) == (str(path), "file")
    assert "not an iCalendar file" in problem.reason


def test_folder_import_goes_on_past_bad_files(tmp_path: Path) -> None:
    write(tmp_path, "BEGIN:VEVENT\nUID:a\nDTSTART:20240301T090000Z\nEND:VEVENT", name="a.ics")
    (tmp_path / "b.ics").write_bytes(b"garbage")
    write(tmp_path, "BEGIN:VEVENT\nUID:c\nDTSTART:20240302T090000Z\nEND:VEVENT", name="c.ICS")
    (tmp_path / "readme.txt").write_text("not read")
    importer = IcsImporter(tmp_path, now=NOW)
    records = list(importer.read())
    assert sorted(items(records)) == [
        "event:a@2024-03-01T09:00:00Z",
        "event:c@2024-03-02T09:00:00Z",
    ]
    assert [p.file for p in quarantined(records)] == [str(tmp_path / "b.ics")]
    assert importer.estimate() == 2
    assert importer.source().account == tmp_path.name


def test_nothing_to_open_raises_import_failed(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match=r"no \.ics files"):
        list(IcsImporter(tmp_path).read())
    with pytest.raises(ImportFailed, match="could not be opened"):
        list(IcsImporter(tmp_path / "missing.ics").read())


@pytest.mark.parametrize(
    "options",
    [
        {"default_tz": "Mars/Olympus"},
        {"window_start": "yesterday"},
        {"window_start": "2025-01-01", "window_end": "2024-01-01"},
        {"max_instances": 0},
    ],
)
def test_bad_options_are_config_errors(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        IcsImporter(tmp_path / "cal.ics", **options)


def test_registered_under_its_name() -> None:
    assert load_importer("ics") is IcsImporter
    assert IcsImporter.name == "ics"


def test_bom_and_windows_1252_text_are_read(tmp_path: Path) -> None:
    path = tmp_path / "legacy.ics"
    path.write_bytes(
        b"\xef\xbb\xbfBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:l1\r\nDTSTART:20240301T090000Z\r\n"
        b"SUMMARY:Caf\xe9 \x96 planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (event,) = items(read(path)).values()
    assert event.title == "Café – planning"
