"""Pairs a Notion database's CSV rows with its row pages.

The CSV has every row and all property values but no ids; each row page has the id
(in its file name) and the body. They are matched by title, and among rows sharing a
title by their property values. A CSV row without a page still becomes a row; a page
without a CSV row too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass

from threadline.connectors.notion_archive import Member
from threadline.connectors.notion_markdown import NotionDocument
from threadline.errors import ItemUnreadable
from threadline.records import QuarantineRecord

Loader = Callable[[str, Container[str] | None], NotionDocument]
_STREAM_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ItemUnreadable)


class _AnyColumn:
    """Column names when the CSV header is unknown: any ``Key: value`` line counts."""

    def __contains__(self, key: object) -> bool:
        return True


@dataclass(frozen=True)
class Header:
    columns: list[str]


@dataclass(frozen=True)
class Row:
    title: str
    properties: dict[str, str]
    page: str | None
    """The row page's member name; None when the CSV row has no page."""
    document: NotionDocument | None
    number: int | None
    """Record number in the CSV, the header being 1; None for a page without a CSV row."""


def read_database(
    csv_member: Member, row_pages: list[str], load: Loader
) -> Iterator[Header | Row | QuarantineRecord]:
    try:
        stream = io.TextIOWrapper(
            csv_member.open(), encoding="utf-8-sig", errors="replace", newline=""
        )
    except ItemUnreadable as exc:
        yield _quarantine(csv_member.name, "file", f"cannot open the database CSV: {exc}")
        yield Header([])
        yield from _pages_only(row_pages, load, _AnyColumn(), set())
        return
    with stream:
        reader = csv.reader(stream)
        try:
            header = [cell.strip() for cell in next(reader, [])]
        except (csv.Error, *_STREAM_ERRORS) as exc:
            yield _quarantine(csv_member.name, "row 1", f"unreadable CSV header: {exc}")
            header = []
        yield Header(header)
        columns: Container[str] = set(header) if header else _AnyColumn()
        pairing = _Pairing(header)
        done: set[str] = set()
        for name in row_pages:
            try:
                document = load(name, columns)
            except ItemUnreadable as exc:
                done.add(name)
                yield _quarantine(name, exc.position, exc.reason, exc.raw)
                continue
            pairing.add(name, document)
        if header:
            yield from _csv_rows(csv_member.name, reader, header, pairing, load, columns, done)
    yield from _pages_only(row_pages, load, columns, done)


def _csv_rows(
    csv_name: str,
    reader: Iterator[list[str]],
    header: list[str],
    pairing: _Pairing,
    load: Loader,
    columns: Container[str],
    done: set[str],
) -> Iterator[Row | QuarantineRecord]:
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield _quarantine(csv_name, f"row {number}", f"{csv_name} row {number}: {exc}")
            continue
        except _STREAM_ERRORS as exc:
            yield _quarantine(
                csv_name,
                f"row {number + 1}",
                f"{csv_name} is cut off or damaged after row {number} ({exc}); "
                "re-export the database",
            )
            return
        number += 1
        if not cells:
            continue
        if len(cells) != len(header):
            yield _quarantine(
                csv_name,
                f"row {number}",
                f"{csv_name} row {number}: {len(cells)} cells, header has {len(header)}; "
                "the row was skipped, re-export the database to get it",
                _encode_row(cells),
            )
            continue
        properties = {key: cell.strip() for key, cell in zip(header, cells, strict=True)}
        title = cells[0].strip()
        name = pairing.take(title, properties, done)
        document = None
        if name is not None:
            done.add(name)
            try:
                document = load(name, columns)
            except ItemUnreadable as exc:
                yield _quarantine(name, exc.position, exc.reason, exc.raw)
                name = None
        yield Row(title, properties, name, document, number)


def _pages_only(
    row_pages: list[str], load: Loader, columns: Container[str], done: set[str]
) -> Iterator[Row | QuarantineRecord]:
    for name in row_pages:
        if name in done:
            continue
        try:
            document = load(name, columns)
        except ItemUnreadable as exc:
            yield _quarantine(name, exc.position, exc.reason, exc.raw)
            continue
        yield Row(document.title or "", document.properties, name, document, None)


class _Pairing:
    """Row pages by title, by title and property values, and by property values alone.

    Values alone pair rows whose title Notion writes differently in the page and in the
    CSV: a date mention is "@Today" in the page but "@August 6, 2025" in the CSV.
    """

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.queues: dict[bytes, deque[str]] = {}

    def _keys(self, title: str, properties: dict[str, str]) -> list[bytes]:
        pairs = sorted(
            (key, _norm(properties.get(key, ""))) for key in self.header[1:] if properties.get(key)
        )
        keys = [repr(("both", title, pairs)), repr(("title", title))]
        if pairs:
            keys.append(repr(("values", pairs)))
        return [hashlib.sha1(key.encode("utf-8")).digest() for key in keys]

    def add(self, name: str, document: NotionDocument) -> None:
        for key in self._keys(_norm(document.title or ""), document.properties):
            self.queues.setdefault(key, deque()).append(name)

    def take(self, title: str, properties: dict[str, str], done: set[str]) -> str | None:
        for key in self._keys(_norm(title), properties):
            queue = self.queues.get(key)
            while queue:
                name = queue.popleft()
                if name not in done:
                    return name
        return None


def _norm(text: str) -> str:
    return " ".join(text.split())


def _encode_row(cells: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _quarantine(file: str, position: str, reason: str, raw: bytes = b"") -> QuarantineRecord:
    return QuarantineRecord(platform="notion", file=file, position=position, reason=reason, raw=raw)
