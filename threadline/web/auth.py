"""Sign-in and sign-out. Failed sign-ins are counted per address and per username; after
too many in the window the form answers 429 until the window has passed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline.web import users
from threadline.web.config import WebSettings
from threadline.web.session import fresh, session_of
from threadline.web.templating import back, page


def safe_next(target: str | None) -> str:
    """Only a path on this site: never //elsewhere or https://elsewhere."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/queue"


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/login")
    def login_form(request: Request, next: str | None = None) -> Response:
        if request.state.user:
            return back(safe_next(next))
        with engine.connect() as conn:
            configured = users.has_user(conn)
        return page(request, "login.html", next=safe_next(next), configured=configured,
                    error=None)

    def attempt(remote: str, username: str, password: str) -> tuple[int | None, str | None, bool]:
        now = settings.now()
        with engine.begin() as conn:
            since = now - settings.login_window
            if users.recent_failures(conn, remote, username, since) >= settings.login_failures:
                return None, None, True
            uid = users.check_password(conn, username, password)
            users.record_attempt(conn, remote, username, uid is not None, now)
            users.prune_attempts(conn, now - 4 * settings.login_window)
            return uid, users.user_stamp(conn, uid) if uid else None, False

    @r.post("/login")
    async def login(request: Request, username: Annotated[str, Form()] = "",
                    password: Annotated[str, Form()] = "",
                    next: Annotated[str, Form()] = "/queue") -> Response:
        remote = request.client.host if request.client else "unknown"
        uid, stamp, limited = await run_in_threadpool(attempt, remote, username, password)
        if limited:
            minutes = int(settings.login_window.total_seconds() // 60)
            error = (f"Too many failed sign-ins from this address or for this user. Wait "
                     f"{minutes} minutes and try again, or set a new password with "
                     "`threadline user set-password`.")
            return page(request, "login.html", status_code=429, next=safe_next(next),
                        configured=True, error=error)
        if uid is None:
            return page(request, "login.html", status_code=401, next=safe_next(next),
                        configured=True, error="That username and password do not match.")
        session = session_of(request)
        session.clear()
        # A new CSRF token at sign-in: a token seen before it is worth nothing after.
        session.update(fresh(), uid=uid, stamp=stamp)
        return back(safe_next(next))

    @r.post("/logout")
    def logout(request: Request) -> Response:
        session = session_of(request)
        session.clear()
        session.update(fresh())
        return back("/login")

    @r.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return r
