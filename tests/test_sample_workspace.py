"""The sample workspace generator: valid exports, byte-identical reruns, and a gold.json whose
every id names an item really written (read back with stdlib parsers, not the importers)."""

from __future__ import annotations

import csv
import io
import json
import mailbox
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from threadline import ids
from threadline.sample import FILES, WorkspaceManifest, generate_workspace

TS = re.compile(r"^\d{10}\.\d{6}$")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> WorkspaceManifest:
    return generate_workspace(tmp_path_factory.mktemp("ws"), seed=7, weeks=2)


@pytest.fixture(scope="module")
def gold(workspace: WorkspaceManifest) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(workspace.files["gold"].read_text())
    return data


def _slack_ids(path: Path) -> tuple[set[str], dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        meta = {n: json.loads(zf.read(n)) for n in
                ("users.json", "channels.json", "groups.json", "dms.json", "mpims.json")}
        folders = {c.get("name") or c["id"]: c["id"] for key in
                   ("channels.json", "groups.json", "mpims.json") for c in meta[key]}
        folders |= {d["id"]: d["id"] for d in meta["dms.json"]}
        found: set[str] = set()
        for name in zf.namelist():
            if "/" not in name:
                continue
            folder, day_file = name.split("/")
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.json", day_file)
            channel = folders[folder]
            for message in json.loads(zf.read(name)):
                assert message["type"] == "message" and TS.match(message["ts"])
                canonical = ids.slack_id(channel, message["ts"])
                assert canonical not in found, f"duplicate ts in {name}"
                found.add(canonical)
    return found, meta


def _mail_ids(path: Path) -> tuple[set[str], list[Any]]:
    box = mailbox.mbox(path)
    messages = list(box)
    return {ids.email_id(m["Message-ID"]) for m in messages}, messages


def _event_ids(path: Path) -> tuple[set[str], Calendar]:
    calendar = Calendar.from_ical(path.read_bytes())
    found: set[str] = set()
    for event in calendar.walk("VEVENT"):
        uid, start = str(event["UID"]), event.decoded("DTSTART")
        if "RECURRENCE-ID" in event:
            found.add(ids.event_id(uid, event.decoded("RECURRENCE-ID")))
        elif "RRULE" in event:
            excluded = {d.dt for ex in _as_list(event.get("EXDATE")) for d in ex.dts}
            rule_text = event["RRULE"].to_ical()
            assert isinstance(rule_text, bytes)
            rule = rrulestr(rule_text.decode(), dtstart=start)
            found |= {ids.event_id(uid, s) for s in rule if s not in excluded}
        else:
            found.add(ids.event_id(uid, start))
    return found, calendar


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _notion_ids(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return {ids.notion_id(ids.find_notion_id(n.rsplit("/", 1)[-1]) or "")
                for n in zf.namelist() if n.endswith(".md")}


def test_slack_export_is_a_real_export_layout(workspace: WorkspaceManifest) -> None:
    found, meta = _slack_ids(workspace.files["slack"])
    assert len(found) == workspace.counts["slack"] > 200
    users = meta["users.json"]
    assert all(u["profile"]["email"] and u["real_name"] for u in users)
    assert any(u["is_bot"] for u in users)
    names = {c["name"] for c in meta["channels.json"]}
    assert {"general", "random", "ops", "acme-website", "alpha-campaign", "globex-data"} <= names
    assert [c["name"] for c in meta["channels.json"] if c["is_ext_shared"]] == ["acme-website"]
    assert meta["groups.json"] and meta["mpims.json"]
    assert all(len(d["members"]) == 2 for d in meta["dms.json"])
    with zipfile.ZipFile(workspace.files["slack"]) as zf:
        messages = [m for n in zf.namelist() if "/" in n for m in json.loads(zf.read(n))]
    subtypes = {m.get("subtype") for m in messages}
    assert {"bot_message", "file_share", "channel_join"} <= subtypes
    parents = [m for m in messages if m.get("reply_count")]
    assert parents and all(len(p["replies"]) == p["reply_count"] for p in parents)
    assert any("edited" in m for m in messages)
    assert any(re.search(r"<@U[A-Z0-9]+>", m["text"]) for m in messages)
    assert any(re.search(r"<https://www\.notion\.so/\S+-[0-9a-f]{32}\|", m["text"])
               for m in messages)


def test_mbox_is_gmail_like_and_mboxrd_escaped(workspace: WorkspaceManifest) -> None:
    found, messages = _mail_ids(workspace.files["email"])
    assert len(found) == len(messages) == workspace.counts["email"]
    assert all(m["X-GM-THRID"] and m["X-Gmail-Labels"] and m["Date"] for m in messages)
    kinds = {m.get_content_type() for m in messages}
    assert {"multipart/alternative", "text/html", "text/plain", "multipart/mixed"} <= kinds
    replies = [m for m in messages if m["In-Reply-To"]]
    assert replies and all(m["Subject"].startswith("Re:") for m in replies)
    texts = [p.get_payload(decode=True).decode() for m in replies for p in m.walk()
             if p.get_content_type() == "text/plain"]
    assert any(re.search(r"^On .+ wrote:$", t, re.M) and "\n> " in t for t in texts)
    forwards = [m for m in messages if m["Subject"].startswith("Fwd:")]
    assert forwards and all("Forwarded message" in m.as_string() for m in forwards)
    raw = workspace.files["email"].read_bytes()
    assert re.search(rb"^>From our side", raw, re.M), "a body 'From ' line must be escaped"
    separators = re.findall(rb"^From \d+@xxx ", raw, re.M)
    assert len(separators) == len(messages)


def test_calendar_has_recurrences_and_the_three_incidents(workspace: WorkspaceManifest) -> None:
    found, calendar = _event_ids(workspace.files["calendar"])
    assert len(found) == workspace.counts["calendar"]
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/London" and calendar["X-WR-CALNAME"]
    assert calendar.walk("VTIMEZONE")
    events = calendar.walk("VEVENT")
    masters = {str(e["UID"]): e for e in events if "RRULE" in e}
    overrides = [e for e in events if "RECURRENCE-ID" in e]
    assert any("EXDATE" in e for e in masters.values())
    assert any(isinstance(e.decoded("DTSTART"), date) and not isinstance(
        e.decoded("DTSTART"), datetime) for e in events)
    crisis = [e for e in overrides if str(e["SUMMARY"]) == "Acme crisis call"]
    assert len(crisis) == 1
    assert str(masters[str(crisis[0]["UID"])]["SUMMARY"]) == "Acme weekly review"
    assert crisis[0].decoded("RECURRENCE-ID").weekday() == 3
    assert crisis[0].decoded("DTSTART").weekday() == 1
    cancelled = [e for e in overrides if str(e["STATUS"]) == "CANCELLED"]
    assert len(cancelled) == 1
    moved = [e for e in overrides if str(e["STATUS"]) == "CONFIRMED"
             and str(e["SUMMARY"]) == str(masters[str(e["UID"])]["SUMMARY"])]
    assert len(moved) == 1
    assert moved[0].decoded("DTSTART").date() != moved[0].decoded("RECURRENCE-ID").date()
    assert all(str(a).startswith("mailto:") and a.params["CN"]
               for e in events for a in _as_list(e.get("ATTENDEE")))


def test_notion_export_has_pages_database_and_rows(workspace: WorkspaceManifest) -> None:
    with zipfile.ZipFile(workspace.files["notion"]) as zf:
        names = zf.namelist()
        top = {n.split("/", 1)[0] for n in names}
        assert len(top) == 1 and re.fullmatch(r"Export-[0-9a-f-]{36}", top.pop())
        [csv_name] = [n for n in names if n.endswith(".csv")]
        assert re.search(r"/Tasks [0-9a-f]{32}\.csv$", csv_name)
        rows = list(csv.DictReader(io.StringIO(zf.read(csv_name).decode("utf-8-sig"))))
        assert list(rows[0]) == ["Name", "Status", "Assignee", "Client", "Due",
                                 "Last edited time"]
        row_pages = [n for n in names if n.startswith(csv_name[:-4] + "/")]
        assert len(row_pages) == len(rows) > 5
        page = zf.read(row_pages[0]).decode()
        assert page.startswith("# ") and re.search(r"^Status: .+$", page, re.M)
        assert any(r["Status"] == "Done" for r in rows)
        assert any(re.search(r"/Acme Website Relaunch [0-9a-f]{32}\.md$", n) for n in names)
        assert any(re.search(r"/Acme Website Relaunch [0-9a-f]{32}/.+\.md$", n) for n in names)
        bodies = "".join(zf.read(n).decode() for n in names if n.endswith(".md"))
    assert re.search(r"\]\((\.\./)+[^)]+%20[0-9a-f]{32}\.(md|csv)\)", bodies)
    assert re.search(r"https://www\.notion\.so/\S+-[0-9a-f]{32}", bodies)
    assert len(_notion_ids(workspace.files["notion"])) == workspace.counts["notion"]


def test_every_gold_id_was_written(workspace: WorkspaceManifest,
                                   gold: list[dict[str, Any]]) -> None:
    written = (_slack_ids(workspace.files["slack"])[0] | _mail_ids(workspace.files["email"])[0]
               | _event_ids(workspace.files["calendar"])[0]
               | _notion_ids(workspace.files["notion"]))
    cited = {i for e in gold for f in e["must_mention"] for i in f["items"]}
    forbidden = {i for e in gold for i in e["must_not_mention"]}
    assert cited and forbidden
    assert cited - written == set()
    assert forbidden - written == set()


def test_gold_covers_every_client_week_with_cross_platform_facts(
        workspace: WorkspaceManifest, gold: list[dict[str, Any]]) -> None:
    clients = {e["client"] for e in gold}
    assert clients == {"Acme Corp", "Alpha Partners", "Globex"}
    assert {(e["client"], e["week"]) for e in gold} == {
        (c, w) for c in clients for w in workspace.weeks}
    assert workspace.weeks[-1] == "2026-W47"
    for entry in gold:
        assert entry["must_mention"], entry["client"] + entry["week"]
        cited = {i for f in entry["must_mention"] for i in f["items"]}
        assert not cited & set(entry["must_not_mention"])
    platforms = [{ids.platform_of(i) for i in f["items"]} for e in gold
                 for f in e["must_mention"]]
    assert any(len(p) >= 3 for p in platforms)
    assert {"slack", "email", "event", "notion"} <= set().union(*platforms)


def test_items_naming_two_clients_belong_to_their_channel(gold: list[dict[str, Any]]) -> None:
    by = {(e["client"], e["week"]): e for e in gold}
    last = max(e["week"] for e in gold)
    alpha_cited = {i for f in by[("Alpha Partners", last)]["must_mention"] for i in f["items"]}
    acme_forbidden = set(by[("Acme Corp", last)]["must_not_mention"])
    acme_cited = {i for f in by[("Acme Corp", last)]["must_mention"] for i in f["items"]}
    alpha_slack = {i for i in alpha_cited if i.startswith("slack:")}
    assert alpha_slack and alpha_slack <= acme_forbidden
    assert acme_cited <= set(by[("Alpha Partners", last)]["must_not_mention"])


def test_same_arguments_give_byte_identical_files(tmp_path: Path,
                                                  workspace: WorkspaceManifest) -> None:
    again = generate_workspace(tmp_path / "again", seed=7, weeks=2)
    for key in FILES:
        assert again.files[key].read_bytes() == workspace.files[key].read_bytes(), key
    other = generate_workspace(tmp_path / "other", seed=8, weeks=2)
    assert other.files["gold"].read_bytes() != workspace.files["gold"].read_bytes()


def test_scale_adds_volume_but_not_gold_clients(tmp_path: Path) -> None:
    small = generate_workspace(tmp_path / "s1", weeks=1)
    big = generate_workspace(tmp_path / "s3", weeks=1, scale=3)
    assert len(big.clients) == 9 and big.total_items > 2 * small.total_items
    gold = json.loads(big.files["gold"].read_text())
    assert {e["client"] for e in gold} == {"Acme Corp", "Alpha Partners", "Globex"}
    small_gold = small.files["gold"].stat().st_size
    assert big.files["gold"].stat().st_size < 1.5 * small_gold, "gold must stay bounded"
