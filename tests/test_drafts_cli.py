"""Draft storage on both engines, and the produce / drafts commands end to end."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sample_store import build_sample
from sqlalchemy import Engine
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.produce import drafts
from threadline.produce.model import Claim, Draft, Scope, Section

WEEK = Scope(recipe="client-update", client="Acme Corp", week="2026-W47",
             start=datetime(2026, 11, 16, tzinfo=UTC), end=datetime(2026, 11, 23, tzinfo=UTC))


def body(text: str) -> Draft:
    return Draft(scope=WEEK, title="Acme", composer="offline", sections=[
        Section(key="highlights", title="Highlights",
                claims=[Claim(text=text, citations=["slack:C1:1"])])])


def test_save_supersede_send_and_edit(store: Engine) -> None:
    with store.begin() as conn:
        first = drafts.save(conn, body("One."), "2026-W47")
        second = drafts.save(conn, body("Two."), "2026-W47")
        assert drafts.get(conn, first).status == "superseded"
        drafts.mark(conn, second, "sent")
        third = drafts.save(conn, body("Three."), "2026-W47")
        assert drafts.get(conn, second).status == "sent"  # what the client got stays
        assert drafts.last_sent(conn, "client-update", "Acme Corp").id == second  # type: ignore[union-attr]
        assert drafts.last_sent(conn, "client-update", "Acme Corp", other_than="2026-W47") is None
        assert [d.id for d in drafts.list_drafts(conn)] == [third, second]
        edit = drafts.record_edit(conn, third, "- Three.\n", "- Three, done.\n")
        assert drafts.record_edit(conn, third, "same", "same") is None
        rows = drafts.edits(conn, third)
        assert [r["id"] for r in rows] == [edit]
        diff = str(rows[0]["diff"])
        assert "\n-- Three.\n" in diff and "+- Three, done." in diff
        assert drafts.get(conn, third).edited_markdown == "- Three, done.\n"
    with store.begin() as conn, pytest.raises(drafts.DraftError, match="#999"):
        drafts.get(conn, 999)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, list[dict[str, Any]]]:
    return build_sample(tmp_path_factory.mktemp("cli"), seed=11, weeks=2)


def test_produce_show_and_edit_through_the_cli(
    sample: tuple[Engine, list[dict[str, Any]]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, gold = sample
    db = str(engine.url.database)
    runner = CliRunner()
    week = gold[-1]["week"]
    made = runner.invoke(app, ["--db", db, "produce", "client-update", "--client", "Globex",
                               "--week", week])
    assert made.exit_code == 0, made.output
    assert f"\n# Globex: weekly update, {week}\n" in f"\n{made.output}"
    assert "Acme" not in made.output and "Alpha Partners" not in made.output
    out = tmp_path / "u.json"
    saved = runner.invoke(app, ["--db", db, "produce", "client-update", "--client", "Globex",
                                "--week", week, "--format", "json", "--out", str(out)])
    assert saved.exit_code == 0 and '"sections"' in out.read_text()
    listed = runner.invoke(app, ["--db", db, "drafts"], env={"COLUMNS": "200"})
    assert "client-update" in listed.output and "superseded" not in listed.output
    with engine.connect() as conn:
        draft_id = drafts.list_drafts(conn, client="Globex")[0].id
    shown = runner.invoke(app, ["--db", db, "drafts", "show", str(draft_id)])
    assert shown.exit_code == 0 and "Sources" in shown.output
    script = tmp_path / "editor.sh"
    script.write_text("#!/bin/sh\nprintf 'Thanks, Maria.\\n' >> \"$1\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    edited = runner.invoke(app, ["--db", db, "drafts", "edit", str(draft_id)])
    assert edited.exit_code == 0 and "recorded" in edited.output
    with engine.connect() as conn:
        rows = drafts.edits(conn, draft_id)
    assert len(rows) == 1 and "+Thanks, Maria." in str(rows[0]["diff"])
    marked = runner.invoke(app, ["--db", db, "drafts", "mark", str(draft_id), "sent"])
    assert marked.exit_code == 0
    missing = runner.invoke(app, ["--db", db, "produce", "client-update", "--week", week])
    assert missing.exit_code == 1 and "--client" in missing.output
