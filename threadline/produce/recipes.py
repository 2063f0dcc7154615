"""Recipes: what a deliverable is made of, section by section.

A recipe names its audience (a client, or the team), the window it covers (a week, a date
onwards, or the run-up to a calendar event) and its sections; each section says which kinds
of context feed it, how many claims it may hold and whether it reads as bullets or prose.
Four are built in; users add their own as YAML, or Markdown with YAML front matter, in
``config_dir()/recipes``. A user recipe with a built-in's name replaces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from threadline.errors import ConfigError
from threadline.paths import config_dir

SelectKind = Literal[
    "storylines", "decisions", "changes", "risks", "upcoming", "people", "highlights"
]


class RecipeSection(BaseModel):
    key: str
    title: str
    selects: list[SelectKind]
    max_claims: int = Field(default=5, ge=1, le=50)
    style: Literal["bullets", "prose"] = "bullets"


class Recipe(BaseModel):
    name: str
    description: str = ""
    audience: Literal["client", "internal"] = "client"
    scope: Literal["week", "since", "event"] = "week"
    sections: list[RecipeSection] = Field(min_length=1)
    lead_with_changes: bool = False
    """Open with what is new since the last update of this recipe sent to this client."""
    repeat_known: bool = True
    """Whether claims the client already got in the last sent update may come again."""
    source: str = "built-in"


class RecipeError(ConfigError):
    """A recipe that cannot be found or read."""


def _s(key: str, title: str, selects: list[SelectKind], n: int = 5,
       style: Literal["bullets", "prose"] = "bullets") -> RecipeSection:
    return RecipeSection(key=key, title=title, selects=selects, max_claims=n, style=style)


BUILTINS: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            name="client-update",
            description="Weekly status update for one client.",
            audience="client", scope="week", lead_with_changes=True, repeat_known=False,
            sections=[
                _s("highlights", "Highlights", ["highlights"], 3),
                _s("progress", "Progress by workstream", ["storylines", "changes"], 6),
                _s("risks", "Issues and risks", ["risks"], 4),
                _s("decisions", "Decisions", ["decisions"], 4),
                _s("next_steps", "Next steps", ["risks", "upcoming"], 3),
                _s("upcoming", "Upcoming meetings", ["upcoming"], 4),
            ],
        ),
        Recipe(
            name="weekly-digest",
            description="Internal digest across every client: highlights and risks.",
            audience="internal", scope="week",
            sections=[
                _s("highlights", "Highlights", ["highlights", "storylines", "decisions",
                                                "changes"], 4),
                _s("risks", "Risks", ["risks"], 3),
            ],
        ),
        Recipe(
            name="meeting-brief",
            description="Brief for a client meeting: context since the last one of the series.",
            audience="internal", scope="event",
            sections=[
                _s("purpose", "Purpose and context", ["upcoming", "highlights"], 3, "prose"),
                _s("open_items", "Open items", ["risks", "storylines"], 5),
                _s("decisions", "Decisions since the last meeting", ["decisions", "changes"], 5),
                _s("attendees", "Attendees", ["people"], 1, "prose"),
                _s("agenda", "Suggested agenda", ["risks", "decisions", "storylines"], 5),
            ],
        ),
        Recipe(
            name="project-recap",
            description="Recap of a project since a date: outcomes, decisions, open risks.",
            audience="client", scope="since",
            sections=[
                _s("summary", "Summary", ["highlights"], 4, "prose"),
                _s("delivered", "Delivered", ["storylines", "changes"], 8),
                _s("decisions", "Decisions", ["decisions"], 6),
                _s("risks", "Open risks", ["risks"], 4),
            ],
        ),
    )
}


def recipes_dir() -> Path:
    return config_dir() / "recipes"


def parse_recipe(text: str, source: str) -> Recipe:
    """A recipe from YAML, or Markdown whose YAML front matter holds it (the body, when
    there is one and no description is given, becomes the description)."""
    body = ""
    if text.lstrip().startswith("---"):
        parts = text.lstrip().split("---", 2)
        if len(parts) < 3:
            raise RecipeError(f"{source}: front matter opens with --- but never closes; "
                              "end it with a line holding ---")
        text, body = parts[1], parts[2].strip()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{source}: not valid YAML ({exc}); fix the file") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: a recipe is a mapping with name and sections")
    if body and not data.get("description"):
        data["description"] = body.splitlines()[0].strip()
    data["source"] = source
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise RecipeError(f"{source}: {problems}") from None


def load_recipes(directory: Path | None = None) -> dict[str, Recipe]:
    """The built-ins, then the user's recipes (which win on a shared name)."""
    found = dict(BUILTINS)
    folder = directory if directory is not None else recipes_dir()
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".yaml", ".yml", ".md", ".markdown"):
                recipe = parse_recipe(path.read_text(encoding="utf-8"), str(path))
                found[recipe.name] = recipe
    return found


def get_recipe(name: str, directory: Path | None = None) -> Recipe:
    recipes = load_recipes(directory)
    if name not in recipes:
        raise RecipeError(
            f"no recipe named {name!r} (known: {', '.join(sorted(recipes))}); add one as "
            f"YAML in {directory or recipes_dir()}"
        )
    return recipes[name]
