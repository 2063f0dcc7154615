"""``threadline clients``: who the clients are, which items are theirs, and why."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

clients_app = typer.Typer(
    help="Clients and the rules that place items under them.", invoke_without_command=True
)
app.add_typer(clients_app, name="clients")

_HEADER = (
    "# Threadline clients. Edit freely: this file wins over inference.\n"
    "# me.domains: your own company; ignore.domains: never clients.\n"
    "# Per client: aliases, domains, addresses (for webmail people), channels, notion, projects.\n"
)


@clients_app.callback()
def clients_list(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List clients with item counts per platform and the rules that placed them."""
    if ctx.invoked_subcommand is not None:
        return
    from threadline.context.clients import clients_path, list_clients

    with settings(ctx).engine().connect() as conn:
        found = list_clients(conn)
    if json_out:
        sys.stdout.write(json.dumps([asdict(c) for c in found], indent=2, default=str) + "\n")
        return
    if not found:
        console.print(
            "No clients yet: run an import and accumulation, or write "
            f"{clients_path()} (try [bold]threadline clients init[/])."
        )
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("client", "origin", "items", "platforms", "rules"):
        table.add_column(column, justify="right" if column == "items" else "left")
    for entry in found:
        table.add_row(
            entry.name,
            entry.origin,
            str(entry.items),
            ", ".join(f"{p} {n}" for p, n in sorted(entry.platforms.items())),
            ", ".join(f"{r} {n}" for r, n in sorted(entry.by_rule.items())),
        )
    console.print(table)


@clients_app.command("show")
def clients_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Client name (as listed by `threadline clients`)."),
    limit: int = typer.Option(10, help="How many items to show."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """One client's rules and a sample of its items, each with the rule that placed it."""
    from sqlalchemy import select

    from threadline.context.clients import client_of_items, items_for_client, list_clients
    from threadline.store.schema import item

    with settings(ctx).engine().connect() as conn:
        summary = next((c for c in list_clients(conn) if c.name.lower() == name.lower()), None)
        if summary is None:
            known = ", ".join(c.name for c in list_clients(conn)) or "none yet"
            fail(f"no client named {name!r} (known: {known})")
        ids = items_for_client(conn, summary.name)[-limit:] if limit > 0 else []
        placed = client_of_items(conn, ids)
        rows = conn.execute(
            select(item.c.id, item.c.canonical_id, item.c.occurred_at, item.c.title, item.c.text)
            .where(item.c.id.in_(ids))
        ).all()
    sample = []
    for row in sorted(rows, key=lambda r: (r.occurred_at is None, r.occurred_at, r.id)):
        rule, detail = next(
            ((r, d) for c, r, d in placed.get(row.id, []) if c == summary.name), ("", "")
        )
        label = row.title or (row.text or "").strip().split("\n", 1)[0][:70]
        sample.append(
            {"item": row.canonical_id, "when": str(row.occurred_at or ""), "title": label,
             "rule": rule, "detail": detail}
        )
    if json_out:
        out = {**asdict(summary), "sample": sample}
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return
    console.print(f"[bold]{summary.name}[/] ({summary.origin}), {summary.items} items")
    console.print(json.dumps(summary.rules, indent=2, default=str), markup=False)
    for entry in sample:
        console.print(
            f"{entry['when'][:16]}  {entry['item']}  {entry['title']}\n"
            f"    [dim]{entry['rule']}: {entry['detail']}[/]"
        )


@clients_app.command("init")
def clients_init(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing clients.yaml."),
) -> None:
    """Write clients.yaml from the inferred clients, as a starting point to edit."""
    from threadline.context.client_inference import suggested_config
    from threadline.context.clients import clients_path
    from threadline.context.clients_config import ClientsConfig, load_clients, save_clients

    target = clients_path()
    if target.exists() and not force:
        fail(f"{target} exists; edit it, or pass --force to replace it with inferred clients")
    try:
        current = load_clients(target)
    except ThreadlineError:
        if not force:
            raise
        current = ClientsConfig()
    with settings(ctx).engine().connect() as conn:
        config = suggested_config(conn, current)
    save_clients(config, target)
    target.write_text(_HEADER + target.read_text(encoding="utf-8"), encoding="utf-8")
    console.print(f"Wrote {len(config.clients)} clients to {target}")
