"""Imports a Notion "Markdown & CSV" export (zip, zip of zips, or unpacked folder).

Page hierarchy comes from paths alone: ``Parent <id>/Child <id>.md`` is a child of the
page ``Parent <id>.md``, and a folder next to ``Tasks <id>.csv`` holds that database's
row pages. Member names are indexed once; each page is then read, turned into a record
and dropped, one at a time. Notion's HTML export gets basic support (pages only).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Container, Iterator
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from threadline import ids
from threadline.connectors.import_units import (
    fingerprint,
    finish_unit,
    known_count,
    skipped,
    unit_name,
)
from threadline.connectors.notion_archive import NotionArchive
from threadline.connectors.notion_database import Header, Row, read_database
from threadline.connectors.notion_markdown import (
    NotionDocument,
    find_hrefs,
    parse_html,
    parse_markdown,
)
from threadline.connectors.notion_properties import read_facts
from threadline.connectors.notion_tree import (
    ExportIndex,
    Place,
    link_target,
    place_of,
    split_name,
    synthetic_uuid,
)
from threadline.errors import ConfigError, ImportFailed, ItemUnreadable
from threadline.records import (
    Attachment,
    IdentityRecord,
    IdentityRef,
    ItemRecord,
    KnownUnits,
    LinkRef,
    QuarantineRecord,
    Record,
    SourceInfo,
)

_WORKSPACE_NAME = re.compile(r"Workspace name:\s*([^<\n]+)")
_PAGE_SUFFIXES = (".md", ".html")
# In every unit's fingerprint: bump it when a change here alters a page's or database's records.
IMPORTER_VERSION = "notion-export/1"


class NotionExportImporter:
    """``threadline import notion-export <zip or folder>``."""

    name = "notion-export"
    known_units: KnownUnits | None = None
    """Set by the runner: pages and databases imported before unchanged are not parsed."""

    def __init__(self, path: Path, **options: object) -> None:
        if not path.exists():
            raise ImportFailed(f"{path} does not exist: give the Notion export zip or folder")
        self.path = path
        self.default_tz = _zone(options.get("default_tz"))
        self._account: str | None = None

    def source(self) -> SourceInfo:
        if self._account is None:
            with NotionArchive(self.path) as archive:
                self._account = _account(archive, self.path)
        return SourceInfo(
            platform="notion", kind=self.name, account=self._account, label=self.path.name
        )

    def estimate(self) -> int | None:
        with NotionArchive(self.path) as archive:
            index = ExportIndex(archive.members)
            return (
                len(index.pages) + sum(len(r) for r in index.rows.values()) + len(index.databases)
            )

    def read(self) -> Iterator[Record]:
        with NotionArchive(self.path) as archive:
            self._account = self._account or _account(archive, self.path)
            reader = _Reader(archive, self.default_tz, self._account, self.known_units)
            yield from reader.records()


class _Reader:
    """Reads the export one unit at a time: a page file, or a database (its CSV and row
    pages together, as rows are paired with CSV lines across the whole database)."""

    def __init__(
        self,
        archive: NotionArchive,
        default_tz: tzinfo,
        account: str,
        known_units: KnownUnits | None = None,
    ) -> None:
        self.archive = archive
        self.members = archive.members
        self.index = ExportIndex(archive.members)
        self.default_tz = default_tz
        self.account = account
        self.known_units = known_units
        # The workspace name titles top-level pages' parent; the format picks the parser.
        self.context = fingerprint(
            IMPORTER_VERSION, account, self.index.html, str(getattr(default_tz, "key", default_tz))
        )
        self.people: set[str] = set()
        self.items = 0
        self.failures = 0

    def records(self) -> Iterator[Record]:
        for problem in self.archive.problems:
            self.failures += 1
            yield QuarantineRecord(
                platform="notion",
                file=problem.file,
                position=problem.position,
                reason=problem.reason,
                raw=problem.raw,
            )
        index = self.index
        if not index.pages and not index.databases:
            raise ImportFailed(
                f"{self.archive.path} holds no Notion pages: export the workspace from Notion "
                "with Settings > Export, format 'Markdown & CSV', and give that zip or folder"
            )
        pages = iter(index.pages)
        databases = iter(sorted(index.databases.items(), key=lambda item: item[1]))
        # Two sorted streams merged by name, so output order is the member order.
        page = next(pages, None)
        database = next(databases, None)
        while page is not None or database is not None:
            if database is None or (page is not None and page < database[1]):
                assert page is not None
                yield from self._unit(page, self._page_stamp(page), self._page(page))
                page = next(pages, None)
            else:
                stamp = self._database_stamp(*database)
                yield from self._unit(database[1], stamp, self._database(*database))
                database = next(databases, None)
        if self.items == 0 and self.failures:
            raise ImportFailed(
                f"nothing in {self.archive.path} could be read ({self.failures} damaged "
                "files, see the quarantine): re-download the export from Notion"
            )

    def _unit(self, name: str, stamp: str | None, records: Iterator[Record]) -> Iterator[Record]:
        unit = unit_name(name)
        count = known_count(self.known_units, unit, stamp)
        if stamp is not None and count is not None:
            self.items += count
            yield skipped(unit, stamp, count)
            return
        yield from finish_unit(unit, stamp, records)

    def _file_stamp(self, name: str) -> tuple[str, str, list[tuple[str, int]]]:
        """A page file's bytes (by checksum) and its attachments' names and sizes."""
        folder = name.rsplit(".", 1)[0]
        attachments = [(a, self.members[a].size) for a in self.index.attachments.get(folder, [])]
        return name, self.members[name].fingerprint(), attachments

    def _page_stamp(self, name: str) -> str | None:
        # The parent's title comes from the path (the unit's name), not the parent's file.
        try:
            return fingerprint(IMPORTER_VERSION, self.context, self._file_stamp(name))
        except ItemUnreadable:
            return None

    def _database_stamp(self, folder: str, csv_name: str) -> str | None:
        _, db_hex = split_name(folder.rpartition("/")[2])
        try:
            return fingerprint(
                IMPORTER_VERSION,
                self.context,
                self.members[csv_name].fingerprint(),
                db_hex is not None and db_hex in self.index.page_ids,
                [self._file_stamp(name) for name in self.index.rows.get(folder, [])],
            )
        except ItemUnreadable:
            return None

    def _page(self, name: str) -> Iterator[Record]:
        try:
            document = self._load(name, None)
        except ItemUnreadable as exc:
            self.failures += 1
            yield _quarantine(exc)
            return
        yield from self._emit(self._item(name, document, "page", document.properties))

    def _database(self, folder: str, csv_name: str) -> Iterator[Record]:
        title, db_hex = split_name(folder.rpartition("/")[2])
        db_uuid = ids.normalize_notion_id(db_hex) if db_hex else synthetic_uuid(csv_name)
        rows = self.index.rows.get(folder, [])
        for event in read_database(self.members[csv_name], rows, self._load):
            if isinstance(event, QuarantineRecord):
                self.failures += 1
                yield event
            elif isinstance(event, Header):
                # A full-page database may also come as a page with the same id.
                if db_hex is None or db_hex not in self.index.page_ids:
                    yield from self._emit(
                        self._database_item(csv_name, db_uuid, title, event.columns)
                    )
            elif event.page is not None and event.document is not None:
                item = self._item(event.page, event.document, "row", event.properties)
                item.native["database_id"] = db_uuid
                if event.number is not None:
                    item.native["csv_row"] = str(event.number)
                yield from self._emit(item)
            else:
                yield from self._emit(self._csv_only_row(csv_name, db_uuid, event))

    def _load(self, name: str, columns: Container[str] | None) -> NotionDocument:
        data = self.members[name].read()
        text = data.decode("utf-8", errors="replace")
        document = parse_html(text) if self.index.html else parse_markdown(text, columns)
        if document.title is None:
            document.title = split_name(name.rpartition("/")[2])[0]
        return document

    def _emit(self, item: ItemRecord) -> Iterator[Record]:
        self.items += 1
        people = [item.author] if item.author else []
        people.extend(item.recipients)
        for person in people:
            if person.value not in self.people:
                self.people.add(person.value)
                yield IdentityRecord(
                    identity=person, platform="notion", profile={"name": person.value}
                )
        yield item

    def _place(self, name: str) -> Place:
        return place_of(name, self.account)

    def _item(
        self, name: str, document: NotionDocument, kind: str, properties: dict[str, str]
    ) -> ItemRecord:
        _, page_hex = split_name(name.rpartition("/")[2])
        page_uuid = ids.normalize_notion_id(page_hex) if page_hex else synthetic_uuid(name)
        native = {"page_id": page_uuid, "path": name}
        if page_hex is None:
            native["synthetic_id"] = "1"
        place = self._place(name)
        facts = read_facts(properties, self.default_tz)
        canonical = f"notion:{page_uuid}"
        raw: dict[str, object] = {"properties": properties} if properties else {}
        raw["html" if self.index.html else "markdown"] = document.source
        return ItemRecord(
            platform="notion",
            kind=kind,
            canonical_id=canonical,
            native=native,
            container_id=place.parent_id,
            container_name=place.parent_title,
            thread_id=place.root_id,
            author=person_ref(facts.author),
            recipients=people_refs(facts.people, facts.author),
            created_at=facts.created_at,
            updated_at=facts.updated_at,
            occurred_at=facts.occurred_at,
            title=document.title,
            text=document.text,
            permalink=permalink_for(page_uuid, page_hex is not None),
            raw=raw,
            links=reference_links(document.hrefs, properties, canonical),
            attachments=self._attachments(name),
        )

    def _database_item(
        self, csv_name: str, db_uuid: str, title: str, columns: list[str]
    ) -> ItemRecord:
        place = self._place(csv_name)
        native = {"page_id": db_uuid, "path": csv_name}
        if split_name(csv_name.rpartition("/")[2])[1] is None:
            native["synthetic_id"] = "1"
        return ItemRecord(
            platform="notion",
            kind="database",
            canonical_id=f"notion:{db_uuid}",
            native=native,
            container_id=place.parent_id,
            container_name=place.parent_title,
            thread_id=place.root_id,
            title=title,
            text=f"{title}\nColumns: {', '.join(columns)}" if columns else title,
            permalink=permalink_for(db_uuid, "synthetic_id" not in native),
            raw={"columns": columns},
        )

    def _csv_only_row(self, csv_name: str, db_uuid: str, row: Row) -> ItemRecord:
        """A CSV row with no page file: its id is made up, stable across imports."""
        row_uuid = synthetic_uuid(db_uuid, row.title, str(row.number))
        folder = csv_name.removesuffix(".csv").removesuffix("_all")
        place = self._place(f"{folder}/row.md")
        facts = read_facts(row.properties, self.default_tz)
        canonical = f"notion:{row_uuid}"
        title_key = next(iter(row.properties), None)
        text = "\n".join(f"{k}: {v}" for k, v in row.properties.items() if v and k != title_key)
        return ItemRecord(
            platform="notion",
            kind="row",
            canonical_id=canonical,
            native={
                "page_id": row_uuid,
                "path": csv_name,
                "database_id": db_uuid,
                "csv_row": str(row.number),
                "synthetic_id": "1",
            },
            container_id=place.parent_id,
            container_name=place.parent_title,
            thread_id=place.root_id,
            author=person_ref(facts.author),
            recipients=people_refs(facts.people, facts.author),
            created_at=facts.created_at,
            updated_at=facts.updated_at,
            occurred_at=facts.occurred_at,
            title=row.title or None,
            text=text,
            raw={"properties": row.properties},
            links=reference_links([], row.properties, canonical),
        )

    def _attachments(self, name: str) -> list[Attachment]:
        folder = name.rsplit(".", 1)[0]
        found = []
        for member_name in self.index.attachments.get(folder, []):
            base = member_name.rpartition("/")[2]
            found.append(
                Attachment(
                    name=base,
                    mime_type=mimetypes.guess_type(base)[0],
                    size=self.members[member_name].size,
                )
            )
        return found


def reference_links(hrefs: list[str], properties: dict[str, str], own_id: str) -> list[LinkRef]:
    targets = list(hrefs)
    for value in properties.values():
        targets.extend(find_hrefs(value))
    links: dict[str, LinkRef] = {}
    for href in targets:
        target = link_target(href)
        if target is not None and target != own_id:
            links.setdefault(target, LinkRef(kind="reference", target=target))
    return list(links.values())


def person_ref(name: str | None) -> IdentityRef | None:
    return IdentityRef(kind="notion", value=name, display_name=name) if name else None


def people_refs(names: tuple[str, ...], author: str | None) -> list[IdentityRef]:
    return [IdentityRef(kind="notion", value=n, display_name=n) for n in names if n != author]


def permalink_for(page_uuid: str, real: bool) -> str | None:
    return f"https://www.notion.so/{page_uuid.replace('-', '')}" if real else None


def _quarantine(exc: ItemUnreadable) -> QuarantineRecord:
    return QuarantineRecord(
        platform="notion", file=exc.file, position=exc.position, reason=exc.reason, raw=exc.raw
    )


def _zone(value: object) -> tzinfo:
    if value is None or value == "":
        return UTC
    if isinstance(value, tzinfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"default_tz {value!r} is not a time zone name: use one like 'Europe/Paris'"
        ) from exc


def _account(archive: NotionArchive, path: Path) -> str:
    """The workspace name Notion writes in index.html, else the export's own name."""
    index = archive.members.get("index.html")
    if index is not None:
        try:
            head = index.read(1 << 16).decode("utf-8", errors="replace")
        except ItemUnreadable:
            head = ""
        match = _WORKSPACE_NAME.search(head)
        if match:
            return match.group(1).strip()
    if archive.wrapper:
        return archive.wrapper
    return path.stem if path.is_file() else path.name
