"""``threadline user``: the web login and API tokens."""

from __future__ import annotations

import getpass
import sys

import typer

from threadline.cli.app import app, console, fail, settings

user_app = typer.Typer(help="The web app's login and API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        fail("the two passwords differ; nothing was changed")
    return first


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    username: str = typer.Option(getpass.getuser, "--username", help="Login name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create the web login, or change its password (which signs out its sessions)."""
    password = _read_password(password_stdin)
    from threadline.store.writer import utcnow
    from threadline.web.users import WebAuthError, set_password

    engine = settings(ctx).engine()
    try:
        with engine.begin() as conn:
            set_password(conn, username, password, utcnow())
    except WebAuthError as exc:
        fail(str(exc))
    console.print(f"Password set for {username}. Start the app with `threadline serve`.")


@user_app.command("create-token")
def user_create_token(
    ctx: typer.Context, name: str = typer.Argument(..., help="What the token is for.")
) -> None:
    """Create an API token (Authorization: Bearer …). It is shown once; only a hash is kept."""
    from threadline.store.writer import utcnow
    from threadline.web.users import create_token

    engine = settings(ctx).engine()
    with engine.begin() as conn:
        token = create_token(conn, name, utcnow())
    sys.stdout.write(token + "\n")
    # On stderr, so `TOKEN=$(threadline user create-token ci)` captures the token alone.
    sys.stderr.write("Keep it now: it cannot be shown again.\n")
