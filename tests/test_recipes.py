"""Recipes: the built-ins, user recipes from YAML and Markdown front matter, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.produce.recipes import BUILTINS, RecipeError, get_recipe, load_recipes

YAML = """name: exec-summary
description: Two lines for the CEO.
audience: internal
scope: week
sections:
  - {key: highlights, title: Headlines, selects: [highlights], max_claims: 2, style: prose}
"""
MARKDOWN = """---
name: risk-log
scope: since
sections:
  - key: risks
    title: Open risks
    selects: [risks]
---
Every open risk since a date, for the steering group.
"""


def test_builtins_have_the_sections_the_deliverables_need() -> None:
    assert set(BUILTINS) == {"client-update", "weekly-digest", "meeting-brief", "project-recap"}
    update = BUILTINS["client-update"]
    assert [s.key for s in update.sections] == [
        "highlights", "progress", "risks", "decisions", "next_steps", "upcoming"]
    assert update.lead_with_changes and not update.repeat_known
    assert BUILTINS["weekly-digest"].audience == "internal"
    assert BUILTINS["meeting-brief"].scope == "event"


def test_user_recipes_load_from_yaml_and_markdown_front_matter(tmp_path: Path) -> None:
    (tmp_path / "exec.yaml").write_text(YAML)
    (tmp_path / "risk-log.md").write_text(MARKDOWN)
    found = load_recipes(tmp_path)
    assert found["exec-summary"].sections[0].style == "prose"
    assert found["exec-summary"].source.endswith("exec.yaml")
    log = found["risk-log"]
    assert log.description == "Every open risk since a date, for the steering group."
    assert log.scope == "since" and log.sections[0].selects == ["risks"]
    assert "client-update" in found


def test_a_broken_recipe_names_the_file_and_the_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\nsections:\n  - key: x\n    title: X\n"
                                       "    selects: [gossip]\n")
    with pytest.raises(RecipeError, match=r"bad\.yaml.*selects"):
        load_recipes(tmp_path)
    with pytest.raises(RecipeError, match="known: client-update"):
        get_recipe("nope", tmp_path / "missing")


def test_recipes_command_lists_sections_and_source(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path))
    folder = tmp_path / "config" / "recipes"
    folder.mkdir(parents=True)
    (folder / "exec.yaml").write_text(YAML)
    result = CliRunner().invoke(app, ["recipes"])
    assert result.exit_code == 0, result.output
    assert "exec-summary" in result.output and "Headlines" in result.output
    assert str(folder / "exec.yaml") in result.output.replace("\n", "")
    assert "Issues and risks" in result.output
