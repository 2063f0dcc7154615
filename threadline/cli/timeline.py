"""``threadline timeline``: what changed and when, each change cited by canonical id."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

import typer
from dateutil.parser import isoparse
from rich.markup import escape

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from threadline.context.as_of import Change


def parse_moment(
    option: str, value: str | None, tz: tzinfo, *, end: bool = False
) -> datetime | None:
    """A date (local midnight; for an end, the midnight after it) or an ISO date-time."""
    if value is None:
        return None
    try:
        if len(value.strip()) == 10:
            day = date.fromisoformat(value.strip())
            moment = datetime.combine(day + timedelta(days=1 if end else 0), time(0), tz)
        else:
            moment = isoparse(value.strip())
    except ValueError:
        fail(f"{option} {value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM")
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def client_items(conn: Connection, name: str) -> list[int]:
    from sqlalchemy import func, select

    from threadline.store.context_schema import client, item_client

    found = conn.execute(
        select(client.c.id).where(func.lower(client.c.name) == name.strip().lower())
    ).scalar()
    if found is None:
        known = ", ".join(conn.execute(select(client.c.name).order_by(client.c.name)).scalars())
        fail(
            f"no client named {name!r}"
            + (f" (known: {known})" if known else " (no clients yet: run threadline accumulate)")
        )
    query = select(item_client.c.item_id).where(item_client.c.client_id == found)
    return list(conn.execute(query).scalars())


def _print(changes: list[Change], tz: tzinfo) -> None:
    if not changes:
        console.print("No changes in that span.")
        return
    for change in changes:
        when = change.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        cites = ", ".join(change.citations)
        console.print(
            f"[bold]{when}[/]  {escape(change.summary)}  [dim]\\[{escape(cites)}][/]",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def timeline(
    ctx: typer.Context,
    client_name: str | None = typer.Option(None, "--client", help="Only this client's items."),
    since: str | None = typer.Option(None, "--since", help="From this date (YYYY-MM-DD)."),
    until: str | None = typer.Option(
        None, "--until", help="Up to this date, inclusive (YYYY-MM-DD)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Only what Threadline had learned by then (a date: by its end)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """What changed, when: moved, renamed or cancelled events, edits, decisions, deadlines.

    Times are shown in THREADLINE_TZ (else this machine's zone).
    """
    from threadline.context.as_of import changes_between
    from threadline.context.timeline import local_zone

    try:
        tz = local_zone()
    except ConfigError as exc:
        fail(str(exc))
    start = parse_moment("--since", since, tz)
    end = parse_moment("--until", until, tz, end=True)
    known_by = parse_moment("--as-of", as_of, tz, end=True)
    with settings(ctx).engine().connect() as conn:
        allowed = client_items(conn, client_name) if client_name else None
        changes = changes_between(conn, start, end, allowed, as_of=known_by, tz=tz)
    if json_out:
        sys.stdout.write(json.dumps([c.as_json() for c in changes], indent=2) + "\n")
    else:
        _print(changes, tz)
