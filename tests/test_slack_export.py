"""The slack-export importer, on a real 2016 export and on small built exports."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from threadline.connectors.base import Importer, load_importer
from threadline.connectors.slack_export import SlackExportImporter
from threadline.errors import ImportFailed
from threadline.records import (
    IdentityRecord,
    IdentityRef,
    ItemRecord,
    LinkRef,
    QuarantineRecord,
    Record,
)

FIXTURES = Path(__file__).parent / "fixtures" / "slack-export-viewer"
REAL_ZIP = FIXTURES / "testarchive.zip"
REAL_FOLDER = FIXTURES / "export"
ENRIQUE = "C0JGLMMNX"
SAILOR = "C0JL6CGQ2"


def read_all(path: Path, **options: object) -> list[Record]:
    return list(SlackExportImporter(path, **options).read())


def items(records: list[Record]) -> dict[str, ItemRecord]:
    return {r.canonical_id: r for r in records if isinstance(r, ItemRecord)}


def identities(records: list[Record]) -> dict[str, IdentityRecord]:
    return {r.identity.value: r for r in records if isinstance(r, IdentityRecord)}


def quarantined(records: list[Record]) -> list[QuarantineRecord]:
    return [r for r in records if isinstance(r, QuarantineRecord)]


@pytest.fixture(scope="module")
def real() -> list[Record]:
    return read_all(REAL_ZIP, domain="mesos-magellan")


# --- the real export ---------------------------------------------------------------------


def test_registered_and_implements_protocol() -> None:
    importer = load_importer("slack-export")(REAL_ZIP)
    assert isinstance(importer, Importer)
    assert importer.name == "slack-export"


def test_source_and_estimate() -> None:
    importer = SlackExportImporter(REAL_ZIP)
    source = importer.source()
    assert (source.platform, source.kind, source.account) == ("slack", "slack-export", "T0BMHLSRH")
    assert importer.estimate() == 17  # day files in the two channel folders


def test_real_export_users_and_bots(real: list[Record]) -> None:
    people = identities(real)
    hermione = people["U0BMS113R"]
    assert hermione.identity == IdentityRef(
        kind="slack", value="U0BMS113R", display_name="Hermione Granger"
    )
    assert hermione.profile["title"] == "Eat Monkeys"
    assert hermione.profile["team"] == "T0BMHLSRH"
    assert hermione.profile["name"] == "doubledeez"
    assert hermione.profile["is_bot"] is False
    # The GitHub integration's bots are named only by the "added an integration" notices.
    assert people["B0JL6RASU"].identity.display_name == "github"
    assert people["B0JL6RASU"].profile["is_bot"] is True
    assert set(people) == {
        "U0BMYT2FL", "U0BMS113R", "U0BMQB6JE", "U0BMM2FEH", "B0JL6RASU", "B0VJZKVHC", "B0JL6UFSL"
    }


def test_real_export_messages(real: list[Record]) -> None:
    by_id = items(real)
    assert len(by_id) == 158
    assert quarantined(real) == []

    mention = by_id[f"slack:{ENRIQUE}:1452837352.000006"]
    assert mention.text.startswith("@Harry Potter: Created an issue for a setup.py")
    assert mention.author == IdentityRef(
        kind="slack", value="U0BMQB6JE", display_name="Hamza Faran"
    )
    assert mention.container_name == "#enrique"
    assert mention.thread_id is None
    assert mention.occurred_at == datetime(2016, 1, 15, 5, 55, 52, 6, tzinfo=UTC)
    assert mention.created_at == mention.occurred_at
    assert LinkRef(kind="mention", target="slack:U0BMYT2FL") in mention.links
    assert [r.value for r in mention.recipients] == ["U0BMM2FEH", "U0BMS113R", "U0BMYT2FL"]
    assert mention.permalink == (
        "https://mesos-magellan.slack.com/archives/C0JGLMMNX/p1452837352000006"
    )

    join = by_id[f"slack:{ENRIQUE}:1452837318.000002"]
    assert join.native == {"channel": ENRIQUE, "ts": "1452837318.000002", "subtype": "channel_join"}
    assert join.text == "@Hamza Faran has joined the channel"


def test_real_bot_message_uses_attachment_text(real: list[Record]) -> None:
    commit = items(real)[f"slack:{SAILOR}:1459122907.000020"]
    assert commit.author is not None and commit.author.value == "B0JL6UFSL"
    assert commit.native["subtype"] == "bot_message"
    assert commit.text == (
        "[traveling-sailor:master] 1 new commit by hfaran:\n"
        "0c763fd (https://github.com/mesos-magellan/traveling-sailor/commit/"
        "0c763fd887181f9927569c4e7e567fa90c4d5db2): Add bruteforce test - hfaran"
    )
    assert commit.links == [
        LinkRef(
            kind="reference",
            target="https://github.com/mesos-magellan/traveling-sailor/commit/"
            "0c763fd887181f9927569c4e7e567fa90c4d5db2",
        )
    ]
    assert commit.raw["bot_id"] == "B0JL6UFSL"


def test_real_file_share_and_comment(real: list[Record]) -> None:
    by_id = items(real)
    share = by_id[f"slack:{SAILOR}:1459105865.000017"]
    assert share.native["subtype"] == "file_share"
    assert share.text.endswith("\n[file: 10 cities (10_cities.js)]")
    [attachment] = share.attachments
    assert (attachment.name, attachment.mime_type, attachment.size) == (
        "10_cities.js", "text/plain", 478
    )
    assert attachment.url is not None and attachment.url.startswith("https://files.slack.com/")

    comment = by_id[f"slack:{SAILOR}:1459106048.000018"]
    assert comment.native["subtype"] == "file_comment"
    # An old file comment names its author only inside the comment.
    assert comment.author is not None and comment.author.value == "U0BMS113R"
    assert "'Holmesville': (31.7036111, -82.3208333)" in comment.text


def test_real_edited_message_has_updated_at(real: list[Record]) -> None:
    edited = [i for i in items(real).values() if "edited" in i.raw]
    assert len(edited) == 1
    assert edited[0].updated_at == datetime(2016, 3, 26, 8, 32, 14, tzinfo=UTC)  # 1458981134
    assert edited[0].occurred_at is not None and edited[0].occurred_at < edited[0].updated_at


def test_zip_and_folder_give_identical_records(real: list[Record]) -> None:
    folder = read_all(REAL_FOLDER, domain="mesos-magellan")
    assert [r.model_dump() for r in folder] == [r.model_dump() for r in real]


def test_reading_twice_is_identical() -> None:
    first = read_all(REAL_ZIP)
    second = read_all(REAL_ZIP)
    assert [r.model_dump() for r in first] == [r.model_dump() for r in second]
    assert all(i.permalink is None for i in items(first).values())  # no domain, no permalink


# --- a built export: threads, edits, tombstones, private channels, DMs, group DMs --------

USERS = [
    {"id": "U1", "team_id": "T9", "name": "ann", "real_name": "Ann Lee",
     "profile": {"email": "ann@acme.com", "real_name": "Ann Lee", "display_name": "annie",
                 "title": "PM"}},
    {"id": "U2", "team_id": "T9", "name": "bob", "deleted": True,
     "profile": {"display_name": "bobby", "email": "bob@acme.com"}},
    {"id": "U3", "team_id": "T9", "name": "cy", "profile": {}},
    {"id": "U4", "team_id": "T9", "name": "deploybot", "is_bot": True,
     "profile": {"bot_id": "B7", "real_name": "Deploy Bot"}},
]
NOTION_URL = "https://www.notion.so/acme/Launch-plan-0123456789abcdef0123456789abcdef"


def msg(ts: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": ts, **extra}


def built_export() -> dict[str, Any]:
    return {
        "users.json": USERS,
        "channels.json": [{"id": "C1", "name": "general", "members": ["U1", "U2", "U3"]}],
        "groups.json": [{"id": "G1", "name": "secret-plans", "members": ["U1", "U2"]}],
        "dms.json": [{"id": "D1", "members": ["U1", "U2"]}],
        "mpims.json": [{"id": "G2", "name": "mpdm-ann--bob--cy-1", "members": ["U1", "U2", "U3"]}],
        "general/2024-03-01.json": [
            msg("1709280000.000100", "U1", "Plan is in <" + NOTION_URL + "|the plan>",
                thread_ts="1709280000.000100", reply_count=2),
            msg("1709280060.000200", "U2", "<!here> see <#C1|general> &amp; "
                "<https://acme.slack.com/archives/G1/p1709280000000300>",
                thread_ts="1709280000.000100", parent_user_id="U1"),
            msg("1709280120.000300", "U3", "broadcast reply", subtype="thread_broadcast",
                thread_ts="1709280000.000100"),
            msg("1709280180.000400", "U1", "fixed typo",
                edited={"user": "U1", "ts": "1709280200.000000"}),
            {"type": "message", "subtype": "tombstone", "user": "USLACKBOT", "hidden": True,
             "text": "This message was deleted.", "ts": "1709280240.000500",
             "thread_ts": "1709280240.000500"},
            {"type": "message", "subtype": "bot_message", "bot_id": "B7",
             "text": "Deployed v2", "ts": "1709280300.000600"},
            {"type": "message", "subtype": "bot_message", "bot_id": "B8", "username": "hook",
             "text": "ping", "ts": "1709280310.000700"},
        ],
        "general/2024-03-02.json": [
            msg("1709366400.000100", "U2", "new day <@U1>",
                files=[{"id": "F1", "name": "q1.pdf", "title": "Q1 report",
                        "mimetype": "application/pdf", "size": 1234,
                        "url_private": "https://files.slack.com/files-pri/T9-F1/q1.pdf"}]),
        ],
        "secret-plans/2024-03-01.json": [msg("1709280000.000900", "U2", "private hello")],
        "D1/2024-03-01.json": [msg("1709280000.000901", "U1", "dm hello")],
        "mpdm-ann--bob--cy-1/2024-03-01.json": [msg("1709280000.000902", "U3", "group hello")],
    }


def write_folder(root: Path, files: dict[str, Any]) -> Path:
    for relpath, content in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        target.write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, Any], prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for relpath, content in files.items():
            data = content if isinstance(content, bytes) else json.dumps(content).encode()
            archive.writestr(prefix + relpath, data)
    return path


@pytest.fixture
def built(tmp_path: Path) -> list[Record]:
    return read_all(write_folder(tmp_path / "acme", built_export()), domain="acme.slack.com")


def test_built_identities(built: list[Record]) -> None:
    people = identities(built)
    assert people["U1"].identity.display_name == "Ann Lee"
    assert people["U1"].profile["email"] == "ann@acme.com"
    assert people["U1"].profile["title"] == "PM"
    assert people["U2"].identity.display_name == "bobby"
    assert people["U2"].profile["deleted"] is True
    assert people["U3"].identity.display_name == "cy"
    # A bot user's bot id takes its name from users.json when the message does not carry one.
    assert people["B7"].identity.display_name == "Deploy Bot"
    assert people["B8"].identity.display_name == "hook"
    assert people["U4"].profile["is_bot"] is True


def test_built_thread(built: list[Record]) -> None:
    by_id = items(built)
    parent = by_id["slack:C1:1709280000.000100"]
    reply = by_id["slack:C1:1709280060.000200"]
    broadcast = by_id["slack:C1:1709280120.000300"]
    assert parent.thread_id == reply.thread_id == broadcast.thread_id == parent.canonical_id
    assert parent.native["thread_ts"] == "1709280000.000100"
    assert not any(link.kind == "reply_to" for link in parent.links)
    assert LinkRef(kind="reply_to", target=parent.canonical_id) in reply.links
    assert LinkRef(kind="reply_to", target=parent.canonical_id) in broadcast.links
    assert broadcast.native["subtype"] == "thread_broadcast"
    assert reply.permalink == (
        "https://acme.slack.com/archives/C1/p1709280060000200?thread_ts=1709280000.000100&cid=C1"
    )
    assert parent.permalink == "https://acme.slack.com/archives/C1/p1709280000000100"


def test_built_text_and_links(built: list[Record]) -> None:
    by_id = items(built)
    parent = by_id["slack:C1:1709280000.000100"]
    assert parent.text == f"Plan is in the plan ({NOTION_URL})"
    assert parent.links == [
        LinkRef(kind="reference", target="notion:01234567-89ab-cdef-0123-456789abcdef")
    ]
    reply = by_id["slack:C1:1709280060.000200"]
    assert reply.text == (
        "@here see #general & https://acme.slack.com/archives/G1/p1709280000000300"
    )
    assert LinkRef(kind="reference", target="slack:G1:1709280000.000300") in reply.links
    new_day = by_id["slack:C1:1709366400.000100"]
    assert new_day.text == "new day @Ann Lee\n[file: Q1 report (q1.pdf)]"
    assert LinkRef(kind="mention", target="slack:U1") in new_day.links
    assert new_day.attachments[0].model_dump() == {
        "name": "q1.pdf", "mime_type": "application/pdf", "size": 1234,
        "url": "https://files.slack.com/files-pri/T9-F1/q1.pdf",
    }


def test_built_edit_tombstone_and_bot(built: list[Record]) -> None:
    by_id = items(built)
    edited = by_id["slack:C1:1709280180.000400"]
    assert edited.updated_at == datetime(2024, 3, 1, 8, 3, 20, tzinfo=UTC)
    assert edited.deleted is False
    tombstone = by_id["slack:C1:1709280240.000500"]
    assert tombstone.deleted is True
    assert tombstone.author == IdentityRef(kind="slack", value="USLACKBOT", display_name="Slackbot")
    bot = by_id["slack:C1:1709280300.000600"]
    assert bot.author == IdentityRef(kind="slack", value="B7", display_name="Deploy Bot")
    assert bot.text == "Deployed v2"


def test_built_conversation_kinds(built: list[Record]) -> None:
    by_id = items(built)
    private = by_id["slack:G1:1709280000.000900"]
    assert (private.container_id, private.container_name) == ("G1", "#secret-plans")
    dm = by_id["slack:D1:1709280000.000901"]
    assert (dm.container_id, dm.container_name) == ("D1", "DM with Ann Lee, bobby")
    assert [r.value for r in dm.recipients] == ["U2"]  # the author is not a recipient
    group = by_id["slack:G2:1709280000.000902"]
    assert (group.container_id, group.container_name) == ("G2", "Group DM with Ann Lee, bobby, cy")
    assert [r.value for r in group.recipients] == ["U1", "U2"]


def test_deletion_forms(tmp_path: Path) -> None:
    files = {
        "users.json": USERS,
        "channels.json": [{"id": "C1", "name": "general", "members": ["U1"]}],
        "general/2024-03-01.json": [
            msg("1709280000.000100", "U1", "original"),
            {"type": "message", "subtype": "message_deleted", "hidden": True,
             "deleted_ts": "1709280000.000100", "ts": "1709280100.000200"},
            {"type": "message", "user": "U1", "hidden": True,
             "text": "This message was deleted.", "ts": "1709280200.000300"},
            msg("1709280300.000400", "U1", "This message was deleted."),  # typed, not deleted
        ],
        # Files other tools leave next to day files are not messages.
        "general/attachments/F1-q1.json": {"not": "a day"},
        "general/notes.json": {"not": "a day"},
    }
    records = read_all(write_folder(tmp_path / "acme", files))
    assert quarantined(records) == []
    deleted = {
        (r.canonical_id, r.deleted) for r in records if isinstance(r, ItemRecord)
    }
    assert deleted == {
        ("slack:C1:1709280000.000100", False),
        ("slack:C1:1709280000.000100", True),  # the deletion names the message it removed
        ("slack:C1:1709280200.000300", True),
        ("slack:C1:1709280300.000400", False),
    }


def test_built_source_uses_team_id(tmp_path: Path) -> None:
    path = write_folder(tmp_path / "acme", built_export())
    assert SlackExportImporter(path).source().account == "T9"
    no_users = {k: v for k, v in built_export().items() if k != "users.json"}
    bare = write_folder(tmp_path / "bare-export", no_users)
    assert SlackExportImporter(bare).source().account == "bare-export"


def test_big_channels_get_no_recipient_list(tmp_path: Path) -> None:
    records = read_all(write_folder(tmp_path / "acme", built_export()), max_recipients=2)
    by_id = items(records)
    assert by_id["slack:C1:1709280180.000400"].recipients == []  # 3 members > 2
    assert [r.value for r in by_id["slack:G1:1709280000.000900"].recipients] == ["U1"]


def test_built_zip_and_folder_identical_even_when_zipped_one_level_deep(tmp_path: Path) -> None:
    files = built_export()
    folder = read_all(write_folder(tmp_path / "acme", files))
    zipped = read_all(write_zip(tmp_path / "acme.zip", files, prefix="acme export/"))
    assert len(items(folder)) == 11
    assert [r.model_dump() for r in zipped] == [r.model_dump() for r in folder]


def test_orphan_folder_is_read_under_its_name(tmp_path: Path) -> None:
    files = built_export()
    files["stray/2024-03-01.json"] = [msg("1709280000.000999", "U1", "who am I")]
    by_id = items(read_all(write_folder(tmp_path / "acme", files)))
    stray = by_id["slack:stray:1709280000.000999"]
    assert stray.container_name == "#stray"


# --- bad input -----------------------------------------------------------------------------


def test_invalid_json_day_file_is_quarantined(tmp_path: Path) -> None:
    files = built_export()
    broken = b'[\n  {"type": "message", "ts": "1709366400.000100",\n   "text": "cut'
    files["general/2024-03-02.json"] = broken
    records = read_all(write_folder(tmp_path / "acme", files))
    [bad] = quarantined(records)
    assert bad.file == "general/2024-03-02.json"
    assert bad.position == "line 3, column 12"
    assert bad.raw == broken
    assert "invalid JSON" in bad.reason
    assert len(items(records)) == 10  # everything else still imported


def test_day_file_that_is_not_utf8_is_quarantined(tmp_path: Path) -> None:
    files = built_export()
    damaged = b'[{"type": "message", "text": "caf\xe9", "ts": "1709280000.000901"}]'
    files["D1/2024-03-01.json"] = damaged
    [bad] = quarantined(read_all(write_folder(tmp_path / "acme", files)))
    assert (bad.file, bad.position, bad.raw) == ("D1/2024-03-01.json", "byte 33", damaged)
    assert "UTF-8" in bad.reason


def test_bad_messages_are_quarantined_by_index(tmp_path: Path) -> None:
    files = built_export()
    files["general/2024-03-02.json"] = [
        msg("1709366400.000100", "U2", "fine"),
        "not a message",
        {"type": "message", "user": "U1", "text": "no ts"},
        msg("1709366400.000200", "U2", "also fine"),
    ]
    records = read_all(write_folder(tmp_path / "acme", files))
    bad = quarantined(records)
    assert [(q.file, q.position) for q in bad] == [
        ("general/2024-03-02.json", "message index 1"),
        ("general/2024-03-02.json", "message index 2"),
    ]
    assert bad[0].raw == b'"not a message"'
    assert json.loads(bad[1].raw) == {"type": "message", "user": "U1", "text": "no ts"}
    assert "ts" in bad[1].reason
    assert "slack:C1:1709366400.000200" in items(records)


def test_day_file_that_is_not_a_list_is_quarantined(tmp_path: Path) -> None:
    files = built_export()
    files["D1/2024-03-01.json"] = {"messages": []}
    [bad] = quarantined(read_all(write_folder(tmp_path / "acme", files)))
    assert (bad.file, bad.position) == ("D1/2024-03-01.json", "top level")


def test_broken_users_json_is_quarantined_and_messages_still_import(tmp_path: Path) -> None:
    files = built_export()
    files["users.json"] = b'[{"id": "U1",'
    records = read_all(write_folder(tmp_path / "acme", files))
    [bad] = quarantined(records)
    assert (bad.file, bad.position) == ("users.json", "line 1, column 14")
    assert len(items(records)) == 11
    assert items(records)["slack:C1:1709366400.000100"].text.startswith("new day @U1")


def test_corrupt_zip_member_is_quarantined_and_the_rest_read(tmp_path: Path) -> None:
    files = built_export()
    files["secret-plans/2024-03-01.json"] = [msg("1709280000.000900", "U2", "CORRUPT-ME")]
    path = write_zip(tmp_path / "acme.zip", files)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"CORRUPT-ME", b"CORRUPTED!"))
    records = read_all(path)
    [bad] = quarantined(records)
    assert (bad.file, bad.position) == ("secret-plans/2024-03-01.json", "zip member")
    assert b"CORRUPTED!" in bad.raw  # the stored bytes, kept as they are
    assert "damaged" in bad.reason
    assert len(items(records)) == 10


def test_truncated_zip_fails_with_a_clear_message(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "acme.zip", built_export())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImportFailed, match=r"acme\.zip cannot be opened as a zip"):
        read_all(path)


def test_not_a_slack_export_fails(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ImportFailed, match="does not look like a Slack export"):
        read_all(tmp_path)
