"""``threadline ask``: a short answer from the store, every sentence cited."""

from __future__ import annotations

import json
import sys
from datetime import date

import typer

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError


@app.command()
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(..., help='For example: "what did Acme decide about hosting?"'),
    client: str | None = typer.Option(None, "--client", help="Only this client's items."),
    json_out: bool = typer.Option(False, "--json", help="Print the answer and sources as JSON."),
    today: str | None = typer.Option(
        None, "--today", help="Resolve time words against this date instead of today."
    ),
) -> None:
    """Answer a question from the stored items, citing them; says so when nothing is found."""
    from threadline.context.ask import ask as ask_store
    from threadline.context.timeline import local_zone

    tz = local_zone()
    with settings(ctx).engine().connect() as conn:
        try:
            answer = ask_store(
                conn, question, client_name=client, tz=tz,
                today=date.fromisoformat(today) if today else None,
            )
        except ThreadlineError as exc:
            fail(str(exc))
    if json_out:
        sys.stdout.write(json.dumps(answer.as_json(), indent=2) + "\n")
        return
    for sentence, cites in answer.sentences:
        marks = "".join(f"[{n}]" for n in cites)
        console.print(f"{sentence} {marks}".strip(), markup=False, highlight=False)
    if answer.sources:
        console.print("\n[bold]Sources[/]")
    for s in answer.sources:
        link = f"{s.canonical_id} {s.permalink}" if s.permalink else s.canonical_id
        console.print(
            f"[{s.n}] {s.platform} · {s.container or ''} · {s.author or 'unknown'} · "
            f"{s.date or 'undated'} · {link}",
            markup=False, highlight=False,
        )
