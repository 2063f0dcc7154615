"""``threadline deliver`` (setup-smtp, send, retry) and ``threadline deliveries``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

deliver_app = typer.Typer(help="Send approved drafts: email, Gmail, Slack, Notion, files.",
                          no_args_is_help=True)
app.add_typer(deliver_app, name="deliver")


@deliver_app.command("setup-smtp")
def setup_smtp(
    host: str = typer.Option(..., "--host", help="The SMTP server, e.g. smtp.fastmail.com."),
    port: int = typer.Option(587, "--port", help="587 for STARTTLS, 465 for implicit TLS."),
    username: str | None = typer.Option(None, "--username", help="Login (often the address)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin (never from argv)."),
    sender: str = typer.Option(..., "--from", help="The From address, e.g. 'Jane <jane@x.co>'."),
    tls: str = typer.Option("starttls", "--tls", help="starttls | implicit | none (local only)"),
    ca_file: Path | None = typer.Option(None, "--ca-file", help="A CA bundle to trust."),
    check: bool = typer.Option(True, "--check/--no-check",
                               help="Connect and log in now (sends nothing)."),
) -> None:
    """Store the SMTP settings for email delivery, encrypted (keyring or 0600 file)."""
    from threadline.deliver.email_smtp import TLS_MODES, SmtpConfig, check_smtp, save_smtp

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if username and not password:
        fail("a --username needs its password: pipe it in with --password-stdin, e.g. "
             "`pass show smtp | threadline deliver setup-smtp ... --password-stdin`")
    if tls not in TLS_MODES:
        fail(f"--tls {tls!r}: choose one of {', '.join(TLS_MODES)}")
    config = SmtpConfig(host=host, port=port, username=username, password=password,
                        sender=sender, tls=tls,
                        ca_file=str(ca_file) if ca_file else None)
    try:
        config.check()
        if check:
            check_smtp(config)
        save_smtp(config)
    except ThreadlineError as exc:
        fail(str(exc))
    verified = "connected and logged in; " if check else ""
    console.print(f"[green]✓[/] SMTP {host}:{port} ({tls}) as {sender}: {verified}"
                  "settings saved encrypted", highlight=False)


@deliver_app.command("send")
def send(
    ctx: typer.Context,
    draft_id: int = typer.Argument(...),
    to: list[str] = typer.Option(..., "--to", help="A destination; repeat for more: "
                                 "email:ADDR, gmail:ADDR, slack:#chan, slack:@U…, notion:PAGE, "
                                 "file:PATH.md|.html|.pdf"),
    approve: bool = typer.Option(False, "--approve", help="Approve the draft first."),
) -> None:
    """Send an approved draft to destinations now (each destination at most once)."""
    from threadline.deliver import content
    from threadline.deliver.queue import enqueue, list_deliveries, process_due
    from threadline.produce import drafts

    engine = settings(ctx).engine()
    try:
        with engine.begin() as conn:
            stored = drafts.get(conn, draft_id)
            if stored.status not in ("approved", "sent"):
                if not approve:
                    fail(f"draft #{draft_id} is {stored.status}, not approved: review it "
                         f"(threadline drafts show {draft_id}), then pass --approve or run "
                         f"`threadline drafts mark {draft_id} approved`")
                stored = drafts.mark(conn, draft_id, "approved")
            problem = content.flagged_problem(stored.draft, stored.edited_markdown)
            if problem:
                fail(f"draft #{draft_id} cannot be sent: {problem.replace('ID', str(draft_id))}")
            ids = enqueue(conn, draft_id, to, base_dir=Path.cwd())
        process_due(engine, draft_id=draft_id)
        with engine.connect() as conn:
            rows = [r for r in list_deliveries(conn, draft_id=draft_id) if r.id in ids]
    except ThreadlineError as exc:
        fail(str(exc))
    bad = 0
    for row in sorted(rows, key=lambda r: r.id):
        if row.status == "sent":
            where = row.permalink or row.message_id or ""
            console.print(f"[green]✓[/] {row.destination} sent {where}", highlight=False)
        else:
            bad += 1
            later = (f"; next try {row.next_attempt_at:%Y-%m-%d %H:%M} UTC"
                     if row.next_attempt_at and row.status == "failed" else "")
            console.print(f"[red]✗[/] {row.destination} {row.status}: {row.error or ''}{later}",
                          highlight=False)
    if bad:
        raise typer.Exit(1)


@deliver_app.command("retry")
def retry(ctx: typer.Context, delivery_id: int = typer.Argument(...)) -> None:
    """Try a failed delivery again now, with a fresh set of attempts."""
    from threadline.deliver.queue import process_due, retry_delivery

    engine = settings(ctx).engine()
    try:
        with engine.begin() as conn:
            retry_delivery(conn, delivery_id)
        report = process_due(engine)
    except ThreadlineError as exc:
        fail(str(exc))
    if delivery_id in report.sent:
        console.print(f"[green]✓[/] delivery #{delivery_id} sent")
    else:
        fail(f"delivery #{delivery_id}: {report.errors.get(delivery_id, 'not sent yet')}")


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help="pending|sending|sent|failed"),
    draft: int | None = typer.Option(None, "--draft", help="Only this draft's deliveries."),
) -> None:
    """Deliveries, newest first: where, status, message id or permalink, error."""
    from threadline.deliver.queue import list_deliveries

    with settings(ctx).engine().connect() as conn:
        rows = list_deliveries(conn, status=status, draft_id=draft)
    if not rows:
        console.print("no deliveries yet: `threadline deliver send DRAFT_ID --to email:...`")
        return
    table = Table("id", "draft", "destination", "status", "tries", "sent / next try",
                  "message id / link", "error")
    for r in rows:
        when = r.sent_at or r.next_attempt_at
        table.add_row(str(r.id), f"#{r.draft_id} {r.recipe} {r.client or ''} {r.slot}".strip(),
                      r.destination, r.status, str(r.attempts),
                      f"{when:%Y-%m-%d %H:%M}" if when else "—",
                      r.permalink or r.message_id or "—", r.error or "")
    console.print(table)
