"""``threadline produce RECIPE``: draft a deliverable, verified, stored, and printed.

One subcommand per recipe, built-in or the user's own (``threadline recipes`` lists them):
``produce client-update --client "Acme Corp" --week 2026-W47``, ``produce weekly-digest``,
``produce meeting-brief --event "Acme weekly review"``, ``produce project-recap --project
"Q2 campaign" --since 2026-09-01``. Markdown goes to stdout unless --format/--out say else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from threadline.cli.app import app, console, err_console, fail, settings
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from threadline.produce.model import Draft
    from threadline.produce.recipes import Recipe

produce_app = typer.Typer(help="Draft a deliverable from a recipe; every claim cited.",
                          no_args_is_help=True)
app.add_typer(produce_app, name="produce")
FORMATS = ("markdown", "html", "slack", "notion", "json")


def render_draft(draft: Draft, fmt: str) -> str:
    """The renderers' output; a plain Markdown of our own only if they are missing."""
    try:
        from threadline.produce.render import render

        return render(draft, fmt)
    except ImportError:
        # The renderers are written alongside; until all of them import, Markdown of our own.
        return fallback_markdown(draft) if fmt == "markdown" else draft.model_dump_json(indent=2)


def fallback_markdown(draft: Draft) -> str:
    lines = [f"# {draft.title}", ""]
    if draft.greeting:
        lines += [draft.greeting, ""]
    numbers = {cid: n for n, cid in enumerate(draft.sources, 1)}
    for section in draft.sections:
        shipped = [c for c in section.claims if c.status != "dropped"]
        if not shipped:
            continue
        lines += [f"## {section.title}", ""]
        for claim in shipped:
            refs = "".join(f"[{numbers[c]}]" for c in claim.citations if c in numbers)
            lines.append(f"- {claim.text} {refs}".rstrip())
        lines.append("")
    if draft.sources:
        lines += ["## Sources", ""]
        lines += [f"{n}. {s.platform} {s.container}: {s.title or s.text[:60]} ({cid})"
                  for cid, n in numbers.items() for s in [draft.sources[cid]]]
    return "\n".join(lines).rstrip() + "\n"


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date: write it as YYYY-MM-DD")


def _command(recipe: Recipe) -> Callable[..., None]:
    def run(
        ctx: typer.Context,
        client: str | None = typer.Option(None, "--client", help="Client name."),
        week: str | None = typer.Option(None, "--week", help="2026-W47, 'this' or 'last'."),
        since: str | None = typer.Option(None, "--since", help="From this date (YYYY-MM-DD)."),
        until: str | None = typer.Option(None, "--until", help="To this date (YYYY-MM-DD)."),
        event: str | None = typer.Option(None, "--event", help="Calendar event title or id."),
        project: str | None = typer.Option(None, "--project", help="Project name."),
        fmt: str = typer.Option("markdown", "--format", help=" | ".join(FORMATS)),
        out: Path | None = typer.Option(None, "--out", help="Write to this file."),
        backend: str = typer.Option("offline", "--backend", help="offline | openai | anthropic"),
        model: str | None = typer.Option(None, "--model", help="The backend's model."),
    ) -> None:
        from threadline.llm.base import ComposerSettings
        from threadline.produce.pipeline import produce

        if fmt not in FORMATS:
            fail(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
        engine = settings(ctx).engine()
        try:
            stored = produce(
                engine, recipe.name, client=client, week=week,
                since=_parse_day(since, "--since"), until=_parse_day(until, "--until"),
                event=event, project=project,
                settings=ComposerSettings(backend=backend, model=model),
            )
            text = render_draft(stored.draft, fmt)
        except ThreadlineError as exc:
            fail(str(exc))
        report = stored.draft.report
        err_console.print(f"draft #{stored.id}: {report.kept} kept, {report.flagged} flagged, "
                          f"{report.dropped} dropped ({stored.composer})")
        if out is not None:
            out.write_text(text, encoding="utf-8")
            err_console.print(f"written to {out}")
        else:
            console.out(text, end="", highlight=False)

    run.__doc__ = recipe.description or f"The {recipe.name} recipe."
    return run


def _register_recipes() -> None:
    # One subcommand per recipe, so the recipes (built-in and the user's) load at import.
    from threadline.produce.recipes import BUILTINS, load_recipes

    try:
        recipes = load_recipes()
    except ThreadlineError as exc:
        # A broken user recipe must not take the whole CLI down: the built-ins still run.
        err_console.print(f"[yellow]warning:[/] {exc}")
        recipes = dict(BUILTINS)
    for recipe in recipes.values():
        produce_app.command(name=recipe.name)(_command(recipe))


_register_recipes()
