"""``threadline import <kind> PATH``: read an export file into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from threadline.cli.accumulate import fold_context
from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from threadline.connectors.runner import ImportSummary

import_app = typer.Typer(
    help="Import a platform's export file into the store.", no_args_is_help=True
)
app.add_typer(import_app, name="import")


@import_app.callback()
def import_options(
    reparse: bool = typer.Option(
        False,
        "--reparse",
        help="Parse every part again, even those an earlier import read unchanged.",
    ),
    no_context: bool = typer.Option(
        False,
        "--no-context",
        help="Store the items but leave folding them into the context to `threadline "
        "accumulate` (for a first import of a very large archive).",
    ),
) -> None:
    """Import a platform's export file into the store."""


def import_file(
    engine: Engine,
    kind: str,
    path: Path,
    out: Console,
    *,
    clients_file: Path | None = None,
    options: dict[str, object] | None = None,
    reparse: bool = False,
    fold: bool = True,
) -> ImportSummary:
    """Run one import with a progress bar, print its summary, then fold it into the context."""
    from threadline.cli.progress import item_progress
    from threadline.connectors.base import open_importer
    from threadline.connectors.runner import run_import

    importer = open_importer(kind, path, **(options or {}))
    with item_progress(out) as progress:
        task = progress.add_task(f"{kind} {path.name}", total=importer.estimate())

        def advance(n: int) -> None:
            progress.advance(task, n)
            state = progress.tasks[task]
            # Estimates are hints (day files, bytes); never show a bar past its end.
            if state.total is not None and state.completed > state.total:
                progress.update(task, total=state.completed * 1.1)

        summary = run_import(engine, importer, path, progress=advance, reparse=reparse)
        progress.update(task, total=progress.tasks[task].completed)
    out.print(f"[green]✓[/] {kind} {path.name}: {summary.line} ({summary.seconds:.1f}s)")
    if summary.error:
        out.print(f"[yellow]warning:[/] {summary.error}")
    if summary.counts.quarantined:
        out.print("  see [bold]threadline quarantine list[/] for what could not be read")
    if fold:
        fold_context(engine, out, clients_file=clients_file)
    else:
        out.print("  context not folded (--no-context): run [bold]threadline accumulate[/]")
    return summary


def _run(ctx: typer.Context, kind: str, path: Path, **options: object) -> None:
    engine = settings(ctx).engine()
    group = ctx.parent.params if ctx.parent else {}
    try:
        import_file(
            engine,
            kind,
            path,
            console,
            options=options,
            reparse=bool(group.get("reparse")),
            fold=not group.get("no_context"),
        )
    except ThreadlineError as exc:
        fail(f"{kind} import of {path}: {exc}")


PathArg = typer.Argument(..., help="The export file or folder.", show_default=False)


@import_app.command("slack-export")
def slack_export(
    ctx: typer.Context,
    path: Path = PathArg,
    domain: str = typer.Option(
        "", help="The workspace's <domain>.slack.com, which exports omit; gives permalinks."
    ),
) -> None:
    """A Slack workspace export (the .zip, or the folder it unpacks to)."""
    _run(ctx, "slack-export", path, domain=domain)


@import_app.command("mbox")
def mbox(ctx: typer.Context, path: Path = PathArg) -> None:
    """An mbox file (Gmail Takeout's All mail.mbox), an .eml file or a folder of .eml files."""
    _run(ctx, "mbox", path)


@import_app.command("eml")
def eml(ctx: typer.Context, path: Path = PathArg) -> None:
    """One .eml file or a folder of them."""
    _run(ctx, "eml", path)


@import_app.command("ics")
def ics(
    ctx: typer.Context,
    path: Path = PathArg,
    default_tz: str = typer.Option("UTC", help="Time zone for floating times."),
) -> None:
    """An iCalendar file (or folder of them); recurring events are expanded over a window."""
    _run(ctx, "ics", path, default_tz=default_tz)


@import_app.command("notion-export")
def notion_export(ctx: typer.Context, path: Path = PathArg) -> None:
    """A Notion "Markdown & CSV" export (the .zip, or the folder it unpacks to)."""
    _run(ctx, "notion-export", path)
