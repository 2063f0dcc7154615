"""The root ``threadline`` command and the options every subcommand shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from sqlalchemy import Engine

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="threadline",
    help="Drafts client deliverables from Slack, Gmail, Calendar and Notion, every claim cited.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@dataclass
class Settings:
    db: str | None

    @property
    def url(self) -> str:
        from threadline.store import resolve_url

        return resolve_url(self.db)

    def engine(self) -> Engine:
        from threadline.store import open_store

        try:
            return open_store(self.db)
        except ThreadlineError as exc:
            fail(str(exc))


def fail(message: str, code: int = 1) -> NoReturn:
    # The message is text: "threadline[embeddings]" or "[section]" must not read as markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@app.callback()
def root(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        envvar="THREADLINE_DB",
        help="Database URL or SQLite path (default: SQLite in the user data dir).",
    ),
) -> None:
    ctx.obj = Settings(db=db)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def _register() -> None:
    # Importing the command modules attaches their commands to ``app``. They import their
    # layers (store, context, produce, connectors...) inside the commands: start-up stays light.
    from threadline.cli import (  # noqa: F401
        accumulate,
        ask,
        clients,
        connect,
        context,
        deliver,
        demo,
        drafts,
        embed,
        imports,
        people,
        prefs,
        produce,
        schedule,
        search,
        serve,
        status,
        storylines,
        timeline,
        user,
    )


_register()
