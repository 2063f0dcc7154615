"""The files of a Slack export, zipped or unpacked, read one member at a time.

Paths are given relative to the export root (``users.json``, ``general/2024-01-02.json``)
so the zip and the folder form of one export name every piece the same way.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Any

from threadline.errors import ImportFailed, ItemUnreadable

MARKER_FILES = ("channels.json", "users.json")
_DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_HEADER_MAGIC = b"PK\x03\x04"


class ExportFiles(ABC):
    """Top-level JSON files and one folder per conversation holding ``YYYY-MM-DD.json`` files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folders: dict[str, list[str]] = {}
        """Conversation folder name to its sorted ``.json`` file names."""
        self.top_level: set[str] = set()

    @abstractmethod
    def read(self, relpath: str) -> bytes:
        """The member's bytes; raises ItemUnreadable when it cannot be read."""

    def fingerprint(self, relpath: str) -> str:
        """A cheap stand-in for the member's bytes, to tell an unchanged day file unread.

        Raises ItemUnreadable when the member cannot be read."""
        # The zip form's checksum, so both forms of one export name a day file alike.
        data = self.read(relpath)
        return f"crc32:{zlib.crc32(data):08x}:{len(data)}"

    def close(self) -> None:  # noqa: B027 - only the zip form holds a handle
        pass

    def __enter__(self) -> ExportFiles:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def day_file_count(self) -> int:
        return sum(len(days) for days in self.folders.values())

    def _add(self, relpath: str) -> None:
        folder, slash, name = relpath.partition("/")
        if not slash:
            self.top_level.add(folder)
        elif _DAY_FILE.fullmatch(name):
            # Only day files: tools like slackdump add attachments/ and other files alongside.
            self.folders.setdefault(folder, []).append(name)

    def _finish(self) -> None:
        for days in self.folders.values():
            days.sort()
        if not self.folders and not self.top_level.intersection(MARKER_FILES):
            raise ImportFailed(
                f"{self.path} does not look like a Slack export: it has no channels.json, "
                "users.json or conversation folders of day files. Give the .zip Slack made "
                "(Workspace settings > Import/Export Data > Export) or its unpacked folder."
            )


def parse_json(relpath: str, data: bytes) -> Any:
    """Decode one JSON member; a bad one is reported with the line and column to look at."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise ItemUnreadable(
            relpath,
            f"line {error.lineno}, column {error.colno}",
            f"invalid JSON ({error.msg}); the file was cut short or edited by hand. "
            "Re-export from Slack, or fix the file and import again.",
            data,
        ) from error
    except UnicodeDecodeError as error:
        raise ItemUnreadable(
            relpath,
            f"byte {error.start}",
            f"not UTF-8 text ({error.reason}); Slack writes UTF-8, so the file was damaged. "
            "Re-export from Slack.",
            data,
        ) from error


def open_export(path: Path) -> ExportFiles:
    if path.is_dir():
        return FolderExport(path)
    if path.is_file():
        return ZipExport(path)
    raise ImportFailed(f"{path} is neither a file nor a folder: give a Slack export .zip or folder")


class FolderExport(ExportFiles):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.root = _folder_root(path)
        for entry in sorted(self.root.iterdir()):
            if entry.name.startswith((".", "__MACOSX")):
                continue
            if entry.is_file():
                self._add(entry.name)
            elif entry.is_dir():
                for day in entry.iterdir():
                    if day.is_file():
                        self._add(f"{entry.name}/{day.name}")
        self._finish()

    def read(self, relpath: str) -> bytes:
        try:
            return (self.root / relpath).read_bytes()
        except OSError as error:
            raise ItemUnreadable(
                relpath, "whole file", f"cannot read the file ({error.strerror}); check it exists "
                "and is readable, then import again."
            ) from error


def _folder_root(path: Path) -> Path:
    """The folder itself, or its only subfolder when the export was unzipped one level deep."""
    if any((path / marker).is_file() for marker in MARKER_FILES):
        return path
    candidates = [
        child
        for child in path.iterdir()
        if child.is_dir() and any((child / marker).is_file() for marker in MARKER_FILES)
    ]
    return candidates[0] if len(candidates) == 1 else path


class ZipExport(ExportFiles):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise ImportFailed(
                f"{path} cannot be opened as a zip ({error}): the download is probably "
                "truncated or it is not a zip. Download the Slack export again; if only part "
                "of it survives, unzip what you can and import that folder instead."
            ) from error
        self._members: dict[str, zipfile.ZipInfo] = {}
        infos = [
            info
            for info in self._zip.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        prefix = _zip_root(infos)
        for info in infos:
            if info.filename.startswith(prefix):
                relpath = info.filename[len(prefix) :]
                self._members[relpath] = info
                self._add(relpath)
        self._finish()

    def close(self) -> None:
        self._zip.close()

    def fingerprint(self, relpath: str) -> str:
        # The zip's directory already holds a checksum: nothing is decompressed.
        info = self._members[relpath]
        return f"crc32:{info.CRC:08x}:{info.file_size}"

    def read(self, relpath: str) -> bytes:
        info = self._members[relpath]
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                NotImplementedError) as error:
            raise ItemUnreadable(
                relpath,
                "zip member",
                f"the zip member is damaged ({error}); the raw bytes are kept as stored "
                "(compressed). Download the Slack export again to recover it.",
                self._stored_bytes(info),
            ) from error

    def _stored_bytes(self, info: zipfile.ZipInfo) -> bytes:
        """The member's bytes as stored in the zip, read past the local header."""
        fp = self._zip.fp
        if fp is None:
            return b""
        try:
            fp.seek(info.header_offset)
            header = fp.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != _LOCAL_HEADER_MAGIC:
                return b""
            fields = _LOCAL_HEADER.unpack(header)
            name_length, extra_length = fields[-2], fields[-1]
            fp.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
            return fp.read(info.compress_size)
        except OSError:
            return b""


def _zip_root(infos: list[zipfile.ZipInfo]) -> str:
    """The folder prefix inside the zip that holds channels.json/users.json, often ''."""
    prefixes = [
        info.filename[: -len(marker)]
        for info in infos
        for marker in MARKER_FILES
        if info.filename == marker or info.filename.endswith("/" + marker)
    ]
    return min(prefixes, key=len) if prefixes else ""
