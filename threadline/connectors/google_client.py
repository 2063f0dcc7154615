"""Google API plumbing shared by the Gmail and Calendar connectors.

Builds ``googleapiclient`` service objects from a connection's settings and turns what the
client raises into the sync contract's errors. Discovery documents are the ones shipped
with google-api-python-client (``static_discovery=True``): building a service costs no
request, and an ``api_url`` override (a local test server, a proxy) only replaces the root
URL, so the paths stay exactly Google's.

Credentials are an authorized-user token (what ``threadline connect google`` stores):
``token``, ``refresh_token``, ``client_id``, ``client_secret``, ``token_uri``. google-auth
refreshes the access token by itself before it expires and once more on a 401; when the
refresh itself fails the grant is gone and only reconnecting helps.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError

from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    PermanentError,
    RequestRunner,
    TransientError,
)
from threadline.errors import ConfigError

RECONNECT = "run threadline connect google --credentials FILE"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_TIMEOUT = 60.0
# Gmail and Calendar answer 403 (not 429) when a per-user or per-project rate is exceeded.
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "backendError"})


class NotFound(PermanentError):
    """404 or 410: the callers decide (an expired Gmail historyId, a Calendar syncToken)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def credentials_from(settings: ConnectionSettings) -> Credentials:
    secrets = settings.secrets
    if not secrets.get("refresh_token") and not secrets.get("token"):
        raise AuthError(f"the {settings.name} connection has no Google token stored: {RECONNECT}")
    return Credentials(
        token=secrets.get("token") or None,
        refresh_token=secrets.get("refresh_token") or None,
        client_id=secrets.get("client_id") or None,
        client_secret=secrets.get("client_secret") or None,
        token_uri=secrets.get("token_uri") or GOOGLE_TOKEN_URI,
        scopes=secrets.get("scopes") or None,
    )


def build_service(settings: ConnectionSettings, api: str, version: str) -> Any:
    """A ``googleapiclient`` Resource for ``api`` talking to Google or to ``api_url``."""
    timeout = float(settings.options.get("timeout", DEFAULT_TIMEOUT))
    authorized = google_auth_httplib2.AuthorizedHttp(
        credentials_from(settings), http=httplib2.Http(timeout=timeout)
    )
    options = None
    if settings.api_url:
        # api_endpoint replaces rootUrl *and* servicePath, so the service path goes back on.
        endpoint = settings.api_url.rstrip("/") + "/" + _service_path(api, version)
        options = {"api_endpoint": endpoint}
    return build(
        api,
        version,
        http=authorized,
        static_discovery=True,
        client_options=options,
        cache_discovery=False,
    )


def _service_path(api: str, version: str) -> str:
    document = get_static_doc(api, version)
    if document is None:
        raise ConfigError(
            f"google-api-python-client ships no discovery document for {api} {version}:"
            " upgrade it (pip install -U google-api-python-client)"
        )
    return str(json.loads(document).get("servicePath") or "")


def call(runner: RequestRunner, method: str, request: Any, what: str) -> Any:
    """Execute one prepared googleapiclient request through the engine's runner."""
    return runner.call(method, lambda: execute(request, what))


def execute(request: Any, what: str) -> Any:
    """Run ``request`` once; raise the contract's errors, naming ``what`` was asked."""
    try:
        result = request.execute(num_retries=0)
    except HttpError as error:
        raise _http_error(error, what) from None
    except RefreshError as error:
        raise AuthError(
            f"{what}: Google refused to refresh the access token ({_refresh_reason(error)}):"
            f" token revoked or expired: {RECONNECT}"
        ) from None
    except json.JSONDecodeError as error:
        raise TransientError(
            f"{what}: the response was cut off or is not JSON ({error.msg} at byte {error.pos});"
            " will retry"
        ) from None
    except TimeoutError as error:
        raise TransientError(
            f"{what}: no answer in time ({error or 'timeout'}); will retry"
        ) from None
    except (http.client.HTTPException, httplib2.HttpLib2Error, TransportError, OSError) as error:
        raise TransientError(
            f"{what}: the connection failed ({type(error).__name__}: {error}); will retry"
        ) from None
    if not isinstance(result, dict):
        # googleapiclient hands back the body as text when it is not JSON (a cut-off body).
        shown = str(result)[:60]
        raise TransientError(
            f"{what}: the response was cut off or is not JSON (it starts {shown!r}); will retry"
        )
    return result


def _http_error(error: HttpError, what: str) -> Exception:
    status = int(error.resp.status)
    reason = _reason(error)
    detail = f"{what}: HTTP {status}" + (f" ({reason})" if reason else "")
    if status == 429 or status >= 500 or (status == 403 and reason in _RATE_REASONS):
        wait = retry_after(error.resp.get("retry-after"))
        return TransientError(f"{detail}; will retry", retry_after=wait)
    if status == 401:
        return AuthError(f"{detail}: token revoked or expired: {RECONNECT}")
    if status in (404, 410):
        return NotFound(detail, status)
    if status == 403:
        return PermanentError(
            f"{detail}: the token lacks a permission this sync needs (read-only Gmail and"
            f" Calendar scopes): {RECONNECT}"
        )
    return PermanentError(f"{detail}: the request was refused; retrying will not help")


def _reason(error: HttpError) -> str:
    try:
        body = json.loads(error.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return ""
    problem = body.get("error") if isinstance(body, dict) else None
    if not isinstance(problem, dict):
        return str(problem or "")
    reasons = [e.get("reason", "") for e in problem.get("errors") or [] if isinstance(e, dict)]
    return next((r for r in reasons if r), "") or str(problem.get("status") or "")


def _refresh_reason(error: RefreshError) -> str:
    # args[0] is "invalid_grant: Token has been expired or revoked."; args[1] may hold the
    # whole response body, which is not repeated here.
    first = str(error.args[0]) if error.args else type(error).__name__
    return first[:200]


def retry_after(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    current = now() if now else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


class PageGuard:
    """Stops a listing whose server hands back a page token it already gave.

    A repeated token would make the sync read the same page forever; what was read before
    it is kept (each page's cursor is saved), and the error says where it happened.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.seen: set[str] = set()

    def check(self, token: str | None) -> str | None:
        if token is None:
            return None
        if token in self.seen:
            raise PermanentError(
                f"{self.what}: the server returned page token {token[:40]!r} a second time;"
                " stopped instead of reading the same pages forever. Everything before it was"
                " saved; run the sync again later, and report it if it repeats"
            )
        self.seen.add(token)
        return token
