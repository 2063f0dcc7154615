"""The week's timeline per client (SVG), one item, and one storyline."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from sqlalchemy import Connection, Engine, func, select
from starlette.responses import Response

from threadline.context.clients import list_clients
from threadline.context.storyline_query import StorylineError, show_storyline
from threadline.context.weeks import Week, parse_week, week_of
from threadline.errors import ThreadlineError
from threadline.produce.render import safe_url
from threadline.store.context_schema import client as client_table
from threadline.store.context_schema import item_client
from threadline.store.schema import item
from threadline.store.search import item_views
from threadline.web.config import WebSettings
from threadline.web.templating import page
from threadline.web.timeline_data import week_timeline
from threadline.web.timeline_svg import item_href, render_svg


def latest_week(conn: Connection, client: str, today: date) -> Week:
    """The week of the client's latest item (not after today): where there is something."""
    last = conn.execute(
        select(func.max(item.c.occurred_at))
        .join(item_client, item_client.c.item_id == item.c.id)
        .join(client_table, client_table.c.id == item_client.c.client_id)
        .where(func.lower(client_table.c.name) == client.lower())
    ).scalar()
    return week_of(min(last.date(), today)) if last else week_of(today)


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/timeline")
    def timeline(request: Request, client: str | None = None,
                 week: str | None = None) -> Response:
        with engine.connect() as conn:
            names = [c.name for c in list_clients(conn)]
            if not names:
                return page(request, "timeline.html", names=[], data=None, svg=None,
                            error="No clients yet: import something and accumulate.")
            chosen = next((n for n in names if client and n.lower() == client.lower()),
                          names[0])
            try:
                wk = (parse_week(week, today=settings.now().date()) if week
                      else latest_week(conn, chosen, settings.now().date()))
            except ThreadlineError as exc:
                return page(request, "timeline.html", status_code=400, names=names, data=None,
                            svg=None, error=str(exc))
            data = week_timeline(conn, chosen, wk)
        return page(request, "timeline.html", names=names, data=data, svg=render_svg(data),
                    prev=wk.shifted(-1).label, next=wk.shifted(1).label, error=None,
                    item_href=item_href)

    @r.get("/item")
    def show_item(request: Request, id: str = "") -> Response:
        with engine.connect() as conn:
            found = conn.execute(select(item.c.id).where(item.c.canonical_id == id)).scalar()
            view = item_views(conn, [found]).get(found) if found is not None else None
        if view is None:
            return page(request, "error.html", status_code=404,
                        message=f"No item {id!r} in the store.")
        return page(request, "item.html", v=view, url=safe_url(view.permalink))

    @r.get("/storylines/{storyline_id}")
    def storyline(request: Request, storyline_id: int) -> Response:
        try:
            with engine.connect() as conn:
                detail = show_storyline(conn, storyline_id)
        except StorylineError as exc:
            return page(request, "error.html", status_code=404, message=str(exc))
        return page(request, "storyline.html", s=detail, item_href=item_href)

    return r
