"""A streaming index of an .ics file: where each component starts and ends, by byte offset.

Parsing a whole calendar with icalendar holds every event in memory at once, and one
broken line can lose the lot. Instead the file is read line by line once, recording for
every top-level component its byte range, line number and (for events) its UID, so that
the importer can later read, parse and expand one UID's components at a time. The index
costs a few dozen bytes per VEVENT; the text itself is never held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_BOM = b"\xef\xbb\xbf"
_HEADER_PROPERTIES = ("X-WR-CALNAME", "NAME", "X-WR-TIMEZONE")
MAX_QUARANTINE_BYTES = 1 << 20


@dataclass(slots=True)
class Block:
    """One top-level component (VEVENT, VTIMEZONE, VTODO...) in the file."""

    name: str
    ordinal: int
    """1-based count among the file's components of this name, for messages."""
    line: int
    offset: int
    end: int
    key: str | None = None
    """VEVENT: its UID, or ``synthetic-<hash>`` when it has none. VTIMEZONE: its TZID."""
    has_uid: bool = True

    def position(self) -> str:
        label = f"{printable(self.name)} #{self.ordinal}"
        if self.name == "VEVENT" and self.has_uid and self.key:
            label += f" (UID {printable(self.key)})"
        elif self.name == "VTIMEZONE" and self.key:
            label += f" (TZID {printable(self.key)})"
        return f"{label} at line {self.line}"


def printable(text: str, limit: int = 120) -> str:
    """Text safe to show in a message: fuzzed files put control characters in names."""
    shown = "".join(char if char.isprintable() else "?" for char in text)
    return shown if len(shown) <= limit else shown[:limit] + "…"


@dataclass(slots=True)
class Problem:
    """A stretch of the file the scanner could not assign to a complete component."""

    line: int
    offset: int
    end: int
    reason: str


@dataclass
class FileIndex:
    header: dict[str, str] = field(default_factory=dict)
    events: dict[str, list[Block]] = field(default_factory=dict)
    """Event blocks grouped by UID, in order of each UID's first appearance."""
    timezones: list[Block] = field(default_factory=list)
    others: list[Block] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    saw_calendar: bool = False


def physical_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line without its line break); a UTF-8 BOM at the start is skipped."""
    offset = 0
    for raw in handle:
        line = raw
        if offset == 0 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        yield offset, line.rstrip(b"\r\n")
        offset += len(raw)


def logical_lines(handle: BinaryIO) -> Iterator[tuple[int, int, int, str]]:
    """Unfolded content lines as (line number, start offset, end offset, text)."""
    pending: tuple[int, int, list[bytes]] | None = None
    end = 0
    number = 0
    for offset, line in physical_lines(handle):
        number += 1
        if pending is not None and line[:1] in (b" ", b"\t"):
            pending[2].append(line[1:])
            end = offset + len(line)
            continue
        if pending is not None:
            yield pending[0], pending[1], end, b"".join(pending[2]).decode("utf-8", "replace")
        pending = (number, offset, [line])
        end = offset + len(line)
    if pending is not None:
        yield pending[0], pending[1], end, b"".join(pending[2]).decode("utf-8", "replace")


def split_property(line: str) -> tuple[str, str]:
    """(upper-case name, value) of a content line. The value follows the first ':' outside
    a quoted parameter value, as in ``ATTENDEE;CN="Doe: Jane":mailto:jane@example.com``."""
    quoted = False
    name_end: int | None = None
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == ";" and name_end is None:
            name_end = index
        elif char == ":":
            name = line[: index if name_end is None else name_end]
            return name.strip().upper(), line[index + 1 :]
    return line.strip().upper(), ""


def unescape_text(value: str) -> str:
    return (
        value.replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
        .strip()
    )


class _Open:
    """The top-level component being scanned."""

    def __init__(self, name: str, line: int, offset: int) -> None:
        self.name = name
        self.line = line
        self.offset = offset
        self.key: str | None = None
        self.digest = hashlib.sha256()


def scan(path: Path) -> FileIndex:
    """Index the file in one pass; never raises on bad content, only on I/O errors."""
    index = FileIndex()
    counts: dict[str, int] = {}
    stack: list[str] = []
    current: _Open | None = None
    with path.open("rb") as handle:
        for number, start, end, text in logical_lines(handle):
            name, value = split_property(text)
            if current is not None:
                current.digest.update(text.encode("utf-8", "replace") + b"\n")
            if name == "BEGIN":
                component = value.strip().upper()
                if current is None and (not stack or stack == ["VCALENDAR"]):
                    if component == "VCALENDAR":
                        index.saw_calendar = True
                    else:
                        current = _Open(component, number, start)
                        current.digest.update(text.encode("utf-8", "replace") + b"\n")
                stack.append(component)
            elif name == "END":
                component = value.strip().upper()
                if component not in stack:
                    continue  # a stray END loses nothing; icalendar judges the blocks
                while stack and stack.pop() != component:
                    pass
                if current is not None and component == current.name and _at_top(stack):
                    _close(index, counts, current, end)
                    current = None
            elif current is not None and stack[-1:] == [current.name] and _at_top(stack[:-1]):
                if name in ("UID", "TZID") and current.key is None:
                    current.key = unescape_text(value)
            elif current is None and stack == ["VCALENDAR"] and name in _HEADER_PROPERTIES:
                index.header.setdefault(name, unescape_text(value))
        size = handle.tell()
    if current is not None:
        index.problems.append(
            Problem(
                current.line,
                current.offset,
                size,
                f"{printable(current.name) or 'a component'} starting at line {current.line} is"
                f" never closed (no END:{printable(current.name)}): the file looks truncated or"
                " corrupt;"
                " export the calendar again",
            )
        )
    return index


def _at_top(stack: list[str]) -> bool:
    return not stack or stack == ["VCALENDAR"]


def _close(index: FileIndex, counts: dict[str, int], current: _Open, end: int) -> None:
    counts[current.name] = counts.get(current.name, 0) + 1
    block = Block(current.name, counts[current.name], current.line, current.offset, end)
    if current.name == "VEVENT":
        block.has_uid = bool(current.key)
        block.key = current.key or f"synthetic-{current.digest.hexdigest()[:32]}"
        index.events.setdefault(block.key, []).append(block)
    elif current.name == "VTIMEZONE":
        block.key = current.key
        index.timezones.append(block)
    else:
        index.others.append(block)


def read_bytes(handle: BinaryIO, offset: int, end: int, limit: int | None = None) -> bytes:
    handle.seek(offset)
    data = handle.read(end - offset if limit is None else min(end - offset, limit))
    return data[len(_BOM) :] if offset == 0 and data.startswith(_BOM) else data


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Older Outlook and Lotus exports write Windows-1252 without saying so.
        return data.decode("cp1252", "replace")


def read_header(path: Path, max_lines: int = 500) -> dict[str, str]:
    """The calendar's name and time zone, read from the lines before its first component."""
    header: dict[str, str] = {}
    with path.open("rb") as handle:
        for count, (_, _, _, text) in enumerate(logical_lines(handle)):
            name, value = split_property(text)
            if count > max_lines or (name == "BEGIN" and value.strip().upper() != "VCALENDAR"):
                break
            if name in _HEADER_PROPERTIES:
                header.setdefault(name, unescape_text(value))
    return header


def count_events(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            if line[:12].upper() == b"BEGIN:VEVENT":
                count += 1
    return count
