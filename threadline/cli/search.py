"""``threadline search``: hybrid retrieval with filters, time words and context expansion."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from threadline.context.retrieve import Hit
    from threadline.store.search import ItemView


def parse_when(value: str | None, option: str, tz: tzinfo, *, end: bool) -> datetime | None:
    """An ISO date (local midnight; for --until the whole day is included) or datetime."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=tz)
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date: write it as 2026-11-05 or 2026-11-05T14:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def hit_json(view: ItemView, hit: Hit, parents: dict[int, str], tz: tzinfo) -> dict[str, Any]:
    when = view.occurred_at
    return {
        "id": view.canonical_id,
        "platform": view.platform,
        "kind": view.kind,
        "identifiers": view.identifiers(),
        "native": view.native,
        "container": {"id": view.container_id, "name": view.container_name},
        "thread_id": view.thread_id,
        "time": when.isoformat() if when else None,
        "local_time": when.astimezone(tz).isoformat() if when else None,
        "author": {"name": view.author_name, "key": view.author_key},
        "title": view.title,
        "text": view.text,
        "permalink": view.permalink,
        "score": round(hit.score, 4),
        "storyline": (
            {"id": view.storyline_id, "key": view.storyline_key, "title": view.storyline_title}
            if view.storyline_id is not None else None
        ),
        "via": hit.via,
        "expanded_from": parents.get(hit.expanded_from) if hit.expanded_from else None,
    }


def run_query(
    conn: Connection, query: str, options: dict[str, Any], tz: tzinfo
) -> list[tuple[ItemView, Hit, dict[int, str]]]:
    from threadline.context.retrieve import retrieve
    from threadline.store.search import item_views

    found = retrieve(conn, query, tz=tz, **options)
    views = item_views(conn, [h.item_id for h in found.hits])
    parents = {i: views[i].canonical_id for i in views}
    missing = {h.expanded_from for h in found.hits if h.expanded_from} - set(parents)
    parents.update({i: v.canonical_id for i, v in item_views(conn, sorted(missing)).items()})
    return [(views[h.item_id], h, parents) for h in found.hits if h.item_id in views]


def _print_hits(query: str, rows: list[tuple[ItemView, Hit, dict[int, str]]], tz: tzinfo) -> None:
    if not rows:
        console.print(f"No items match {query!r}.")
    for rank, (view, hit, parents) in enumerate(rows, 1):
        when = view.occurred_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if view.occurred_at \
            else "undated"
        if hit.via == "match":
            via = ""
        elif hit.via == "similar":
            via = " [cyan]similar in meaning[/]"
        else:
            via = f" [cyan]via {hit.via} of {parents.get(hit.expanded_from or 0, '?')}[/]"
        console.print(
            f"{rank:>2}. [bold]{view.canonical_id}[/] [dim]{view.platform} "
            f"{view.container_name or ''} {when} {view.author_name or view.author_key or ''}[/]"
            f"{via}"
        )
        if view.storyline_title:
            console.print(f"    [dim]storyline:[/] {view.storyline_title}", markup=True)
        body = " ".join(f"{view.title or ''} {view.text}".split())
        console.print(f"    {body[:200]}", markup=False)


@app.command()
def search(
    ctx: typer.Context,
    query: str | None = typer.Argument(
        None, help='Words to find; time words work too: "tracking last week".'
    ),
    client: str | None = typer.Option(None, "--client", help="Only this client's items."),
    since: str | None = typer.Option(None, "--since", help="From this date (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, "--until", help="Up to this date, inclusive."),
    platform: str | None = typer.Option(
        None, "--platform", help="slack, email, calendar or notion."
    ),
    limit: int = typer.Option(10, "--limit", "-k", help="How many results."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per hit, per line."),
    queries: Path | None = typer.Option(
        None, "--queries", help="A file of queries, one a line: one JSON line of hits each."
    ),
    no_expand: bool = typer.Option(
        False, "--no-expand", help="Only direct matches: no storyline or thread context."
    ),
    words_only: bool = typer.Option(
        False, "--words-only",
        help="Match words only: leave out items near in meaning (local embeddings).",
    ),
    today: str | None = typer.Option(
        None, "--today", help="Resolve time words against this date instead of today."
    ),
) -> None:
    """Search every stored item: best matches first, then the context they bring."""
    from threadline.context.timeline import local_zone

    if platform and platform not in ("slack", "email", "calendar", "notion"):
        fail(f"--platform {platform!r}: use slack, email, calendar or notion")
    if (query is None) == (queries is None):
        fail("give either a QUERY or --queries FILE")
    tz = local_zone()
    options: dict[str, Any] = {
        "client_name": client, "platform": platform, "limit": limit, "expand": not no_expand,
        "similar": not words_only,
        "since": parse_when(since, "--since", tz, end=False),
        "until": parse_when(until, "--until", tz, end=True),
        "today": date.fromisoformat(today) if today else None,
    }
    lines = [query or ""]
    if queries is not None:
        try:
            lines = [ln.strip() for ln in queries.read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            fail(f"cannot read the queries file {queries}: {exc.strerror}: check the path")
    with settings(ctx).engine().connect() as conn:
        for line in lines:
            if queries is not None and not line:
                continue
            try:
                rows = run_query(conn, line, options, tz)
            except ThreadlineError as exc:
                fail(str(exc))
            if queries is not None:
                hits = [hit_json(v, h, p, tz) for v, h, p in rows]
                sys.stdout.write(json.dumps({"query": line, "hits": hits}) + "\n")
            elif json_out:
                for v, h, p in rows:
                    sys.stdout.write(json.dumps(hit_json(v, h, p, tz)) + "\n")
            else:
                _print_hits(line, rows, tz)
