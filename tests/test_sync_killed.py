"""`threadline sync` killed by SIGKILL mid-pass resumes from its last checkpoint.

The fake Slack API runs in a thread of this test process; `threadline connect` and
`threadline sync` run as real subprocesses against it. The final store after kill + rerun
must equal an uninterrupted sync: same canonical ids, same content hashes, no duplicates.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.slack_server import FakeSlack, SlackWorkspace

from threadline.connectors.connections import create_connection
from threadline.connectors.engine import sync_connection
from threadline.sample import generate_workspace
from threadline.store import open_store

TOKEN = "xoxb-kill-test-token"
# Small pages and a little latency per request: the pass lasts long enough to be killed.
OPTIONS = {"now": 1795000000, "page_size": 10, "budgets": {"*": {"per_minute": 1e7, "burst": 1000}}}


def _cli(db: Path, home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "THREADLINE_HOME": str(home), "THREADLINE_KEYRING": "0",
           "COLUMNS": "120"}
    return subprocess.Popen(
        [sys.executable, "-m", "threadline", "--db", str(db), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )


def _ok(process: subprocess.Popen[bytes], timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, (out + err).decode()
    return out.decode()


def _connect(db: Path, home: Path, url: str) -> None:
    options = [f"--option={key}={json.dumps(value)}" for key, value in OPTIONS.items()]
    _ok(_cli(db, home, "connect", "slack", "--token", TOKEN, "--api-url", url, *options))


def _items(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT canonical_id, content_hash FROM item").fetchall()
        assert conn.execute("SELECT count(DISTINCT canonical_id) FROM item").fetchone()[0] == len(
            rows
        )
    return dict(rows)


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM item").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_sync_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    manifest = generate_workspace(tmp_path / "ws", seed=3, weeks=2, scale=1)
    workspace = SlackWorkspace.from_export(manifest.files["slack"])
    total = workspace.message_count()
    home = tmp_path / "home"
    with FakeSlack(workspace, token=TOKEN) as fake:
        fake.delay = 0.01
        clean, killed = tmp_path / "clean.db", tmp_path / "killed.db"
        # The uninterrupted reference run, in this process (it is not the one under test).
        engine = open_store(str(clean))
        conn = create_connection(engine, name="slack", platform="slack", account=workspace.team,
                                 api_url=fake.url, options=OPTIONS)
        assert sync_connection(engine, conn, secrets={"token": TOKEN}).status == "ok"
        engine.dispose()

        _connect(killed, home, fake.url)
        process = _cli(killed, home, "sync")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if _count(killed) >= total // 3:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the sync finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
        partial = _count(killed)
        assert 0 < partial < total
        with sqlite3.connect(killed) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            cursor = json.loads(conn.execute("SELECT cursor FROM connection").fetchone()[0])
        assert cursor["pass"] is not None  # a checkpoint mid-pass was committed

        _ok(_cli(killed, home, "sync"))
        listing = _ok(_cli(killed, home, "connections", "--json"))

    assert _items(killed) == _items(clean)
    assert len(_items(clean)) == total
    with sqlite3.connect(killed) as conn:
        assert conn.execute("SELECT count(*) FROM item_version").fetchone()[0] == 0
    row = json.loads(listing)[0]
    assert row["status"] == "ok" and row["items"] == total and row["requests"] > 0
    assert TOKEN not in listing
