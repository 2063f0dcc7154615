"""``threadline run``: sync each connection when its cadence says so, then fold the context.

Failures never stop the loop: an outage is recorded on the connection and retried with a
growing delay (cadence x 2^failures, at most an hour); a revoked token is recorded as
``auth`` and re-checked hourly, or at the normal cadence as soon as it is reconnected.
Clock, sleep and a stop event are injectable, and ``max_iterations`` bounds the loop.

With ``live`` (a ``slack_api_live.LiveHub``, which ``threadline run`` passes), Slack
connections with an app token also get a Socket Mode session for the run's lifetime; what
its events saved is folded at the next iteration, like a pass's changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from threadline.connectors.connections import Connection, list_connections
from threadline.connectors.engine import SyncSummary, sync_connection
from threadline.connectors.slack_api_live import LiveHub
from threadline.store.writer import utcnow

log = logging.getLogger(__name__)
MAX_BACKOFF = 3600.0
AUTH_RECHECK = 3600.0

SyncFn = Callable[[Engine, Connection], SyncSummary]
AccumulateFn = Callable[[Engine], Any]
# Called once per loop iteration with the engine, the time and a function that syncs every
# connection: drafts what schedules have due, then lets the delivery queue send.
AutonomyFn = Callable[[Engine, datetime, Callable[[Engine], None]], Any]


@dataclass
class SchedulerReport:
    passes: list[SyncSummary] = field(default_factory=list)
    accumulations: int = 0
    iterations: int = 0
    errors: list[str] = field(default_factory=list)


def _default_accumulate(engine: Engine) -> Any:
    from threadline.context.accumulate import accumulate

    return accumulate(engine)


def _default_autonomy(engine: Engine, now: datetime, sync: Callable[[Engine], None]) -> Any:
    from threadline.autonomy.runner import tick

    return tick(engine, now, sync)


def next_due(conn: Connection, failures: int) -> datetime | None:
    """When this connection should sync next; None when paused."""
    if conn.status == "paused":
        return None
    if conn.last_attempt_at is None:
        return datetime.min.replace(tzinfo=utcnow().tzinfo)
    delay = float(conn.cadence_seconds)
    if conn.status == "error":
        delay = min(MAX_BACKOFF, delay * 2 ** max(0, failures - 1))
    elif conn.status == "auth":
        delay = max(delay, AUTH_RECHECK)
    return conn.last_attempt_at + timedelta(seconds=delay)


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        *,
        sync: SyncFn | None = None,
        accumulate: AccumulateFn = _default_accumulate,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
        max_idle: float = 30.0,
        on_pass: Callable[[SyncSummary], None] | None = None,
        autonomy: AutonomyFn | None = _default_autonomy,
        live: LiveHub | None = None,
    ) -> None:
        self.engine = engine
        self.sync = sync or (lambda eng, conn: sync_connection(eng, conn, now=now))
        self.accumulate = accumulate
        self.now = now
        self.sleep = sleep
        self.stop = stop or threading.Event()
        self.max_idle = max_idle
        self.on_pass = on_pass
        self.autonomy = autonomy
        self.live = live
        self.failures: dict[int, int] = {}
        self.report = SchedulerReport()

    def run_once(self) -> float:
        """Sync every due connection; return seconds until the next one is due."""
        if self.live is not None and not self.stop.is_set():
            self.live.ensure(list_connections(self.engine))
        for conn in list_connections(self.engine):
            if self.stop.is_set():
                break
            due = next_due(conn, self.failures.get(conn.id, 0))
            if due is None or due > self.now():
                continue
            self._pass(conn)
        if self.live is not None and self.live.take_saved():
            self._accumulate("live events")
        self._autonomy()
        waits = [
            (due - self.now()).total_seconds()
            for conn in list_connections(self.engine)
            if (due := next_due(conn, self.failures.get(conn.id, 0))) is not None
        ]
        return max(0.5, min([self.max_idle, *waits]))

    def _autonomy(self) -> None:
        if self.autonomy is None or self.stop.is_set():
            return
        try:
            self.autonomy(self.engine, self.now(), self._sync_all)
        except Exception as exc:  # a schedule or delivery failure must not stop syncing
            log.exception("scheduled drafts or deliveries failed")
            self.report.errors.append(f"autonomy: {type(exc).__name__}: {exc}")

    def _sync_all(self, engine: Engine) -> None:
        """A fresh pass over every unpaused connection, before a scheduled draft."""
        for conn in list_connections(engine):
            if conn.status != "paused" and not self.stop.is_set():
                self._pass(conn)

    def _pass(self, conn: Connection) -> None:
        try:
            summary = self.sync(self.engine, conn)
        except Exception as exc:  # the engine records failures itself; this is a last guard
            log.exception("sync of connection %s failed", conn.id)
            self.report.errors.append(f"{conn.title}: {type(exc).__name__}: {exc}")
            self.failures[conn.id] = self.failures.get(conn.id, 0) + 1
            return
        self.report.passes.append(summary)
        self.failures[conn.id] = 0 if summary.status == "ok" else self.failures.get(conn.id, 0) + 1
        if self.on_pass:
            self.on_pass(summary)
        c = summary.counts
        if c.added + c.updated + c.deleted:
            self._accumulate(f"connection {conn.id}")

    def _accumulate(self, after: str) -> None:
        try:
            self.accumulate(self.engine)
            self.report.accumulations += 1
        except Exception as exc:  # context folding must not stop syncing
            log.exception("accumulate failed after %s", after)
            self.report.errors.append(f"accumulate: {type(exc).__name__}: {exc}")

    def run(self, max_iterations: int | None = None) -> SchedulerReport:
        try:
            while not self.stop.is_set():
                wait = self.run_once()
                self.report.iterations += 1
                if max_iterations is not None and self.report.iterations >= max_iterations:
                    break
                if self.stop.is_set():
                    break
                self.sleep(wait)
        finally:
            if self.live is not None:
                self.live.stop()  # on Ctrl-C too: sessions closed, state "stopped"
        return self.report
