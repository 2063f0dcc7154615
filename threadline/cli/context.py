"""``threadline context``: one client's weekly note, every line cited by canonical id."""

from __future__ import annotations

import json
import sys

import typer
from rich.text import Text

from threadline.cli.app import app, console, fail, settings
from threadline.cli.timeline import parse_moment
from threadline.errors import ThreadlineError

_STYLES = {"title": "bold", "heading": "bold underline", "dim": "dim", "": ""}


@app.command()
def context(
    ctx: typer.Context,
    client_name: str = typer.Argument(..., help="Client name, as `threadline clients` shows it."),
    week: str = typer.Option("last", "--week", help="2026-W47, 'this' or 'last'."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The note as Threadline knew it then (a date: by its end)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the note as JSON."),
) -> None:
    """A client's week: storylines, decisions, changes, open risks, upcoming meetings, people.

    Reads the note accumulation keeps; with --as-of it is worked out from what had been
    recorded by then.
    """
    from threadline.context.note_render import render_lines, with_names
    from threadline.context.notes import find_client, load_note, note_as_of
    from threadline.context.timeline import local_zone
    from threadline.context.weeks import parse_week

    try:
        chosen = parse_week(week)
        tz = local_zone()
    except ThreadlineError as exc:
        fail(str(exc))
    known_by = parse_moment("--as-of", as_of, tz, end=True)
    with settings(ctx).engine().connect() as conn:
        try:
            client_id, _name = find_client(conn, client_name)
        except ThreadlineError as exc:
            fail(str(exc))
        if known_by is not None:
            view = note_as_of(conn, client_id, chosen, known_by)
        else:
            stored = load_note(conn, client_id, chosen)
            if stored is None:
                fail(
                    f"no note for {client_name} in {chosen.label}: nothing of theirs was "
                    "stored for that week, or `threadline accumulate` has not run since import"
                )
            view = stored
        view = with_names(conn, view)
    if json_out:
        sys.stdout.write(json.dumps(view.model_dump(mode="json"), indent=2) + "\n")
        return
    for style, line in render_lines(view):
        console.print(Text(line, style=_STYLES.get(style, "")), soft_wrap=True)
