"""``threadline connect``, ``sync``, ``run`` and ``connections``: live connections."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID
    from sqlalchemy import Engine

    from threadline.connectors.connections import Connection
    from threadline.connectors.engine import SyncProgress, SyncSummary

connect_app = typer.Typer(help="Connect a live account (read-only).", no_args_is_help=True)
app.add_typer(connect_app, name="connect")

GOOGLE_SCOPES = [
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
]
# Asked for only with --send, for delivery through Gmail: sync itself never needs it.
GMAIL_SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send"
ApiUrl = typer.Option(None, "--api-url", help="API base URL (a proxy, or a local test server).")
Name = typer.Option("", "--name", help="A label for this connection (default: the account).")
Options = typer.Option(
    [], "--option", help="Connector option KEY=VALUE (VALUE as JSON), e.g. rate_profile=..."
)


def _options(pairs: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--option {pair!r}: write KEY=VALUE, e.g. --option rate_profile=non_marketplace")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


def connect_account(
    engine: Engine,
    name: str,
    secrets: dict[str, Any],
    *,
    api_url: str | None,
    label: str = "",
    options: dict[str, Any] | None = None,
) -> Connection:
    """Verify the credentials with discover(), then save the connection and its secrets."""
    from threadline.connectors.connections import create_connection
    from threadline.connectors.credentials import save_secrets
    from threadline.connectors.engine import runner_for
    from threadline.connectors.runner import ensure_source
    from threadline.connectors.sync_base import ConnectionSettings, load_connector

    options = options or {}
    factory = load_connector(name)
    settings = ConnectionSettings(platform=name, name=name, api_url=api_url, secrets=secrets,
                                  options=options)
    connector = factory(settings, runner_for(factory, options))
    info = connector.discover()
    source_id = ensure_source(engine, info)
    scopes = list(getattr(connector, "scopes", []) or [])
    conn = create_connection(
        engine, name=name, platform=info.platform, account=info.account,
        label=label or info.label, source_id=source_id, api_url=api_url, scopes=scopes,
        options=options,
    )
    save_secrets(conn.secret_ref, secrets)
    needed = list(getattr(connector, "needed_scopes", []) or [])
    console.print(f"[green]✓[/] connected {name}: {info.label or info.account} "
                  f"(connection {conn.id}, account {info.account})")
    if scopes:
        console.print(f"  scopes granted: {', '.join(scopes)}")
    missing = [s for s in needed if scopes and s not in scopes]
    if missing:
        console.print(f"  [yellow]scopes not granted[/] (those conversations are skipped): "
                      f"{', '.join(missing)}")
    elif needed and not scopes:
        console.print(f"  scopes needed: {', '.join(needed)}")
    console.print("  next: [bold]threadline sync[/] (or [bold]threadline run[/] to keep syncing)")
    return conn


def _connect(ctx: typer.Context, name: str, secrets: dict[str, Any], api_url: str | None,
             label: str, options: dict[str, Any]) -> None:
    from threadline.connectors.sync_base import SyncError

    engine = settings(ctx).engine()
    try:
        connect_account(engine, name, secrets, api_url=api_url, label=label, options=options)
    except SyncError as exc:
        fail(f"could not connect {name}: {exc}")
    except ThreadlineError as exc:
        fail(str(exc))


@connect_app.command("slack")
def connect_slack(
    ctx: typer.Context,
    token: str = typer.Option(..., "--token", help="A bot (xoxb-) or user (xoxp-) token."),
    api_url: str | None = ApiUrl,
    name: str = Name,
    app_token: str | None = typer.Option(
        None, "--app-token", help="An app-level xapp- token for Socket Mode live events."
    ),
    option: list[str] = Options,
) -> None:
    """Connect a Slack workspace with a token (scopes: *:read, *:history, users:read)."""
    secrets = {"token": token, **({"app_token": app_token} if app_token else {})}
    _connect(ctx, "slack", secrets, api_url, name, _options(option))


@connect_app.command("notion")
def connect_notion(
    ctx: typer.Context,
    token: str = typer.Option(..., "--token", help="An internal integration secret."),
    api_url: str | None = ApiUrl,
    name: str = Name,
    option: list[str] = Options,
) -> None:
    """Connect a Notion workspace with an integration token (share pages with it first)."""
    _connect(ctx, "notion", {"token": token}, api_url, name, _options(option))


def google_authorized_user(
    credentials: Path, token_file: Path | None, scopes: list[str] | None = None
) -> dict[str, Any]:
    """Authorized-user info: from a token file, or the installed-app loopback flow."""
    source = token_file or credentials
    try:
        data = json.loads(source.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ThreadlineError(f"cannot read {source}: {exc}") from exc
    authorized = isinstance(data, dict) and (
        "refresh_token" in data or data.get("type") == "authorized_user"
    )
    if authorized:
        return data
    if token_file is not None:
        raise ThreadlineError(f"{token_file} is not an authorized-user token JSON "
                              "(it has no refresh_token).")
    from google_auth_oauthlib.flow import InstalledAppFlow

    flow = InstalledAppFlow.from_client_secrets_file(str(credentials), scopes or GOOGLE_SCOPES)
    # Opens the browser on Google's consent page; the answer comes back to a local port.
    creds = flow.run_local_server(port=0, open_browser=True)
    info: dict[str, Any] = json.loads(creds.to_json())
    return info


@connect_app.command("google")
def connect_google(
    ctx: typer.Context,
    credentials: Path = typer.Option(
        ..., "--credentials", help="OAuth client JSON (Desktop app), or an authorized-user token."
    ),
    token_file: Path | None = typer.Option(
        None, "--token", help="An authorized-user token JSON: skips the browser consent."
    ),
    api_url: str | None = ApiUrl,
    name: str = Name,
    option: list[str] = Options,
    send: bool = typer.Option(
        False, "--send", help="Also ask for gmail.send, to deliver drafts through Gmail."
    ),
) -> None:
    """Connect Gmail and Google Calendar (read-only) as two connections: gmail and gcal."""
    scopes = [*GOOGLE_SCOPES, GMAIL_SEND_SCOPE] if send else GOOGLE_SCOPES
    try:
        secrets = google_authorized_user(credentials, token_file, scopes)
    except ThreadlineError as exc:
        fail(str(exc))
    options = _options(option)
    for kind in ("gmail", "gcal"):
        _connect(ctx, kind, secrets, api_url, name, options)


# -- sync / run / connections ------------------------------------------------------------


def sync_with_progress(
    engine: Engine, targets: list[Connection], out: Console
) -> list[SyncSummary]:
    """One pass per connection, a progress bar each: conversations (or pages) done."""
    from threadline.cli.progress import item_progress
    from threadline.connectors.engine import sync_connection

    summaries: list[SyncSummary] = []
    with item_progress(out) as progress:
        for conn in targets:
            task = progress.add_task(f"{conn.name} {conn.label or conn.account}", total=None)

            def advance(event: SyncProgress, task: TaskID = task) -> None:
                if event.position is not None:
                    done, total = event.position
                    progress.update(task, completed=done, total=total)
                else:
                    progress.advance(task, 1)
                progress.update(task, description=f"{event.connection.name} {event.note}"[:60])

            summary = sync_connection(engine, conn, progress=advance)
            state = progress.tasks[task]
            progress.update(task, total=state.completed or 1, completed=state.completed or 1,
                            description=f"{conn.name} {conn.label or conn.account}")
            summaries.append(summary)
    for s in summaries:
        if s.status == "ok":
            out.print(f"[green]✓[/] {s.name} {s.account}: {s.line} ({s.seconds:.1f}s)")
        else:
            out.print(f"[red]✗[/] {s.name} {s.account} ({s.status}): {s.line}\n  {s.error}")
    return summaries


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else None


def cursor_summary(conn: Connection) -> str:
    """A line on how far a connection has read; never the whole cursor."""
    cursor = conn.cursor or {}
    if not cursor:
        return "not synced yet"
    channels = cursor.get("channels")
    if isinstance(channels, dict):
        newest = max((c.get("oldest") or "0" for c in channels.values()), default="0",
                     key=lambda ts: float(ts))
        when = datetime.fromtimestamp(float(newest), UTC).strftime("%Y-%m-%d %H:%M")
        running = cursor.get("pass")
        step = f", pass at {running['index']}/{len(running['order'])}" if running else ""
        return f"{len(channels)} conversations, newest {when}Z{step}"
    shown = [f"{k}={str(v)[:24]}" for k, v in cursor.items() if not isinstance(v, dict | list)]
    return ", ".join(shown[:3]) or f"{len(cursor)} keys"


def status_line(conn: Connection) -> str:
    if conn.status == "auth":
        from threadline.connectors.engine import RECONNECT

        hint = RECONNECT.get(conn.name, f"threadline connect {conn.name}")
        return f"token revoked: run {hint}"
    return conn.status


def connection_rows(conns: list[Connection]) -> list[dict[str, Any]]:
    from threadline.connectors.slack_api_live import live_line

    return [
        {
            "id": c.id, "name": c.name, "platform": c.platform, "account": c.account,
            "label": c.label, "api_url": c.api_url, "scopes": c.scopes, "status": c.status,
            "status_line": status_line(c), "cadence_seconds": c.cadence_seconds,
            "last_attempt_at": _when(c.last_attempt_at),
            "last_success_at": _when(c.last_success_at), "last_error": c.last_error,
            "cursor_summary": cursor_summary(c), "items": c.items, "requests": c.requests,
            "live": live_line(c.options),
        }
        for c in conns
    ]


@app.command("sync")
def sync_command(
    ctx: typer.Context,
    name: str | None = typer.Option(None, "--name", help="Only this connection (id, kind, label)."),
) -> None:
    """One incremental pass over every connection (the first pass reads everything)."""
    from threadline.cli.accumulate import fold_context
    from threadline.connectors.connections import find_connections

    engine = settings(ctx).engine()
    try:
        targets = find_connections(engine, name)
    except ThreadlineError as exc:
        fail(str(exc))
    if not targets:
        fail("no connections yet: run `threadline connect slack --token ...` first.")
    summaries = sync_with_progress(engine, targets, console)
    if any(s.counts.added + s.counts.updated + s.counts.deleted for s in summaries):
        fold_context(engine, console)
    if all(s.status != "ok" for s in summaries):
        raise typer.Exit(1)


@app.command("run")
def run_command(
    ctx: typer.Context,
    max_iterations: int | None = typer.Option(None, "--max-iterations", hidden=True),
) -> None:
    """Keep syncing every connection on its cadence until Ctrl-C."""
    import threading

    from threadline.connectors.scheduler import Scheduler
    from threadline.connectors.slack_api_live import LiveHub

    engine = settings(ctx).engine()
    stop = threading.Event()

    def show(summary: SyncSummary) -> None:
        mark = "[green]✓[/]" if summary.status == "ok" else "[red]✗[/]"
        console.print(f"{datetime.now(UTC):%H:%M:%S} {mark} {summary.name} {summary.account}: "
                      f"{summary.line}" + (f" — {summary.error}" if summary.error else ""))

    def wait(seconds: float) -> None:
        stop.wait(seconds)  # wakes at once when stopped

    # Slack connections saved with --app-token also get live events (Socket Mode).
    scheduler = Scheduler(engine, sleep=wait, stop=stop, on_pass=show, live=LiveHub(engine))
    console.print("syncing every connection on its cadence; Ctrl-C stops")
    try:
        scheduler.run(max_iterations)
    except KeyboardInterrupt:
        stop.set()
        console.print("stopped; the next run resumes from the saved cursors")


@app.command("connections")
def connections_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Each connection: account, scopes, last success, cursor, items, requests, last error."""
    from threadline.connectors.connections import find_connections

    engine = settings(ctx).engine()
    rows = connection_rows(find_connections(engine, None))
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print("no connections yet: `threadline connect slack --token ...`")
        return
    table = Table("id", "kind", "account", "status", "last success", "cursor", "items",
                  "requests", "scopes")
    for row in rows:
        table.add_row(str(row["id"]), row["name"], row["label"] or row["account"],
                      row["status_line"], row["last_success_at"] or "never",
                      row["cursor_summary"], str(row["items"]), str(row["requests"]),
                      f"{len(row['scopes'])}" if row["scopes"] else "-")
    console.print(table)
    for row in rows:
        if row["live"]:
            console.print(f"{row['id']} {row['name']}: {row['live']}")
        if row["last_error"]:
            console.print(f"[red]{row['id']} {row['name']}:[/] {row['last_error']}")
