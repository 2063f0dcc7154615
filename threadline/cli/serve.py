"""``threadline serve``: the web app (review queue, timeline, connections, ask)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from threadline.cli.app import app, console, fail, settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow a non-loopback --host (needs a login set up)."
    ),
    https: bool = typer.Option(
        False, "--https", help="Served over TLS (e.g. behind a proxy): cookies get Secure."
    ),
    certfile: str | None = typer.Option(None, "--ssl-certfile", help="Serve TLS: certificate."),
    keyfile: str | None = typer.Option(None, "--ssl-keyfile", help="Serve TLS: private key."),
    self_address: str | None = typer.Option(
        None, "--self", help="Where 'send to me' delivers, e.g. email:you@example.com."
    ),
    clients_file: Path | None = typer.Option(
        None, "--clients", help="clients.yaml to show and edit (default: the config dir's)."
    ),
) -> None:
    """Serve the web app; only on this machine unless --allow-remote (and a login exists)."""
    from threadline.web.users import has_user

    engine = settings(ctx).engine()
    with engine.connect() as conn:
        configured = has_user(conn)
    if not is_loopback(host):
        if not allow_remote:
            fail(f"--host {host} is reachable from other machines: pass --allow-remote too "
                 "(and serve it over TLS), or keep the default 127.0.0.1")
        if not configured:
            fail("serving beyond this machine needs a login: run "
                 "`threadline user set-password --username YOU` first")
    if not configured:
        console.print("[yellow]No login yet:[/] run `threadline user set-password` to sign in.")
    import uvicorn

    from threadline.web.app import create_app
    from threadline.web.config import WebSettings

    web = WebSettings(
        https=https or bool(certfile), self_address=self_address, clients_file=clients_file
    )
    console.print(f"Threadline on {'https' if web.https else 'http'}://{host}:{port}/")
    uvicorn.run(create_app(engine, web), host=host, port=port, ssl_certfile=certfile,
                ssl_keyfile=keyfile, log_level="warning")
