"""One middleware in front of every route: sign-in required, CSRF on every state change.

Being a middleware rather than a per-route dependency is the point: a route added later is
protected without anyone remembering to protect it. Requests with a valid API token
(``Authorization: Bearer``) skip the CSRF check (a browser never sends that header on its
own, so a forged cross-site request cannot carry it).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp

from threadline.web import users
from threadline.web.config import WebSettings
from threadline.web.session import COOKIE, CSRF_FIELD, CSRF_HEADER, Sessions

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = ("/login", "/healthz")
PUBLIC_PREFIX = ("/static/",)
Next = Callable[[Request], Awaitable[Response]]


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIX)


class Guard(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, engine: Engine, settings: WebSettings) -> None:
        super().__init__(app)
        self.engine = engine
        self.settings = settings
        self.sessions = Sessions(settings)

    def _session_user(self, uid: object, stamp: object) -> str | None:
        if not isinstance(uid, int):
            return None
        with self.engine.connect() as conn:
            if users.user_stamp(conn, uid) != stamp:
                return None
            return users.username_of(conn, uid)

    def _token_user(self, token: str) -> str | None:
        with self.engine.begin() as conn:
            found = users.check_token(conn, token, self.settings.now())
        return f"token #{found}" if found is not None else None

    async def dispatch(self, request: Request, call_next: Next) -> Response:
        session = self.sessions.load(request)
        before = json.dumps(session, sort_keys=True)
        request.state.session = session
        request.state.user = None
        request.state.via_token = False
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            request.state.user = await run_in_threadpool(self._token_user, header[7:])
            request.state.via_token = request.state.user is not None
        elif "uid" in session:
            request.state.user = await run_in_threadpool(
                self._session_user, session.get("uid"), session.get("stamp"))
            if request.state.user is None:
                session.pop("uid", None)
        path = request.url.path
        if request.state.user is None and not is_public(path):
            response = self._unauthenticated(request)
        elif (request.method not in SAFE and not request.state.via_token
              and not await self._csrf_ok(request, session["csrf"])):
            response = _forbidden(request)
        else:
            response = await call_next(request)
        if json.dumps(session, sort_keys=True) != before or COOKIE not in request.cookies:
            self.sessions.dump(response, session)
        return response

    def _unauthenticated(self, request: Request) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign in, or send Authorization: Bearer TOKEN "
                                 "(create one with `threadline user create-token NAME`)"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    async def _csrf_ok(self, request: Request, expected: str) -> bool:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            # Read the body first: Starlette then replays it to the route (a bare form()
            # here would leave the route an empty body).
            await request.body()
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        return given is not None and secrets.compare_digest(given, expected)


def _forbidden(request: Request) -> Response:
    message = ("The form was missing its security token or it expired (CSRF check): "
               "reload the page and try again.")
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=403)
    return Response(message, status_code=403, media_type="text/plain")
