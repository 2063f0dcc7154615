"""The one protocol every live connector implements, and the errors it speaks.

A connector knows one platform's API: how to find out whose account it is (``discover``)
and how to read what changed since a cursor (``sync``), a page at a time. Everything else
belongs to the sync engine (``threadline.connectors.engine``): retries with jittered backoff,
rate budgets, checkpoints (the cursor is saved in the same transaction as the page's items),
quarantine, progress and metrics. A connector makes its API calls through the
``RequestRunner`` the engine hands it, so budgets and retries are applied in one place.
Adding a platform means adding one connector module and registering it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from threadline.errors import ThreadlineError
from threadline.records import Record, SourceInfo

T = TypeVar("T")
Cursor = dict[str, Any]
"""JSON-able resume point: Slack per-channel ``oldest``, Gmail ``historyId``, Calendar
``syncToken``, Notion ``last_edited_time`` high-water mark, plus any page token in flight."""


class SyncError(ThreadlineError):
    """A sync could not go on; the message says what happened and what to do."""


class TransientError(SyncError):
    """Worth retrying: 429 (with the server's Retry-After), 5xx, timeouts, truncated bodies."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(SyncError):
    """The token was revoked or expired beyond refresh: reconnect with the command named."""


class PermanentError(SyncError):
    """The request is wrong and retrying will not help (404 on a resource, 400, 403 scope)."""


@dataclass
class ConnectionSettings:
    """What a connector needs to talk to one account. Secrets arrive decrypted, in memory."""

    platform: str
    name: str
    api_url: str | None = None
    secrets: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print secrets, even by accident in a traceback
        return (
            f"ConnectionSettings(platform={self.platform!r}, name={self.name!r}, "
            f"api_url={self.api_url!r}, secrets=<{len(self.secrets)} hidden>)"
        )


class RequestRunner(Protocol):
    """Runs one API call under the engine's rate budget and retry policy."""

    def call(self, method: str, fn: Callable[[], T]) -> T:
        """Call ``fn`` (one API request) for the budget named ``method``.

        ``fn`` raises TransientError to be retried after backoff (honouring retry_after),
        AuthError / PermanentError to stop. Any other exception is a bug and propagates.
        """
        ...


@dataclass
class Page:
    """One page of a sync: its records and the cursor that resumes right after it."""

    records: list[Record]
    cursor: Cursor
    done: bool = False
    """True on the last page of this pass."""
    note: str = ""
    """A line for the progress display: 'channel #acme-website', 'history since 12345'."""


@runtime_checkable
class Connector(Protocol):
    platform: str
    """slack | email | calendar | notion: the platform of the items it yields."""
    name: str
    """The connection kind: slack, gmail, gcal, notion."""

    def discover(self) -> SourceInfo:
        """Whose account this is (auth.test, users.getProfile, the calendar, the bot user)."""
        ...

    def sync(self, cursor: Cursor | None) -> Iterator[Page]:
        """Yield pages from ``cursor`` (None: the initial sync) until this pass is done.

        Must be resumable from any page's cursor, and idempotent: records are keyed by
        canonical ids, so a page read twice changes nothing.
        """
        ...


ConnectorFactory = Callable[[ConnectionSettings, RequestRunner], Connector]


def _builtin() -> dict[str, str]:
    return {
        "slack": "threadline.connectors.slack_api:SlackConnector",
        "gmail": "threadline.connectors.gmail_api:GmailConnector",
        "gcal": "threadline.connectors.gcal_api:CalendarConnector",
        "notion": "threadline.connectors.notion_api:NotionConnector",
    }


def load_connector(name: str) -> ConnectorFactory:
    from importlib.metadata import entry_points

    target = _builtin().get(name)
    if target is None:
        for ep in entry_points(group="threadline.connectors"):
            if ep.name == name:
                loaded: ConnectorFactory = ep.load()
                return loaded
        raise SyncError(f"no connector named {name!r}; built in: {', '.join(_builtin())}")
    module_name, attr = target.split(":")
    module = __import__(module_name, fromlist=[attr])
    factory: ConnectorFactory = getattr(module, attr)
    return factory


class DirectRunner:
    """A RequestRunner with no budget and no retries, for tests of a connector alone."""

    def call(self, method: str, fn: Callable[[], T]) -> T:
        return fn()
