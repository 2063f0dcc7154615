"""``threadline storylines``: matters that run across platforms, with their status."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.cli.timeline import parse_moment
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from threadline.context.storyline_query import StorylineDetail

storylines_app = typer.Typer(
    help="Storylines: one matter's Slack threads, emails, meetings and Notion pages together.",
    invoke_without_command=True,
)
app.add_typer(storylines_app, name="storylines")

JSON = typer.Option(False, "--json", help="Print as JSON.")


@storylines_app.callback()
def storylines_list(
    ctx: typer.Context,
    client_name: str | None = typer.Option(None, "--client", help="Only this client's."),
    week: str | None = typer.Option(None, "--week", help="Active in this ISO week (2026-W47)."),
    since: str | None = typer.Option(None, "--since", help="Active from this date (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, "--until", help="Active up to this date, inclusive."),
    status: str | None = typer.Option(None, "--status", help="open, resolved or waiting."),
    json_out: bool = JSON,
) -> None:
    """Storylines, most recently active first."""
    if ctx.invoked_subcommand is not None:
        return
    from threadline.context.storyline_query import list_storylines
    from threadline.context.timeline import local_zone
    from threadline.context.weeks import parse_week

    if week and (since or until):
        fail("--week cannot be combined with --since/--until: give one span")
    tz = local_zone()
    start = parse_moment("--since", since, tz)
    end = parse_moment("--until", until, tz, end=True)
    try:
        if week:
            span = parse_week(week)
            start, end = span.start, span.end
        with settings(ctx).engine().connect() as conn:
            found = list_storylines(conn, client_name, start, end, status)
    except ThreadlineError as exc:
        fail(str(exc))
    if json_out:
        sys.stdout.write(
            json.dumps([s.model_dump(mode="json") for s in found], indent=2) + "\n"
        )
        return
    if not found:
        console.print("No storylines there (run threadline accumulate if you have not yet).")
        return
    table = Table("id", "last", "status", "title", "clients", "items", box=None,
                  header_style="bold")
    for s in found:
        last = s.last_at.astimezone(tz).strftime("%a %d %b") if s.last_at else "-"
        platforms = " ".join(f"{p}:{n}" for p, n in s.platforms.items())
        table.add_row(str(s.id), last, s.status, escape(s.title), escape(", ".join(s.clients)),
                      platforms)
    console.print(table)
    console.print("[dim]threadline storylines show ID prints one storyline item by item.[/]")


def _print(detail: StorylineDetail) -> None:
    from threadline.context.timeline import local_zone

    tz = local_zone()
    console.print(f"[bold]#{detail.id} {escape(detail.title)}[/]  [dim]{escape(detail.key)}[/]")
    console.print(f"Status: {detail.status}" + (
        f" ({escape(detail.status_detail)})" if detail.status_detail else ""), highlight=False)
    if detail.clients:
        console.print(f"Clients: {escape(', '.join(detail.clients))}")
    if detail.participants:
        names = ", ".join(str(p.get("name")) for p in detail.participants)
        console.print(f"People: {escape(names)}")
    for entry in detail.timeline:
        when = entry.occurred_at.astimezone(tz).strftime("%a %d %b %H:%M") if (
            entry.occurred_at) else "undated"
        text = entry.title or entry.excerpt
        console.print(
            f"  {when}  [bold]{entry.platform:8}[/] {escape(text[:90])}  "
            f"[dim]\\[{escape(entry.item)}][/]",
            highlight=False, soft_wrap=True,
        )


@storylines_app.command("show")
def storylines_show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="A storyline id, its key, or any member's item id."),
    json_out: bool = JSON,
) -> None:
    """One storyline: status, people, and its items in time order, each cited."""
    from threadline.context.storyline_query import show_storyline

    try:
        with settings(ctx).engine().connect() as conn:
            detail = show_storyline(conn, ref)
    except ThreadlineError as exc:
        fail(str(exc))
    if json_out:
        sys.stdout.write(json.dumps(detail.model_dump(mode="json"), indent=2) + "\n")
        return
    _print(detail)
