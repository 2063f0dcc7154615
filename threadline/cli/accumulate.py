"""``threadline accumulate``: fold new items into the context (imports do it themselves)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from threadline.cli.app import app, console, settings

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from threadline.context.accumulate import AccumulationReport


def fold_context(
    engine: Engine, out: Console, *, rebuild: bool = False, clients_file: Path | None = None
) -> AccumulationReport:
    """Fold what changed into the context, with a progress bar."""
    from threadline.cli.progress import item_progress
    from threadline.context.accumulate import (
        AccumulationReport,
        accumulate,
        default_folders,
        pending,
    )

    with engine.connect() as conn:
        todo = None if rebuild else pending(conn)
    if todo == 0:
        return AccumulationReport()
    with item_progress(out) as progress:
        task = progress.add_task("context" if not rebuild else "rebuild context", total=todo)
        report = accumulate(
            engine,
            rebuild=rebuild,
            folders=default_folders(clients_file),
            progress=lambda n: progress.advance(task, n),
        )
        progress.update(task, total=progress.tasks[task].completed)
    spent = ", ".join(f"{name} {sec:.1f}s" for name, sec in report.seconds_by_folder.items())
    out.print(f"[green]✓[/] context: folded {report.items} items ({spent})")
    return report


@app.command("accumulate")
def accumulate_command(
    ctx: typer.Context,
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Recompute the whole context from the stored items."
    ),
    clients_file: Path | None = typer.Option(
        None, "--clients", help="clients.yaml to use (default: the one in the config dir)."
    ),
) -> None:
    """Fold new and changed items into people, clients, storylines and the timeline."""
    engine = settings(ctx).engine()
    report = fold_context(engine, console, rebuild=rebuild, clients_file=clients_file)
    if not report.items:
        console.print("Context is up to date: nothing new to fold.")
