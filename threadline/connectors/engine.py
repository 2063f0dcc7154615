"""One sync pass of one connection: pages in, checkpoints saved, failures recorded.

Each page's records and the cursor that resumes after it are saved in ONE transaction, so a
pass killed at any instant resumes from the last committed page and never loses or doubles
an item (records are keyed by canonical id; a page read twice changes nothing). A revoked
token, an outage that outlasts the retries or a connector bug stops this connection only:
the status and a secret-free error are recorded, and the caller goes on with the others.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, update

from threadline.connectors.connections import Connection, get_connection, update_connection
from threadline.connectors.credentials import load_secrets
from threadline.connectors.request_runner import Budget, LiveRunner, RetryPolicy, merge_budgets
from threadline.connectors.runner import ensure_source
from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    Connector,
    ConnectorFactory,
    Page,
    RequestRunner,
    SyncError,
    load_connector,
)
from threadline.errors import ConfigError
from threadline.store.native_lookup import native_lookup
from threadline.store.schema import connection as connection_table
from threadline.store.writer import StoreWriter, WriteCounts, utcnow

RECONNECT = {
    "slack": "threadline connect slack --token NEW",
    "notion": "threadline connect notion --token NEW",
    "gmail": "threadline connect google --credentials FILE",
    "gcal": "threadline connect google --credentials FILE",
}
_TOKENISH = re.compile(
    r"(xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|secret_[A-Za-z0-9]+|ntn_[A-Za-z0-9]+|"
    r"ya29\.[A-Za-z0-9._-]+|1//[A-Za-z0-9._-]+|(?i:bearer)\s+\S+)"
)


@dataclass
class SyncProgress:
    """What one committed page did, for progress bars."""

    connection: Connection
    note: str
    records: int
    counts: WriteCounts
    position: tuple[int, int] | None
    """(done, total) units of work the connector reports, e.g. conversations read."""


ProgressCallback = Callable[[SyncProgress], None]


@dataclass
class SyncSummary:
    connection_id: int
    name: str
    account: str
    status: str
    counts: WriteCounts = field(default_factory=WriteCounts)
    pages: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def line(self) -> str:
        c = self.counts
        return (
            f"{c.added} added, {c.updated} updated, {c.unchanged} unchanged, {c.deleted} deleted, "
            f"{c.quarantined} quarantined; {self.pages} pages, {self.requests} requests"
        )


def redact(message: str, secrets: Mapping[str, Any] | None = None) -> str:
    """Remove every secret value (and anything shaped like a token) from a message."""
    for value in _secret_strings(secrets or {}):
        message = message.replace(value, "<redacted>")
    return _TOKENISH.sub("<redacted>", message)


def _secret_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if len(value) >= 6 else []
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _secret_strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _secret_strings(v)]
    return []


def runner_for(
    factory: ConnectorFactory,
    options: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    policy: RetryPolicy | None = None,
) -> LiveRunner:
    """A runner with the connector's published budgets, overridden by the connection's."""
    defaults_fn = getattr(factory, "default_budgets", None)
    defaults: dict[str, Budget] = dict(defaults_fn(options)) if callable(defaults_fn) else {}
    overrides = options.get("budgets")
    budgets = merge_budgets(defaults, overrides if isinstance(overrides, Mapping) else None)
    return LiveRunner(budgets, policy, sleep=sleep, clock=clock)


def sync_connection(
    engine: Engine,
    target: Connection | int,
    *,
    secrets: dict[str, Any] | None = None,
    runner: RequestRunner | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    policy: RetryPolicy | None = None,
    now: Callable[[], datetime] = utcnow,
    progress: ProgressCallback | None = None,
) -> SyncSummary:
    """Run one incremental pass (the initial sync when there is no cursor yet)."""
    started = time.perf_counter()
    conn_row = target if isinstance(target, Connection) else get_connection(engine, target)
    summary = SyncSummary(conn_row.id, conn_row.name, conn_row.account, status="error")
    update_connection(engine, conn_row.id, last_attempt_at=now())
    counted = 0
    live: LiveRunner | None = None
    try:
        if secrets is None:
            secrets = load_secrets(conn_row.secret_ref)
        factory = load_connector(conn_row.name)
        if runner is None:
            live = runner_for(factory, conn_row.options, sleep=sleep, clock=clock, policy=policy)
            runner = live
        settings = ConnectionSettings(
            platform=conn_row.platform,
            name=conn_row.name,
            api_url=conn_row.api_url,
            secrets=secrets,
            # Deletions reported by native id (Gmail, Calendar) need the canonical id back.
            options={**conn_row.options, "lookup": native_lookup(engine)},
        )
        connector = factory(settings, runner)
        source_id = conn_row.source_id or _discover_source(engine, conn_row, connector)
        writer = StoreWriter(source_id)
        for page in connector.sync(conn_row.cursor):
            requests = _requests(runner, live)
            counts = _commit(engine, conn_row, writer, page, requests - counted, now())
            counted = requests
            summary.counts.add(counts)
            summary.pages += 1
            if progress:
                position = getattr(connector, "position", None)
                progress(SyncProgress(conn_row, page.note, len(page.records), counts, position))
        summary.status = "ok"
    except (AuthError, ConfigError) as exc:
        summary.status = "auth"
        hint = RECONNECT.get(conn_row.name, f"threadline connect {conn_row.name}")
        what = "token revoked or expired" if isinstance(exc, AuthError) else "no usable credentials"
        summary.error = f"{what}: {redact(str(exc), secrets)} Run `{hint}`."
    except SyncError as exc:
        summary.error = redact(str(exc), secrets)
    except Exception as exc:  # a connector bug: keep this connection's pages, report, go on
        summary.error = redact(
            f"{conn_row.name} sync stopped by an unexpected {type(exc).__name__}: {exc}. "
            "Pages before it are saved; please report this.",
            secrets,
        )
    summary.requests = _requests(runner, live)
    summary.seconds = time.perf_counter() - started
    _finish(engine, conn_row, summary, summary.requests - counted, now())
    return summary


def _requests(runner: RequestRunner | None, live: LiveRunner | None) -> int:
    counter = live or runner
    value = getattr(counter, "requests", 0)
    return int(value) if isinstance(value, int) else 0


def _discover_source(engine: Engine, conn_row: Connection, connector: Connector) -> int:
    info = connector.discover()
    source_id = ensure_source(engine, info)
    update_connection(engine, conn_row.id, source_id=source_id)
    conn_row.source_id = source_id
    return source_id


def _commit(
    engine: Engine,
    conn_row: Connection,
    writer: StoreWriter,
    page: Page,
    new_requests: int,
    now: datetime,
) -> WriteCounts:
    with engine.begin() as conn:
        counts = writer.save(conn, page.records, now)
        changed = counts.added + counts.updated + counts.deleted
        conn.execute(
            update(connection_table)
            .where(connection_table.c.id == conn_row.id)
            .values(
                cursor=page.cursor,
                items=connection_table.c["items"] + changed,
                requests=connection_table.c.requests + new_requests,
            )
        )
    conn_row.cursor = page.cursor
    return counts


def _finish(
    engine: Engine, conn_row: Connection, summary: SyncSummary, new_requests: int, now: datetime
) -> None:
    values: dict[str, Any] = {
        "status": summary.status,
        "requests": connection_table.c.requests + new_requests,
    }
    if summary.status == "ok":
        values.update(last_success_at=now, last_error=None)
    else:
        values["last_error"] = summary.error
    with engine.begin() as conn:
        conn.execute(
            update(connection_table).where(connection_table.c.id == conn_row.id).values(**values)
        )
    conn_row.status = summary.status
