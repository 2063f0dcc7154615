"""The Notion export importer against a real Notion export, and against broken ones."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from threadline.connectors.base import load_importer
from threadline.connectors.notion_export import NotionExportImporter
from threadline.errors import ImportFailed
from threadline.records import IdentityRecord, ItemRecord, QuarantineRecord, Record

FIXTURES = Path(__file__).parent / "fixtures" / "notion-export"
ZIP = FIXTURES / "Notion.Test.Export.zip"
FOLDER = FIXTURES / "markdown-csv-export"
HTML_ZIP = FIXTURES / "notion-testspace.zip"
HABITS = "notion:152bb52e-e2b5-804d-a922-efa8c3194444"
MOBILE = "notion:152bb52e-e2b5-8017-9846-fd78b2b60ea9"
SUB_PAGE = "notion:25592a85-5465-46a4-8b02-dfa4fb545e1d"


def read(path: Path, **options: object) -> list[Record]:
    return list(NotionExportImporter(path, **options).read())


def items(records: list[Record]) -> dict[str, ItemRecord]:
    found = [r for r in records if isinstance(r, ItemRecord)]
    by_id = {r.canonical_id: r for r in found}
    assert len(by_id) == len(found), "canonical ids must be unique"
    return by_id


def quarantined(records: list[Record]) -> list[QuarantineRecord]:
    return [r for r in records if isinstance(r, QuarantineRecord)]


@pytest.fixture(scope="module")
def real() -> list[Record]:
    return read(ZIP)


def test_registered_under_its_name() -> None:
    assert load_importer("notion-export") is NotionExportImporter
    assert NotionExportImporter(ZIP).name == "notion-export"


def test_zip_of_zips_and_unpacked_folder_give_identical_records(real: list[Record]) -> None:
    from_folder = read(FOLDER)
    assert [r.model_dump() for r in real] == [r.model_dump() for r in from_folder]
    assert [r.model_dump() for r in read(ZIP)] == [r.model_dump() for r in real]
    assert NotionExportImporter(ZIP).source() == NotionExportImporter(FOLDER).source().model_copy(
        update={"label": "Notion.Test.Export.zip"}
    )


def test_source_names_the_workspace() -> None:
    source = NotionExportImporter(ZIP).source()
    assert (source.platform, source.kind, source.account) == (
        "notion",
        "notion-export",
        "Test Workspace",
    )


def test_pages_hierarchy_and_text(real: list[Record]) -> None:
    by_id = items(real)
    top = by_id[MOBILE]
    assert top.kind == "page"
    assert top.title == "Getting Started on Mobile"
    assert (top.container_id, top.thread_id) == ("notion:workspace", None)
    assert top.native == {
        "page_id": MOBILE.removeprefix("notion:"),
        "path": "Getting Started on Mobile 152bb52ee2b580179846fd78b2b60ea9.md",
    }
    assert top.permalink == "https://www.notion.so/152bb52ee2b580179846fd78b2b60ea9"
    assert (
        "Tap anywhere and select ✨ in the bar above your keyboard to check out Notion AI"
        in top.text
    )
    assert "**" not in top.text and "# " not in top.text and "%20" not in top.text

    child = by_id[SUB_PAGE]
    assert child.container_id == MOBILE
    assert child.container_name == "Getting Started on Mobile"
    assert child.thread_id == MOBILE
    assert child.title == "Example sub page"
    assert child.text.startswith("In Notion, you can nest pages inside pages")

    planner = next(r for r in by_id.values() if r.title == "Project Planner")
    assert "[x] Research publishing options (traditional, self-publishing)" in planner.text
    assert "📝 Publish my first book" in planner.text


def test_links_between_pages(real: list[Record]) -> None:
    by_id = items(real)
    assert [link.model_dump() for link in by_id[MOBILE].links] == [
        {"kind": "reference", "target": SUB_PAGE}
    ]


def test_database_rows_come_from_the_all_csv_once(real: list[Record]) -> None:
    by_id = items(real)
    kinds = Counter(r.kind for r in by_id.values())
    # 269 CSV rows, each with its page, plus one row page the CSV no longer lists.
    assert kinds == {"row": 270, "page": 8, "database": 1}
    assert not quarantined(real)

    database = by_id[HABITS]
    assert database.title == "Habit Tracker"
    assert database.raw == {
        "columns": ["Date", "Ran today", "Meditated", "Practiced guitar", "Full date"]
    }

    row = by_id["notion:152bb52e-e2b5-811d-92b1-e629b25d0c0a"]
    assert row.kind == "row"
    assert row.title == "@December 1, 2024"
    assert (row.container_id, row.container_name, row.thread_id) == (
        HABITS,
        "Habit Tracker",
        HABITS,
    )
    # "Full date" is only in the _all.csv: the properties prove which CSV was read.
    assert row.raw["properties"] == {
        "Date": "@December 1, 2024",
        "Ran today": "No",
        "Meditated": "No",
        "Practiced guitar": "No",
        "Full date": "December 4, 2024 8:45 AM",
    }
    assert row.raw["markdown"].startswith("# @December 1, 2024\n")
    assert row.native["database_id"] == HABITS.removeprefix("notion:")
    assert "Practiced guitar: No" in row.text
    assert row.occurred_at == datetime(2024, 12, 1, tzinfo=UTC)


def test_row_page_titled_by_a_relative_date_still_pairs_with_its_csv_row(
    real: list[Record],
) -> None:
    today = items(real)["notion:247bb52e-e2b5-81bd-8427-f3cc449ee2cd"]
    assert today.title == "@Today"
    assert today.native["csv_row"] == "270"
    assert today.raw["properties"]["Date"] == "@August 6, 2025"
    assert today.occurred_at == datetime(2025, 8, 6, tzinfo=UTC)


def test_estimate_counts_pages_rows_and_databases() -> None:
    assert NotionExportImporter(ZIP).estimate() == 279


def test_html_export_pages() -> None:
    by_id = items(read(HTML_ZIP))
    assert {r.title for r in by_id.values()} == {
        "Notion-Testspace",
        "Block Reference",
        "Formatting Tests",
        "Attachment Tests",
    }
    root = by_id["notion:1590080a-a5a3-8024-88c2-e857dea7aa7d"]
    assert root.text.startswith(
        "Notion-Testspace is a Notion workspace created by @felciabatta to test the"
    )
    targets = [link.target for link in root.links]
    assert "notion:1580080a-a5a3-8194-a9c0-e77779ee82d5" in targets
    assert "https://github.com/obsidianmd/obsidian-importer" in targets
    attachments = by_id["notion:15f0080a-a5a3-80c6-b16c-fed449a03a8b"]
    assert attachments.container_id == root.canonical_id
    assert "felis-catus.jpg" in [a.name for a in attachments.attachments]


# --- a small hand-built export with what the real one lacks -------------------------------

DB = "Projects 0123456789abcdef0123456789abcdef"
ALPHA = "Project Alpha 11111111111111111111111111111111"
WIKI = "Wiki aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
ROW_PAGE = f"""# Project Alpha

Status: Done
Created: March 3, 2025 9:15 AM
Last edited time: March 5, 2025 4:00 PM (GMT+2)
Created by: Alice Martin
Related: Wiki (../{WIKI.replace(" ", "%20")}.md)

Kick-off with **Acme**, see [the brief](https://example.com/brief).
"""
CSV_ALL = (
    "\ufeffName,Status,Created,Last edited time,Created by,Related\n"
    '"Project Alpha",Done,"March 3, 2025 9:15 AM","March 5, 2025 4:00 PM (GMT+2)",'
    f'Alice Martin,"Wiki ({WIKI.replace(" ", "%20")}.md)"\n'
    'Project Beta,Doing,"April 1, 2025 10:00 AM",,Bob Chen,\n'
    "Broken,row,with,too,many,cells,here\n"
)


def build(root: Path) -> Path:
    export = root / "Export-1234"
    (export / DB).mkdir(parents=True)
    (export / WIKI).mkdir()
    (export / f"{DB}.csv").write_text("Name,Status\nProject Alpha,Done\n", encoding="utf-8")
    (export / f"{DB}_all.csv").write_text(CSV_ALL, encoding="utf-8")
    (export / DB / f"{ALPHA}.md").write_text(ROW_PAGE, encoding="utf-8")
    (export / f"{WIKI}.md").write_text(
        "# Wiki\n\n## Clients\n\n| Client | Owner |\n|---|---|\n| Acme | Alice |\n\n"
        "See https://www.notion.so/acme/Project-Alpha-11111111111111111111111111111111?pvs=4\n",
        encoding="utf-8",
    )
    (export / WIKI / "Meeting notes.md").write_bytes(b"# Notes\n\nCaf\xe9 at 10\n")
    (export / WIKI / "diagram.png").write_bytes(b"\x89PNG fake")
    return export


@pytest.fixture()
def built(tmp_path: Path) -> list[Record]:
    return read(build(tmp_path), default_tz="Europe/Paris")


def test_row_properties_times_author_and_relations(built: list[Record]) -> None:
    row = items(built)["notion:11111111-1111-1111-1111-111111111111"]
    assert row.kind == "row"
    assert row.container_id == "notion:01234567-89ab-cdef-0123-456789abcdef"
    assert row.raw["properties"]["Status"] == "Done"
    assert row.created_at == datetime(2025, 3, 3, 8, 15, tzinfo=UTC)  # naive: Europe/Paris
    assert row.updated_at == datetime(2025, 3, 5, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    assert row.occurred_at == row.updated_at
    assert row.author is not None and row.author.key == "notion:Alice Martin"
    assert [link.target for link in row.links] == [
        "notion:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
        "https://example.com/brief",
    ]
    assert "Status: Done" in row.text
    assert "Kick-off with Acme, see the brief (https://example.com/brief)." in row.text
    people = [r.identity.value for r in built if isinstance(r, IdentityRecord)]
    assert people == ["Alice Martin", "Bob Chen"]


def test_csv_row_without_page_gets_a_stable_synthetic_id(
    tmp_path: Path, built: list[Record]
) -> None:
    beta = [r for r in items(built).values() if r.title == "Project Beta"]
    assert len(beta) == 1
    assert beta[0].native["synthetic_id"] == "1"
    assert beta[0].native["csv_row"] == "3"
    assert beta[0].text == "Status: Doing\nCreated: April 1, 2025 10:00 AM\nCreated by: Bob Chen"
    again = items(read(build(tmp_path / "again"), default_tz="Europe/Paris"))
    assert beta[0].canonical_id in again


def test_ragged_csv_row_is_quarantined_and_the_rest_imported(built: list[Record]) -> None:
    bad = quarantined(built)
    assert len(bad) == 1
    assert bad[0].file == f"{DB}_all.csv"
    assert bad[0].position == "row 4"
    assert f"{DB}_all.csv row 4: 7 cells, header has 6" in bad[0].reason
    assert bad[0].raw == b"Broken,row,with,too,many,cells,here\r\n"
    assert sum(1 for r in items(built).values() if r.kind == "row") == 2


def test_page_links_tables_ids_and_bad_bytes(built: list[Record]) -> None:
    by_id = items(built)
    wiki = by_id["notion:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"]
    assert "Clients\n\nClient | Owner\nAcme | Alice" in wiki.text
    assert [link.target for link in wiki.links] == ["notion:11111111-1111-1111-1111-111111111111"]
    assert [a.name for a in wiki.attachments] == ["diagram.png"]

    notes = next(r for r in by_id.values() if r.title == "Notes")
    assert notes.native["synthetic_id"] == "1"
    assert notes.native["path"] == f"{WIKI}/Meeting notes.md"
    assert notes.container_id == wiki.canonical_id
    assert notes.text == "Caf\ufffd at 10"
    assert notes.permalink is None


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return target


def test_truncated_zip_keeps_what_comes_before_the_cut(tmp_path: Path) -> None:
    whole = zip_folder(build(tmp_path), tmp_path / "export.zip")
    data = whole.read_bytes()
    cut_at = data.index(b"PK\x03\x04", data.index(b"Meeting notes.md")) - 5
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[:cut_at])
    records = read(cut)
    bad = [r for r in quarantined(records) if not r.file.endswith(".csv")]
    assert len(bad) == 1
    assert (
        bad[0].file == "cut.zip/Export-1234/Wiki aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Meeting notes.md"
    )
    assert bad[0].position.startswith("byte ")
    assert "cut off" in bad[0].reason
    titles = {r.title for r in items(records).values()}
    # Members before the cut are read; the Wiki page was written after it.
    assert titles == {"Projects", "Project Alpha", "Project Beta"}


def test_damaged_member_is_quarantined(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{WIKI}.md", "# Wiki\n\nfine\n")
        archive.writestr(f"Broken {'b' * 32}.md", "# Broken\n\nthis will be damaged\n")
    data = bytearray(buffer.getvalue())
    spot = data.index(b"this will be damaged")
    data[spot] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    records = read(damaged)
    assert [r.title for r in items(records).values()] == ["Wiki"]
    bad = quarantined(records)
    assert [b.file for b in bad] == [f"Broken {'b' * 32}.md"]
    assert "re-download" in bad[0].reason


def test_nothing_readable_raises_import_failed(tmp_path: Path) -> None:
    junk = tmp_path / "export.zip"
    junk.write_bytes(b"this is not a zip")
    with pytest.raises(ImportFailed, match=r"export\.zip is not a zip file"):
        read(junk)
    empty = tmp_path / "empty"
    (empty / "photos").mkdir(parents=True)
    (empty / "photos" / "a.png").write_bytes(b"png")
    with pytest.raises(ImportFailed, match="Markdown & CSV"):
        read(empty)


def test_bad_default_tz_is_refused() -> None:
    with pytest.raises(Exception, match="not a time zone name"):
        NotionExportImporter(ZIP, default_tz="Mars/Olympus")


def test_cut_download_of_the_real_zip_of_zips_is_salvaged(tmp_path: Path) -> None:
    cut = tmp_path / "Notion.Test.Export.zip"
    cut.write_bytes(ZIP.read_bytes()[:70_000])
    records = read(cut)
    bad = quarantined(records)
    assert bad[0].position == "byte 0"
    assert (
        bad[0].file
        == "Notion.Test.Export.zip/Export-d2b14fbf-86de-4508-a1b2-6515ff8d7aab-Part-1.zip"
    )
    assert "files before the cut were read" in bad[0].reason
    assert bad[-1].file.startswith(bad[0].file + "/Export-d2b14fbf-86de-4508-a1b2-6515ff8d7aab/")
    by_id = items(records)
    whole = items(read(ZIP))
    assert 200 < len(by_id) < len(whole)
    # What was salvaged is the same as what the whole export gives for those pages.
    assert by_id[SUB_PAGE] == whole[SUB_PAGE]


def test_cut_html_export_with_data_descriptors_is_salvaged(tmp_path: Path) -> None:
    # This zip streams sizes after each member's data, so the salvage must inflate to find them.
    cut = tmp_path / "notion-testspace.zip"
    cut.write_bytes(HTML_ZIP.read_bytes()[:40_000])
    records = read(cut)
    assert {r.title for r in items(records).values()} == {
        "Notion-Testspace",
        "Attachment Tests",
        "Block Reference",
        "Formatting Tests",
    }
    assert quarantined(records)[-1].file.endswith("/felis-catus.jpg")
