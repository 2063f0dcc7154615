"""``threadline prefs``: learn, list with the edits behind each preference, pin, delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefs_drafts import WEEKS, jane_edits, people, record_edit, weekly_draft
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.produce.render_markdown import render_markdown
from threadline.store import open_store

T0 = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store holding three of Jane's edited Acme weeks, nothing learned yet."""
    path = str(tmp_path / "threadline.db")
    engine = open_store(path)
    with engine.begin() as conn:
        for n, week in enumerate(WEEKS[:3]):
            d = weekly_draft("Acme Corp", week)
            md = render_markdown(d)
            record_edit(conn, d, md, jane_edits(md, people(d)), when=T0 + timedelta(days=7 * n))
    engine.dispose()
    return path


def _run(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db, "prefs", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def _listed(db: str, *args: str) -> list[dict[str, object]]:
    code, out = _run(db, "--json", *args)
    assert code == 0, out
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_learn_then_list_shows_scope_value_and_the_edits_behind_it(db: str) -> None:
    code, out = _run(db)
    assert code == 0 and "No preferences learned yet" in out
    code, out = _run(db, "learn")
    assert code == 0, out
    assert "weekly:Acme Corp section_title:highlights = 'This week' (from 3 edits)" in out
    rows = {r["key"]: r for r in _listed(db)}
    assert set(rows) == {"section_title:highlights", "section_order",
                         "section_style:next_steps", "greeting", "sign_off", "name_style",
                         "cut_phrase:as discussed"}
    title = rows["section_title:highlights"]
    assert title["scope"] == "weekly:Acme Corp" and title["value"] == "This week"
    evidence = title["evidence"]
    assert isinstance(evidence, list)
    assert [(e["draft"], e["slot"], e["date"][:10]) for e in evidence] == [
        (1, "2026-W44", "2026-11-20"), (2, "2026-W45", "2026-11-27"),
        (3, "2026-W46", "2026-12-04")]
    assert {e["excerpt"] for e in evidence} == {'renamed "Highlights" → "This week"'}
    code, table = _run(db)
    assert code == 0
    assert "draft 2 2026-W45 (2026-11-27): cut \"As discussed\"" in table
    assert "risks > highlights > next_steps" in table


def test_pin_unpin_delete_by_id_and_filters(db: str) -> None:
    _run(db, "learn")
    rows = {r["key"]: r for r in _listed(db)}
    greeting, cut = rows["greeting"]["id"], rows["cut_phrase:as discussed"]["id"]
    code, out = _run(db, "pin", str(greeting))
    assert code == 0 and "pinned" in out
    assert {r["key"]: r["pinned"] for r in _listed(db)}["greeting"] is True
    code, out = _run(db, "unpin", str(greeting))
    assert code == 0 and {r["key"]: r["pinned"] for r in _listed(db)}["greeting"] is False
    code, out = _run(db, "delete", str(cut))
    assert code == 0 and "deleted" in out
    assert "cut_phrase:as discussed" not in {r["key"] for r in _listed(db)}
    assert "cut_phrase:as discussed" in {r["key"] for r in _listed(db, "--deleted")}
    code, out = _run(db, "learn")
    assert "not re-learned (deleted) weekly:Acme Corp/cut_phrase:as discussed" in out
    assert len(_listed(db, "--recipe", "weekly", "--client", "Acme Corp")) == 6
    assert _listed(db, "--recipe", "weekly", "--client", "Globex") == []
    assert len(_listed(db, "--client", "acme corp")) == 6
    code, out = _run(db, "pin", "999")
    assert code == 1 and "no preference 999" in out
