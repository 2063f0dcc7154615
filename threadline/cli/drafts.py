"""``threadline drafts`` (list, show, edit, mark) and ``threadline recipes``."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.cli.produce import render_draft
from threadline.errors import ThreadlineError

drafts_app = typer.Typer(help="Drafts Threadline produced: list, show, edit, mark.",
                         invoke_without_command=True)
app.add_typer(drafts_app, name="drafts")


@drafts_app.callback()
def list_drafts(
    ctx: typer.Context,
    client: str | None = typer.Option(None, "--client"),
    recipe: str | None = typer.Option(None, "--recipe"),
    status: str | None = typer.Option(None, "--status"),
) -> None:
    """List the live drafts, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from threadline.produce import drafts as store

    with settings(ctx).engine().connect() as conn:
        found = store.list_drafts(conn, recipe=recipe, client=client, status=status)
    if not found:
        console.print("no drafts yet: `threadline produce client-update --client NAME`")
        return
    table = Table("id", "recipe", "client", "slot", "status", "claims", "composer", "created")
    for d in found:
        table.add_row(str(d.id), d.recipe, d.client or "—", d.slot, d.status,
                      str(len(d.draft.shipped_claims())), d.composer,
                      f"{d.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@drafts_app.command("show")
def show(
    ctx: typer.Context,
    draft_id: int = typer.Argument(...),
    fmt: str = typer.Option("markdown", "--format"),
) -> None:
    """A draft as it would be sent (the edited text when edited), with its sources."""
    from threadline.produce import drafts as store

    try:
        with settings(ctx).engine().connect() as conn:
            found = store.get(conn, draft_id)
        text = found.edited_markdown or render_draft(found.draft, fmt)
    except ThreadlineError as exc:
        fail(str(exc))
    console.out(text, end="", highlight=False)
    if found.edited_markdown:
        console.out("\nSources:\n" + "".join(
            f"- {cid} ({s.platform}, {s.container})\n" for cid, s in found.draft.sources.items()
        ), end="", highlight=False)
    report = found.draft.report
    console.out(f"\n[{found.status}] {report.kept} kept, {report.flagged} flagged, "
                f"{report.dropped} dropped\n", highlight=False)


@drafts_app.command("edit")
def edit(ctx: typer.Context, draft_id: int = typer.Argument(...)) -> None:
    """Open the draft's Markdown in $EDITOR; the saved change is kept as an edit."""
    from threadline.produce import drafts as store

    engine = settings(ctx).engine()
    try:
        with engine.connect() as conn:
            found = store.get(conn, draft_id)
        before = found.edited_markdown or render_draft(found.draft, "markdown")
    except ThreadlineError as exc:
        fail(str(exc))
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"draft-{draft_id}.md"
        path.write_text(before, encoding="utf-8")
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        if done.returncode != 0:
            fail(f"the editor ({editor}) exited with {done.returncode}; nothing was recorded")
        after = path.read_text(encoding="utf-8")
    with engine.begin() as conn:
        edit_id = store.record_edit(conn, draft_id, before, after)
    console.print("no change" if edit_id is None else f"edit #{edit_id} recorded")


@drafts_app.command("mark")
def mark(
    ctx: typer.Context,
    draft_id: int = typer.Argument(...),
    status: str = typer.Argument(..., help="approved | sent | rejected"),
) -> None:
    """Mark a draft approved, sent or rejected (sent ones are what the next update builds on)."""
    if status not in ("approved", "sent", "rejected"):
        fail(f"{status!r}: mark a draft approved, sent or rejected")
    from threadline.produce import drafts as store

    try:
        with settings(ctx).engine().begin() as conn:
            store.mark(conn, draft_id, status)  # type: ignore[arg-type]
    except ThreadlineError as exc:
        fail(str(exc))
    console.print(f"draft #{draft_id} is {status}")


@app.command("recipes")
def recipes() -> None:
    """The recipes: built-in and your own, with their sections and where they come from."""
    from threadline.produce.recipes import load_recipes

    try:
        found = load_recipes()
    except ThreadlineError as exc:
        fail(str(exc))
    for recipe in found.values():
        console.print(f"[bold]{recipe.name}[/] ({recipe.audience}, per {recipe.scope}) — "
                      f"{recipe.description}", highlight=False)
        console.print(f"  source: {recipe.source}", highlight=False)
        for s in recipe.sections:
            console.print(f"  - {s.title} [{s.key}]: {', '.join(s.selects)}; up to "
                          f"{s.max_claims} {s.style}", highlight=False)
