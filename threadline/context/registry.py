"""The folders accumulation runs, in order: later ones read what earlier ones wrote."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.context.accumulate import Folder


def builtin_folders() -> list[Folder]:
    return []
