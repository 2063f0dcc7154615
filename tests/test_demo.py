"""``threadline demo`` end to end, and the README's commands staying true."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from threadline.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_demo_imports_everything_and_prints_a_cited_week(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--dir", str(tmp_path / "demo")], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.output
    for kind in ("slack-export", "mbox", "ics", "notion-export"):
        assert re.search(rf"✓ {kind} \S+: \d+ added", out), kind
    assert "0 quarantined" in out
    assert "# Acme Corp: weekly update, 2026-W47" in out
    sources = re.findall(r"^- \[(\d+)\] (.+)$", out, flags=re.M)
    assert len(sources) >= 5
    assert re.search(r"draft #\d+: \d+ claims kept, 0 flagged, \d+ dropped", out)
    # Nothing the gold manifest forbids for Acme's week is cited in the update.
    db = str(tmp_path / "demo" / "threadline.db")
    as_json = runner.invoke(
        app,
        ["--db", db, "produce", "client-update", "--client", "Acme Corp", "--week", "2026-W47",
         "--format", "json"],
    )
    assert as_json.exit_code == 0, as_json.output
    cited = set(re.findall(r'"((?:slack|email|event|notion):[^"]+)"', as_json.output))
    gold = json.loads((tmp_path / "demo" / "workspace" / "gold.json").read_text())
    acme = next(g for g in gold if g["client"] == "Acme Corp" and g["week"] == "2026-W47")
    assert cited, "the JSON draft names its cited items by canonical id"
    assert cited & set(acme["must_not_mention"]) == set()
    status = runner.invoke(
        app, ["--db", str(tmp_path / "demo" / "threadline.db"), "status", "--json"]
    )
    figures = json.loads(status.output)
    assert figures["items"] >= 1500
    assert set(figures["platforms"]) == {"slack", "email", "calendar", "notion"}

    again = runner.invoke(app, ["demo", "--dir", str(tmp_path / "demo")], env={"COLUMNS": "160"})
    assert again.exit_code == 0, again.output
    assert re.search(r"✓ slack-export \S+: 0 added, 0 updated, \d+ unchanged", again.output)


def test_readme_opens_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, flags=re.S)
    assert block is not None
    install, test = block.group(1).strip().splitlines()[:2]
    assert install.endswith("threadline demo") and "pip install -e '.[dev]'" in install
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci, "the README's test command is what .ci/run runs"
