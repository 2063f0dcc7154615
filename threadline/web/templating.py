"""Jinja templates with what every page needs: the user, the CSRF token, a flash message."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from threadline.web.session import CSRF_FIELD, session_of, take_flash

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

NAV = [("/queue", "Review queue"), ("/timeline", "Timeline"), ("/connections", "Connections"),
       ("/clients", "Clients"), ("/people", "People"), ("/schedules", "Schedules"),
       ("/preferences", "Preferences"), ("/ask", "Ask")]
PLATFORM_ICONS = {"slack": "#", "email": "✉", "calendar": "▦", "notion": "N"}
PLATFORM_NAMES = {"slack": "Slack", "email": "Email", "calendar": "Calendar", "notion": "Notion"}


def when(value: datetime | None) -> str:
    return value.strftime("%a %d %b %Y, %H:%M UTC") if value else "—"


templates.env.filters["when"] = when
templates.env.globals["PLATFORM_ICONS"] = PLATFORM_ICONS
templates.env.globals["PLATFORM_NAMES"] = PLATFORM_NAMES


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    session = session_of(request)
    context.update(
        request=request, user=getattr(request.state, "user", None), nav=NAV,
        csrf_token=session["csrf"], csrf_field=CSRF_FIELD, flash=take_flash(request),
        path=request.url.path,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def back(url: str) -> RedirectResponse:
    """After a POST, back to a page with GET (so a reload does not post again)."""
    return RedirectResponse(url, status_code=303)
