"""A Notion export as one flat, sorted list of members, whatever it was packed in.

Notion hands out a zip that holds ``Export-<uuid>-Part-N.zip`` files, which people
then unpack once, twice or not at all. Every form is opened here the same way: nested
parts are copied (streaming) to a temporary folder and merged, and the wrapper folder
without a page id (``Export-<uuid>/``) is dropped from member names, so a zip and its
unpacked folder give the same paths. A zip whose central directory is missing (a cut
download) is salvaged by walking its local headers; what is cut off is reported.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

from threadline.errors import ImportFailed, ItemUnreadable

_PAGE_ID_AT_END = re.compile(r"(?:^|\s)[0-9a-fA-F]{32}(?:_all)?(?:\.[A-Za-z0-9]+)?$")
_LOCAL_HEADER = b"PK\x03\x04"
_CHUNK = 1 << 16
_MAX_RAW = 1 << 20
_MAX_NESTING = 2
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


@dataclass(frozen=True)
class Member:
    """One file of the export; opened only when asked, one at a time."""

    name: str
    size: int
    opener: Callable[[], IO[bytes]] = field(repr=False, compare=False)
    crc: int | None = None
    """The CRC-32 the zip records for it; None for a plain file."""

    def fingerprint(self) -> str:
        """A cheap stand-in for the bytes, to tell an unchanged file without parsing it.

        Raises ItemUnreadable when a plain file has to be read for it and cannot be."""
        if self.crc is not None:
            return f"crc32:{self.crc:08x}:{self.size}"
        # The zip form's checksum, so a zip and its unpacked folder name a file alike.
        data = self.read()
        return f"crc32:{zlib.crc32(data):08x}:{len(data)}"

    def open(self) -> IO[bytes]:
        try:
            return self.opener()
        except ItemUnreadable:
            raise
        except _ZIP_ERRORS as exc:
            raise ItemUnreadable(self.name, "member", f"cannot open: {exc}") from exc

    def read(self, size: int = -1) -> bytes:
        """The member's bytes (the first ``size`` of them if given)."""
        try:
            with self.open() as stream:
                return stream.read(size)
        except ItemUnreadable:
            raise
        except _ZIP_ERRORS as exc:
            raise ItemUnreadable(
                self.name, "member", f"damaged data ({exc}); re-download the export"
            ) from exc


@dataclass(frozen=True)
class Problem:
    """A member that could not even be listed: it is cut off or undecodable."""

    file: str
    position: str
    reason: str
    raw: bytes = b""


def has_page_id(component: str) -> bool:
    return _PAGE_ID_AT_END.search(component) is not None


class NotionArchive:
    """Opens ``path`` (folder, zip or zip of zips); ``members`` is sorted by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.wrapper: str | None = None
        self._zips: list[zipfile.ZipFile] = []
        self._files: list[BinaryIO] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        found: dict[str, Member] = {}
        try:
            if path.is_dir():
                self._add_folder(path, found)
            else:
                self._add_zip(path, path.name, found, depth=0)
        except BaseException:
            self.close()
            raise
        self.members = self._unwrap(found)

    def close(self) -> None:
        for archive in self._zips:
            archive.close()
        for handle in self._files:
            handle.close()
        self._zips.clear()
        self._files.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> NotionArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add_folder(self, root: Path, found: dict[str, Member]) -> None:
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for file_name in sorted(files):
                full = Path(folder) / file_name
                name = full.relative_to(root).as_posix()
                if "/" not in name and name.lower().endswith(".zip"):
                    self._add_zip(full, name, found, depth=1)
                    continue
                found.setdefault(name, Member(name, full.stat().st_size, _file_opener(full)))

    def _add_zip(self, path: Path, label: str, found: dict[str, Member], depth: int) -> None:
        handle = path.open("rb")
        self._files.append(handle)
        try:
            archive = zipfile.ZipFile(handle)
        except zipfile.BadZipFile:
            self._salvage(handle, label, found, depth)
            return
        self._zips.append(archive)
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            if _is_part(info.filename, depth):
                self._add_part(label, info.filename, _zip_opener(archive, info), found, depth)
                continue
            found.setdefault(
                info.filename,
                Member(info.filename, info.file_size, _zip_opener(archive, info), info.CRC),
            )

    def _add_part(
        self,
        label: str,
        name: str,
        opener: Callable[[], IO[bytes]],
        found: dict[str, Member],
        depth: int,
    ) -> None:
        """Copy a nested part to disk: a zip inside a zip can only be read by seeking."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="threadline-notion-")
        target = Path(self._tmp.name) / f"part-{len(self._files)}.zip"
        try:
            with opener() as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
        except _ZIP_ERRORS as exc:
            # Keep what was copied: a cut part still holds every page before the cut.
            self.problems.append(
                Problem(f"{label}/{name}", "nested zip", f"cut off or damaged ({exc})")
            )
        self._add_zip(target, f"{label}/{name}", found, depth + 1)

    def _salvage(self, handle: BinaryIO, label: str, found: dict[str, Member], depth: int) -> None:
        """Walk local headers of a zip whose central directory is missing."""
        handle.seek(0, io.SEEK_END)
        end = handle.tell()
        handle.seek(0)
        if handle.read(4) != _LOCAL_HEADER:
            if depth == 0:
                raise ImportFailed(
                    f"{label} is not a zip file or a folder: give the Notion export zip "
                    "(Settings > Export, format 'Markdown & CSV') or the folder it unpacks to"
                )
            self.problems.append(Problem(label, "nested zip", "not a zip file; skipped"))
            return
        position = 0
        while position + 30 <= end:
            handle.seek(position)
            header = handle.read(30)
            if header[:4] != _LOCAL_HEADER:
                return
            flags, method, crc, csize, _usize, name_len, extra_len = struct.unpack(
                "<xxxxxxHHxxxxIIIHH", header
            )
            raw_name = handle.read(name_len)
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
            start = position + 30 + name_len + extra_len
            length = _data_length(handle, start, csize, method, flags, end)
            if length is None:
                handle.seek(start)
                part = _is_part(name, depth)
                self.problems.append(
                    Problem(
                        f"{label}/{name}",
                        f"byte {position}",
                        "the zip is cut off inside this nested part: the files before the cut "
                        "were read, re-download the export for the rest"
                        if part
                        else "the zip is cut off inside this file; re-download the export",
                        b"" if part else handle.read(_MAX_RAW),
                    )
                )
                if part:
                    # Inflating a cut stream yields everything before the cut.
                    partial = _SalvagedMember(handle, start, end - start, method, None)
                    self._add_part(label, name, partial.open, found, depth)
                return
            if not name.endswith("/"):
                member = _SalvagedMember(handle, start, length, method, crc)
                if _is_part(name, depth):
                    self._add_part(label, name, member.open, found, depth)
                else:
                    # With a data descriptor the header's CRC is 0: the bytes will be hashed.
                    known_crc = None if flags & 0x08 else crc
                    found.setdefault(name, Member(name, length, member.open, known_crc))
            position = _after_descriptor(handle, start + length, flags)

    def _unwrap(self, found: dict[str, Member]) -> dict[str, Member]:
        """Drop leading folders without a page id that every member shares."""
        names = sorted(found)
        prefix: list[str] = []
        if names:
            first = names[0].split("/")[:-1]
            for index, component in enumerate(first):
                if has_page_id(component):
                    break
                if not all(_component(n, index) == component for n in names):
                    break
                prefix.append(component)
        if prefix:
            self.wrapper = prefix[-1]
        cut = len("/".join(prefix)) + 1 if prefix else 0
        result: dict[str, Member] = {}
        for name in names:
            short = name[cut:]
            old = found[name]
            result[short] = Member(short, old.size, old.opener, old.crc)
        return result


def _component(name: str, index: int) -> str | None:
    parts = name.split("/")
    return parts[index] if index < len(parts) - 1 else None


def _is_part(name: str, depth: int) -> bool:
    """Only zips at the root of the outer container are export parts, not attachments."""
    return depth < _MAX_NESTING and "/" not in name and name.lower().endswith(".zip")


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _zip_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(info)


def _data_length(
    handle: BinaryIO, start: int, csize: int, method: int, flags: int, end: int
) -> int | None:
    """Compressed length of one member, or None when the data is cut off."""
    if not flags & 0x08 and csize != 0xFFFFFFFF:
        return csize if start + csize <= end else None
    if method != zipfile.ZIP_DEFLATED:
        return None
    # Sizes come after the data: only inflating to the end of the stream finds them.
    handle.seek(start)
    inflater = zlib.decompressobj(-15)
    fed = 0
    while not inflater.eof:
        chunk = handle.read(_CHUNK)
        if not chunk:
            return None
        fed += len(chunk)
        try:
            inflater.decompress(chunk)
        except zlib.error:
            return None
    return fed - len(inflater.unused_data)


def _after_descriptor(handle: BinaryIO, position: int, flags: int) -> int:
    if not flags & 0x08:
        return position
    handle.seek(position)
    signature = handle.read(4)
    descriptor = 12
    if signature == b"PK\x07\x08":
        descriptor += 4
    handle.seek(position + descriptor)
    # Zip64 descriptors are 8 bytes longer; the next header tells which one it was.
    if handle.read(4) != _LOCAL_HEADER:
        handle.seek(position + descriptor + 8)
        if handle.read(4) == _LOCAL_HEADER:
            return position + descriptor + 8
    return position + descriptor


class _Inflating(io.RawIOBase):
    """Streams one salvaged member; several share one file handle, so each read seeks."""

    def __init__(
        self, handle: BinaryIO, start: int, length: int, method: int, crc: int | None
    ) -> None:
        super().__init__()
        if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise NotImplementedError(f"zip compression method {method}")
        self._handle = handle
        self._position = start
        self._left = length
        self._inflater = zlib.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
        self._crc = crc
        self._seen = 0
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and self._left > 0:
            self._handle.seek(self._position)
            chunk = self._handle.read(min(_CHUNK, self._left))
            if not chunk:
                self._left = 0
                break
            self._position += len(chunk)
            self._left -= len(chunk)
            self._pending = self._inflater.decompress(chunk) if self._inflater else chunk
            self._seen = zlib.crc32(self._pending, self._seen)
        if not self._pending:
            if self._crc not in (None, 0) and self._seen != self._crc:
                raise zipfile.BadZipFile("CRC check failed")
            return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


@dataclass(frozen=True)
class _SalvagedMember:
    handle: BinaryIO
    start: int
    length: int
    method: int
    crc: int | None

    def open(self) -> IO[bytes]:
        raw = _Inflating(self.handle, self.start, self.length, self.method, self.crc)
        return io.BufferedReader(raw, _CHUNK)
