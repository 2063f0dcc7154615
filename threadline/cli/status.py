"""``threadline status`` and ``threadline quarantine``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.paths import config_dir

if TYPE_CHECKING:
    from threadline.store.status import StoreStatus


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else "never"


def print_status(status: StoreStatus) -> None:
    console.print(f"[bold]Store[/] {status.db}")
    console.print(f"[bold]Config[/] {config_dir()}")
    console.print(
        f"{status.items} items ({status.deleted} deleted), {status.versions} earlier versions, "
        f"{status.identities} identities, {status.sources} sources, "
        f"{status.quarantined} quarantined"
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("platform")
    table.add_column("container")
    table.add_column("items", justify="right")
    for platform, figures in status.platforms.items():
        table.add_row(f"[bold]{platform}[/]", "[dim]all[/]", f"[bold]{figures.items}[/]")
        for container in figures.containers:
            table.add_row("", container.container, str(container.items))
    if status.platforms:
        console.print(table)
    run = status.last_import
    if run:
        state = "[yellow]interrupted[/]" if run.status == "running" else run.status
        console.print(
            f"Last import: {run.importer} {run.path} at {_when(run.started_at)}: {state}, "
            f"{run.added} added, {run.updated} updated, {run.unchanged} unchanged, "
            f"{run.quarantined} quarantined"
        )
    else:
        console.print("Nothing imported yet: try [bold]threadline import --help[/]")


@app.command()
def status(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the same as JSON."),
) -> None:
    """What is stored: counts per platform and container, last import, quarantined items."""
    from threadline.store.status import store_status

    cfg = settings(ctx)
    engine = cfg.engine()
    with engine.connect() as conn:
        figures = store_status(conn, engine.url.render_as_string(hide_password=True))
    if json_out:
        sys.stdout.write(figures.model_dump_json(indent=2) + "\n")
    else:
        print_status(figures)


quarantine_app = typer.Typer(help="Items that could not be read, kept whole.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Every item that could not be read: file, position, reason."""
    from threadline.store.status import quarantine_entries

    with settings(ctx).engine().connect() as conn:
        entries = quarantine_entries(conn)
    if json_out:
        sys.stdout.write("[" + ",".join(e.model_dump_json() for e in entries) + "]\n")
        return
    if not entries:
        console.print("Nothing in quarantine.")
        return
    table = Table("id", "platform", "file", "position", "reason", box=None, header_style="bold")
    for e in entries:
        table.add_row(str(e.id), e.platform, e.file, e.position, e.reason)
    console.print(table)
    console.print("[dim]threadline quarantine show ID prints the raw bytes that were kept.[/]")


@quarantine_app.command("show")
def quarantine_show(ctx: typer.Context, entry_id: int = typer.Argument(...)) -> None:
    """Write the raw bytes kept for one quarantined item to stdout."""
    from threadline.store.status import quarantine_raw

    with settings(ctx).engine().connect() as conn:
        raw = quarantine_raw(conn, entry_id)
    if raw is None:
        fail(f"no quarantined item {entry_id}: see threadline quarantine list")
    sys.stdout.buffer.write(raw)

