"""What the web app needs to know at start: its signing key, TLS, limits and clock."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from threadline.connectors.credentials import load_secrets, save_secrets
from threadline.errors import ConfigError

# The credentials store's id for the cookie-signing key: apart from connection refs.
SESSION_KEY_REF = "web-session-key"


def _now() -> datetime:
    return datetime.now(UTC)


def session_key() -> str:
    """The cookie-signing key, made once and kept encrypted with the other secrets.

    Kept (not random per start) so a restart does not log everyone out.
    """
    try:
        return str(load_secrets(SESSION_KEY_REF)["key"])
    except (ConfigError, KeyError):
        key = secrets.token_urlsafe(48)
        save_secrets(SESSION_KEY_REF, {"key": key})
        return key


@dataclass
class WebSettings:
    secret_key: str = field(default_factory=session_key)
    https: bool = False
    """Served over TLS (directly or behind a proxy): cookies get the Secure flag."""
    login_failures: int = 5
    login_window: timedelta = timedelta(minutes=15)
    session_age: timedelta = timedelta(days=14)
    now: Callable[[], datetime] = _now
    self_address: str | None = None
    """Where "send to self" delivers (e.g. email:jane@example.com)."""
    clients_file: Path | None = None
    """The clients.yaml the Clients page edits; None: the one in the config folder."""
