"""Reproducible zip output: constant timestamps and permissions, so equal content means
byte-identical archives."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import IO

FIXED_TIME = (2026, 1, 1, 0, 0, 0)


class StableZip:
    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        return info

    def put(self, name: str, data: bytes) -> None:
        self.zip.writestr(self._info(name), data, compresslevel=6)

    def put_stream(self, name: str, source: IO[bytes]) -> None:
        with self.zip.open(self._info(name), "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, 1 << 20)

    def close(self) -> None:
        self.zip.close()
