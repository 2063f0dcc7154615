"""The ask box: a cited answer from the store, and the items behind it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from starlette.responses import Response

from threadline.context.ask import ask
from threadline.context.clients import list_clients
from threadline.context.retrieve import retrieve
from threadline.errors import ThreadlineError
from threadline.produce.render import safe_url
from threadline.store.search import item_views
from threadline.web.config import WebSettings
from threadline.web.templating import page
from threadline.web.timeline_svg import item_href


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/ask")
    def ask_page(request: Request, q: str = "", client: str = "") -> Response:
        answer = None
        hits = []
        error = None
        with engine.connect() as conn:
            names = [c.name for c in list_clients(conn)]
            if q.strip():
                today = settings.now().date()
                try:
                    answer = ask(conn, q, client_name=client or None, today=today)
                    found = retrieve(conn, q, client_name=client or None, today=today)
                    views = item_views(conn, [h.item_id for h in found.hits])
                    hits = [views[h.item_id] for h in found.hits if h.item_id in views]
                except ThreadlineError as exc:
                    error = str(exc)
        return page(request, "ask.html", q=q, client=client, names=names, answer=answer,
                    hits=hits, error=error, item_href=item_href, safe_url=safe_url)

    return r
