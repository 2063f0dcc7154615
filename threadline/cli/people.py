"""``threadline people``: who is who across platforms, and the user's merges and splits."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from threadline.context.people_query import PersonDetail

people_app = typer.Typer(
    help="People: the identities (addresses, Slack users, Notion names) that are one person.",
    invoke_without_command=True,
)
app.add_typer(people_app, name="people")

JSON = typer.Option(False, "--json", help="Print as JSON.")


@people_app.callback()
def people_list(
    ctx: typer.Context,
    query: str | None = typer.Option(None, "--find", "-f", help="Only people matching this."),
    json_out: bool = JSON,
) -> None:
    """Every person: identities, platforms and how many items they wrote."""
    if ctx.invoked_subcommand is not None:
        return
    from threadline.context.people_query import list_people

    with settings(ctx).engine().connect() as conn:
        found = list_people(conn, query)
    if json_out:
        sys.stdout.write(json.dumps([p.model_dump() for p in found], indent=2) + "\n")
        return
    if not found:
        empty = "No people yet: run threadline accumulate"
        hint = f"No people match {query!r}." if query else empty
        console.print(hint)
        return
    table = Table("id", "person", "identities", "platforms", "items", box=None, header_style="bold")
    for p in found:
        name = f"{p.name} [dim](bot)[/]" if p.bot else p.name
        table.add_row(str(p.id), name, str(p.identities), ", ".join(p.platforms), str(p.items))
    console.print(table)
    console.print("[dim]threadline people show ID prints one person and why they are one.[/]")


def _print_person(detail: PersonDetail) -> None:
    console.print(f"[bold]#{detail.id} {detail.name}[/]")
    for ident in detail.identities:
        name = f" ({ident.display_name})" if ident.display_name else ""
        title = f", {ident.title}" if ident.title else ""
        console.print(f"  [bold]{ident.key}[/]{name}{title} [dim]{ident.items} items[/]")
        for ev in ident.evidence:
            console.print(f"    [green]{ev.rule}[/]: {ev.detail}", highlight=False)
    for s in detail.suggestions:
        console.print(
            f"  [yellow]maybe[/] #{s.person_a} {s.name_a} = #{s.person_b} {s.name_b} "
            f"({s.score:.0f}): {s.evidence}",
            highlight=False,
        )


@people_app.command("show")
def people_show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Person id, identity key (email:jane@x) or name."),
    json_out: bool = JSON,
) -> None:
    """One person: their identities and the evidence that joins them."""
    from threadline.context.people_query import show_person

    with settings(ctx).engine().connect() as conn:
        try:
            detail = show_person(conn, ref)
        except ThreadlineError as exc:
            fail(str(exc))
    if json_out:
        sys.stdout.write(detail.model_dump_json(indent=2) + "\n")
    else:
        _print_person(detail)


@people_app.command("merge")
def people_merge(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="Identity key, person id or name."),
    b: str = typer.Argument(..., help="Identity key, person id or name."),
) -> None:
    """Make A and B one person, for good (kept through every rebuild)."""
    from threadline.context.people import merge
    from threadline.context.people_query import show_person

    try:
        with settings(ctx).engine().begin() as conn:
            pid = merge(conn, a, b)
            detail = show_person(conn, str(pid))
    except ThreadlineError as exc:
        fail(str(exc))
    console.print(f"[green]✓[/] merged {a} and {b}")
    _print_person(detail)


@people_app.command("split")
def people_split(
    ctx: typer.Context,
    identity_key: str = typer.Argument(..., help="The identity to detach, e.g. slack:U123."),
) -> None:
    """Detach one identity into a person of its own; no rule will join it back."""
    from threadline.context.people import split
    from threadline.context.people_query import show_person

    try:
        with settings(ctx).engine().begin() as conn:
            pid = split(conn, identity_key)
            detail = show_person(conn, str(pid))
    except ThreadlineError as exc:
        fail(str(exc))
    console.print(f"[green]✓[/] {identity_key} is now on its own")
    _print_person(detail)


@people_app.command("suggestions")
def people_suggestions(ctx: typer.Context, json_out: bool = JSON) -> None:
    """Identities that may be one person (similar names, seen together): never merged alone."""
    from threadline.context.people_query import suggestions

    with settings(ctx).engine().connect() as conn:
        found = suggestions(conn)
    if json_out:
        sys.stdout.write(json.dumps([s.model_dump() for s in found], indent=2) + "\n")
        return
    if not found:
        console.print("No open suggestions.")
        return
    for s in found:
        console.print(
            f"[bold]{s.score:.0f}[/] #{s.person_a} {s.name_a} ({s.identity_a}) = "
            f"#{s.person_b} {s.name_b} ({s.identity_b})",
            highlight=False,
        )
        console.print(f"    {s.evidence}", highlight=False)
        console.print(f"    [dim]threadline people merge {s.identity_a} {s.identity_b}[/]")
