"""A sample store built once per test module and copied per test (drafts and runs differ)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sample_store import build_sample
from sqlalchemy import Engine

from threadline.store import open_store


def sample_factory(base: Path) -> Callable[[Path], Engine]:
    """Build the sample once under ``base``; the returned function copies it into a dir."""
    engine, _gold = build_sample(base, seed=7, weeks=2)
    engine.dispose()
    source = base / "t.db"

    def copy(to: Path) -> Engine:
        target = to / "store.db"
        shutil.copyfile(source, target)
        return open_store(str(target))

    return copy
