"""Clients: what was placed where, and the editor for the rules in clients.yaml.

The editor is the YAML itself rather than a form per field: clients.yaml is the user's
readable file (comments, projects, ``me``/``ignore`` sections), and a form would either drop
what it has no field for or grow into a second copy of the schema. What is saved is checked
by the same parser the accumulator uses; a file it refuses (a domain under two clients, a
name used twice) is shown back with its message, line numbers included, and not written.
After a save the context is rebuilt in a background thread: placing every item again takes
a while on a large store, and the page says so instead of hanging.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import Engine
from starlette.responses import Response

from threadline.context.accumulate import accumulate
from threadline.context.clients import clients_path, list_clients
from threadline.context.clients_config import parse_clients
from threadline.context.registry import builtin_folders
from threadline.errors import ThreadlineError
from threadline.web.config import WebSettings
from threadline.web.session import flash
from threadline.web.templating import back, page

EXAMPLE = """\
me:
  domains: [yourcompany.example]
clients:
  - name: Acme Corp
    aliases: [Acme]
    domains: [acme.example]
    channels: ["#acme-website"]
    notion: ["Acme Website Relaunch"]
"""


@dataclass
class Refold:
    """The background rebuild after a save: what the page reports."""

    started_at: datetime
    thread: threading.Thread
    items: int | None = None
    error: str | None = None
    finished_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


_refolds: dict[int, Refold] = {}  # by id(engine): one app, one store
_lock = threading.Lock()


def current_refold(engine: Engine) -> Refold | None:
    return _refolds.get(id(engine))


def start_refold(engine: Engine, path: Path, settings: WebSettings) -> bool:
    """Rebuild the context with the rules in ``path``; False when a rebuild is running.

    A rebuild, not an incremental fold: with no new items the accumulator would not look
    at the rules at all, and a changed rule must place old items again.
    """
    with _lock:
        running = _refolds.get(id(engine))
        if running is not None and running.running:
            return False

        def run() -> None:
            try:
                report = accumulate(engine, rebuild=True, folders=builtin_folders(path))
                state.items = report.items
            except ThreadlineError as exc:
                state.error = str(exc)
            finally:
                state.finished_at = settings.now()

        thread = threading.Thread(target=run, name="refold-clients", daemon=True)
        state = Refold(settings.now(), thread)
        _refolds[id(engine)] = state
        thread.start()
        return True


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def path() -> Path:
        return settings.clients_file or clients_path()

    def show(request: Request, text: str, error: str | None = None,
             status: int = 200) -> Response:
        with engine.connect() as conn:
            found = list_clients(conn)
        return page(request, "clients.html", status_code=status, clients=found, text=text,
                    error=error, file=str(path()), refold=current_refold(engine),
                    example=EXAMPLE)

    @r.get("/clients")
    def clients(request: Request) -> Response:
        try:
            text = path().read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        return show(request, text)

    @r.post("/clients/rules")
    def save_rules(request: Request, rules: Annotated[str, Form()] = "") -> Response:
        text = rules.replace("\r\n", "\n")
        try:
            parse_clients(text, "clients.yaml")
        except ThreadlineError as exc:
            return show(request, text, error=str(exc), status=400)
        # The validated text is written as typed (not re-dumped), so the user's comments
        # and layout survive.
        target = path()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        if start_refold(engine, target, settings):
            flash(request, "Saved clients.yaml. Rebuilding the context with the new rules in "
                  "the background: reload this page in a minute to see the new counts.")
        else:
            flash(request, "Saved clients.yaml. A rebuild is already running; run "
                  "`threadline accumulate --rebuild` after it to apply this version.")
        return back("/clients")

    return r
