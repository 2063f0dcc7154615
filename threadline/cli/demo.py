"""``threadline demo`` and ``threadline sample-workspace``."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.rule import Rule

from threadline.cli.app import app, console, settings
from threadline.cli.imports import import_file
from threadline.cli.status import print_status

IMPORT_ORDER = [("slack-export", "slack"), ("mbox", "email"), ("ics", "calendar"),
                ("notion-export", "notion")]


@app.command("sample-workspace")
def sample_workspace(
    out: Path = typer.Option(..., "--out", help="Folder to write the exports and gold.json to."),
    seed: int = typer.Option(7, help="Same seed, same bytes."),
    weeks: int = typer.Option(4, min=1, help="How many weeks of activity."),
    scale: int = typer.Option(1, min=1, help="Volume multiplier (clients, people, chatter)."),
    end_week: str = typer.Option("2026-W47", help="The last ISO week generated."),
) -> None:
    """Write a realistic sample workspace in the platforms' real export formats."""
    from threadline.sample import generate_workspace

    started = time.perf_counter()
    with console.status(f"generating {weeks} weeks at scale {scale}…"):
        manifest = generate_workspace(out, seed=seed, weeks=weeks, scale=scale, end_week=end_week)
    for platform, path in manifest.files.items():
        count = manifest.counts.get(platform)
        console.print(f"  {path}" + (f"  ({count} items)" if count is not None else ""))
    console.print(
        f"[green]✓[/] {manifest.total_items} items for {len(manifest.clients)} clients over "
        f"{len(manifest.weeks)} weeks in {time.perf_counter() - started:.1f}s"
    )


@app.command()
def demo(
    ctx: typer.Context,
    folder: Path = typer.Option(
        Path("threadline-demo"), "--dir", help="Where to put the sample workspace and its store."
    ),
    client: str = typer.Option("Acme Corp", help="Whose week to show."),
) -> None:
    """Build a sample workspace, import it, and print a cited view of one client's week."""
    from threadline.context.clients_config import save_clients
    from threadline.context.weeks import parse_week
    from threadline.produce.pipeline import produce
    from threadline.produce.render import render
    from threadline.sample import FILES, generate_workspace
    from threadline.sample.clients_yaml import sample_clients_config
    from threadline.store import open_store
    from threadline.store.status import store_status

    started = time.perf_counter()
    workspace = folder / "workspace"
    db = settings(ctx).db or str(folder / "threadline.db")
    console.print(Rule("1. Generating a sample workspace"))
    manifest = generate_workspace(workspace, seed=7, weeks=4, scale=1)
    console.print(
        f"{manifest.total_items} items for {', '.join(manifest.clients)} "
        f"({manifest.weeks[0]} to {manifest.weeks[-1]}) in {workspace}"
    )
    config = sample_clients_config(seed=7, scale=1)
    clients_file = folder / "clients.yaml"
    save_clients(config, clients_file)

    console.print(Rule("2. Importing the exports"))
    engine = open_store(db)
    for kind, platform in IMPORT_ORDER:
        import_file(engine, kind, workspace / FILES[platform], console, clients_file=clients_file)

    console.print(Rule("3. threadline status"))
    with engine.connect() as conn:
        print_status(store_status(conn, engine.url.render_as_string(hide_password=True)))

    week = parse_week(manifest.weeks[-1])
    command = f"threadline produce client-update --client {client!r} --week {week.label}"
    console.print(Rule(f"4. {command}"))
    stored = produce(engine, "client-update", client=client, week=week.label)
    report = stored.draft.report
    console.print(render(stored.draft, "markdown"), markup=False, highlight=False)
    console.print(
        f"[dim]draft #{stored.id}: {report.kept} claims kept, {report.flagged} flagged, "
        f"{report.dropped} dropped by the verifier ({stored.draft.composer} composer)[/]"
    )

    console.print(Rule("Try next"))
    env = f"--db {db}"
    console.print(
        f"  threadline {env} drafts show {stored.id}\n"
        f"  threadline {env} produce weekly-digest --week {week.label}\n"
        f"  threadline {env} context \"{client}\" --week {week.label}\n"
        f"  threadline {env} storylines --client \"{client}\" --week {week.label}\n"
        f"  threadline {env} timeline --client \"{client}\"\n"
        f"  threadline {env} ask \"what did Acme decide about the tracking gap?\"\n"
        f"  threadline {env} search \"tracking\" --client \"{client}\"\n"
        f"  threadline {env} people\n"
        f"  threadline import slack-export ~/Downloads/your-slack-export.zip\n"
        f"  (sample exports and the gold manifest are in {workspace}; client rules in "
        f"{clients_file})",
        markup=False,
        highlight=False,
    )
    console.print(f"[dim]demo finished in {time.perf_counter() - started:.1f}s[/]")
