"""slack_sdk's WebClient behind the engine's RequestRunner, its failures sorted into kinds.

Slack's own retry handlers are switched off: the runner retries, so budgets, backoff and
request counts live in one place. A 429 carries Retry-After; ``ok: false`` carries an error
code (``token_revoked``, ``not_in_channel``...); a cut-off body comes back from the SDK as
a "non-JSON format" error; a timeout is an OSError from urllib.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from threadline.connectors.sync_base import (
    AuthError,
    PermanentError,
    RequestRunner,
    TransientError,
)

AUTH_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
    "org_login_required", "ekm_access_denied", "team_access_not_granted",
})
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})
DEFAULT_API_URL = "https://slack.com/api/"


class SlackMethodError(PermanentError):
    """Slack answered ``ok: false`` with an error code retrying cannot fix."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def _retry_after(headers: Any) -> float | None:
    value = _header(headers, "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class SlackApi:
    """Calls one Slack Web API method at a time, through the runner."""

    def __init__(
        self, token: str, runner: RequestRunner, api_url: str | None = None, timeout: int = 30
    ) -> None:
        base = (api_url or DEFAULT_API_URL).rstrip("/") + "/"
        self._web = WebClient(token=token, base_url=base, timeout=timeout, retry_handlers=[])
        self._runner = runner
        self.last_headers: dict[str, Any] = {}

    def __repr__(self) -> str:  # the WebClient holds the token: never show it
        return f"SlackApi(base_url={self._web.base_url!r})"

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One request; the runner retries TransientError and counts it."""
        bound: Callable[..., Any] = getattr(self._web, method.replace(".", "_"))
        clean = {k: v for k, v in params.items() if v is not None}
        return self._runner.call(method, lambda: self._request(method, bound, clean))

    def _request(
        self, method: str, bound: Callable[..., Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        where = f"Slack {method}" + (f" ({params['channel']})" if "channel" in params else "")
        try:
            response = bound(**params)
        except SlackApiError as exc:
            raise _classify(where, exc) from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            # urllib raises URLError/socket.timeout (OSErrors) and IncompleteRead for cut bodies
            raise TransientError(f"{where}: network error {type(exc).__name__}: {exc}") from None
        self.last_headers = dict(response.headers or {})
        data = response.data
        if not isinstance(data, dict):
            raise TransientError(f"{where}: the response was not a JSON object; retrying.")
        return data


def _classify(where: str, exc: SlackApiError) -> Exception:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    code = str(data.get("error") or "")
    headers = getattr(response, "headers", None)
    if status == 429 or code == "ratelimited":
        wait = _retry_after(headers)
        return TransientError(
            f"{where}: rate limited (HTTP 429), Slack asks to wait {wait or '?'} s", wait
        )
    if code.startswith("Received a response in a non-JSON format"):
        return TransientError(f"{where}: HTTP {status} with a cut-off or non-JSON body; retrying")
    if status >= 500 or status == 408 or code in TRANSIENT_ERRORS:
        return TransientError(f"{where}: Slack answered HTTP {status} {code}".rstrip(),
                              _retry_after(headers))
    if code in AUTH_ERRORS or status == 401:
        return AuthError(f"{where}: Slack says {code or 'HTTP 401'}; the token no longer works.")
    if code == "missing_scope":
        needed = data.get("needed") or _header(headers, "x-accepted-oauth-scopes") or "?"
        return SlackMethodError(
            f"{where}: the token lacks the scope {needed}. Add it to the Slack app, reinstall, "
            "and reconnect with `threadline connect slack --token NEW`.",
            code,
        )
    return SlackMethodError(f"{where}: Slack answered {code or f'HTTP {status}'}", code)
