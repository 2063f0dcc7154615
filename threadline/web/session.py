"""The signed session cookie: who is signed in, their CSRF token, one flash message."""

from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from threadline.web.config import WebSettings

COOKIE = "tl_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Sessions:
    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._signer = URLSafeTimedSerializer(settings.secret_key, salt="threadline-session")

    def load(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._signer.loads(raw,
                                          max_age=int(self.settings.session_age.total_seconds()))
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                return data
        return fresh()

    def dump(self, response: Response, session: dict[str, Any]) -> None:
        response.set_cookie(
            COOKIE, self._signer.dumps(session),
            max_age=int(self.settings.session_age.total_seconds()),
            httponly=True, samesite="lax", secure=self.settings.https, path="/",
        )


def fresh() -> dict[str, Any]:
    """A session with no user; a new CSRF token every time one is made (and at sign-in)."""
    return {"csrf": secrets.token_urlsafe(32)}


def session_of(request: Request) -> dict[str, Any]:
    found = getattr(request.state, "session", None)
    assert isinstance(found, dict)
    return found


def flash(request: Request, message: str) -> None:
    """A one-line message shown on the next page."""
    session_of(request)["flash"] = message


def take_flash(request: Request) -> str | None:
    message = session_of(request).pop("flash", None)
    return message if isinstance(message, str) else None
