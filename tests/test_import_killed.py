"""An import killed by SIGKILL halfway leaves the store consistent; a rerun completes it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

MESSAGES_PER_DAY = 500
DAYS = 60


def _write_export(path: Path) -> int:
    users = [{"id": "U1", "name": "jane", "real_name": "Jane Doe", "profile": {}}]
    channels = [{"id": "C1", "name": "acme-website", "members": ["U1"]}]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("users.json", json.dumps(users))
        zf.writestr("channels.json", json.dumps(channels))
        for day in range(DAYS):
            base = 1_760_000_000 + day * 86_400
            messages = [
                {
                    "type": "message",
                    "user": "U1",
                    "text": f"status note {day}-{n}: the tracking fix is on staging",
                    "ts": f"{base + n}.000100",
                }
                for n in range(MESSAGES_PER_DAY)
            ]
            stamp = time.strftime("%Y-%m-%d", time.gmtime(base))
            zf.writestr(f"acme-website/{stamp}.json", json.dumps(messages))
    return DAYS * MESSAGES_PER_DAY


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _import(db: Path, export: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "threadline", "--db", str(db)),
            *("import", "--no-context", "slack-export", str(export)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100"},
    )


@pytest.mark.slow
def test_sigkill_mid_import_then_rerun(tmp_path: Path) -> None:
    export = tmp_path / "big-export.zip"
    total = _write_export(export)
    db = tmp_path / "threadline.db"

    process = _import(db, export)
    deadline = time.monotonic() + 120
    seen = 0
    # Wait until some batches are committed, then kill without warning.
    while time.monotonic() < deadline and process.poll() is None:
        if db.exists():
            try:
                seen = _count(db, "SELECT count(*) FROM item")
            except sqlite3.OperationalError:
                seen = 0
            if seen >= 3000:
                break
        time.sleep(0.05)
    assert process.poll() is None, "the import finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    partial = _count(db, "SELECT count(*) FROM item")
    assert 0 < partial < total
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # The search index agrees with the table: no half-written batch.
        fts = conn.execute("SELECT count(*) FROM item_fts_docsize").fetchone()[0]
        status = conn.execute("SELECT status FROM import_run").fetchone()[0]
    assert fts == partial
    assert status == "running"  # shown as interrupted by `threadline status`

    rerun = _import(db, export)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert _count(db, "SELECT count(*) FROM item") == total
    assert _count(db, "SELECT count(DISTINCT canonical_id) FROM item") == total
    assert _count(db, "SELECT count(*) FROM item_fts_docsize") == total
    assert _count(db, "SELECT added FROM import_run ORDER BY id DESC LIMIT 1") == total - partial
