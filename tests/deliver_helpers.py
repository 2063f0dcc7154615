"""Shared by the delivery tests: a sample store with real drafts, copied per test, and
secrets kept in a private temporary folder."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sample_store import build_sample
from sqlalchemy import Engine

from threadline.produce import drafts
from threadline.produce.pipeline import produce
from threadline.store import open_store

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
_BUILT: dict[str, Path] = {}


def sample_db() -> Path:
    """The sample workspace imported and accumulated, with client-update drafts for Acme
    (W46, W47) and Globex (W47): drafts #1, #2, #3. Built once per process."""
    if "db" not in _BUILT:
        out = Path(tempfile.mkdtemp(prefix="threadline-deliver-"))
        engine, _ = build_sample(out, seed=7, weeks=2)
        for client, week in (("Acme Corp", "2026-W46"), ("Acme Corp", "2026-W47"),
                             ("Globex", "2026-W47")):
            produce(engine, "client-update", client=client, week=week)
        engine.dispose()
        _BUILT["db"] = out / "t.db"
    return _BUILT["db"]


def fresh_store(tmp_path: Path) -> Engine:
    """A private copy of the sample store for one test."""
    target = tmp_path / "store.db"
    shutil.copy(sample_db(), target)
    return open_store(str(target))


def approve(engine: Engine, draft_id: int) -> drafts.StoredDraft:
    with engine.begin() as conn:
        return drafts.mark(conn, draft_id, "approved", now=T0)


def private_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Secrets in an encrypted file store under tmp_path, never the user's keyring."""
    home = tmp_path / "home"
    monkeypatch.setenv("THREADLINE_HOME", str(home))
    monkeypatch.setenv("THREADLINE_KEYRING", "0")
    return home / "secrets"


def draft_id(engine: Engine, client: str, slot: str) -> int:
    with engine.connect() as conn:
        found = drafts.list_drafts(conn, client=client)
    return next(d.id for d in found if d.slot == slot)
