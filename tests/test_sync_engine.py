"""The sync engine, the RequestRunner, connections and the scheduler, with a scripted connector."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from threadline.connectors import engine as engine_module
from threadline.connectors.connections import (
    DEFAULT_CADENCE,
    create_connection,
    find_connections,
    get_connection,
    list_connections,
    update_connection,
)
from threadline.connectors.engine import redact, sync_connection
from threadline.connectors.request_runner import Budget, LiveRunner, RetryPolicy
from threadline.connectors.scheduler import Scheduler, next_due
from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    Cursor,
    Page,
    PermanentError,
    RequestRunner,
    TransientError,
)
from threadline.errors import ConfigError
from threadline.records import ItemRecord, QuarantineRecord, SourceInfo
from threadline.store.schema import item, quarantine

SECRET = "secret-api-key-123456"


def message(n: int) -> ItemRecord:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
    return ItemRecord(platform="slack", kind="message", canonical_id=f"slack:C1:{n}.000100",
                      container_id="C1", text=f"message {n}", occurred_at=when)


class Scripted:
    """A connector reading pages of 10 messages; fails as told after ``fail_after`` pages."""

    platform = "slack"
    name = "slack"
    pages = 5
    fail_after: int | None = None
    failure: Exception = TransientError("boom")
    seen_cursors: list[Cursor | None] = []  # noqa: RUF012 - reset by each test

    def __init__(self, settings: ConnectionSettings, runner: RequestRunner) -> None:
        self.settings = settings
        self.runner = runner
        self.position = (0, self.pages)

    def discover(self) -> SourceInfo:
        return SourceInfo(platform="slack", kind="slack-api", account="T1", label="t1")

    def sync(self, cursor: Cursor | None) -> Iterator[Page]:
        Scripted.seen_cursors.append(cursor)
        start = int((cursor or {}).get("page", 0))
        for page in range(start, self.pages):
            if self.fail_after is not None and page >= self.fail_after:
                raise self.failure
            self.runner.call("history", lambda: None)
            records: list[Any] = [message(page * 10 + i) for i in range(10)]
            if page == 1:
                records.append(QuarantineRecord(platform="slack", file="history C1",
                                                position="ts 1", reason="broken", raw=b"{"))
            self.position = (page + 1, self.pages)
            yield Page(records, {"page": page + 1}, done=page + 1 == self.pages, note=f"p{page}")


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[Scripted]:
    Scripted.seen_cursors = []
    Scripted.fail_after = None
    Scripted.failure = TransientError("boom")
    monkeypatch.setattr(engine_module, "load_connector", lambda name: Scripted)
    return Scripted


def new_connection(engine: Engine) -> int:
    return create_connection(engine, name="slack", platform="slack", account="T1").id


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(item)).scalar_one())


def test_full_pass_saves_items_cursor_and_counts(sqlite_store: Engine, scripted: Any) -> None:
    conn_id = new_connection(sqlite_store)
    events: list[Any] = []
    summary = sync_connection(sqlite_store, conn_id, secrets={"token": SECRET},
                              progress=events.append)
    assert summary.status == "ok" and summary.counts.added == 50 and summary.pages == 5
    assert summary.counts.quarantined == 1 and summary.requests == 5
    conn = get_connection(sqlite_store, conn_id)
    assert conn.cursor == {"page": 5} and conn.items == 50 and conn.requests == 5
    assert conn.status == "ok" and conn.last_success_at is not None and conn.source_id
    assert [e.position for e in events][-1] == (5, 5)
    with sqlite_store.connect() as c:
        assert c.execute(select(func.count()).select_from(quarantine)).scalar_one() == 1
    again = sync_connection(sqlite_store, conn_id, secrets={"token": SECRET})
    assert scripted.seen_cursors[-1] == {"page": 5} and again.counts.added == 0


def test_failure_keeps_committed_pages_and_the_next_pass_resumes(
    sqlite_store: Engine, scripted: Any
) -> None:
    conn_id = new_connection(sqlite_store)
    scripted.fail_after = 3
    failed = sync_connection(sqlite_store, conn_id, secrets={"token": SECRET})
    assert failed.status == "error" and "boom" in (failed.error or "")
    conn = get_connection(sqlite_store, conn_id)
    # The cursor is exactly the last committed page's: saved in the same transaction.
    assert conn.cursor == {"page": 3} and stored(sqlite_store) == 30 == conn.items
    scripted.fail_after = None
    resumed = sync_connection(sqlite_store, conn_id, secrets={"token": SECRET})
    assert scripted.seen_cursors[-1] == {"page": 3}
    assert resumed.status == "ok" and resumed.counts.added == 20 and stored(sqlite_store) == 50


def test_auth_error_is_recorded_without_secrets(sqlite_store: Engine, scripted: Any) -> None:
    conn_id = new_connection(sqlite_store)
    scripted.fail_after = 1
    scripted.failure = AuthError(f"token {SECRET} was revoked; header Bearer {SECRET}")
    summary = sync_connection(sqlite_store, conn_id, secrets={"token": SECRET})
    conn = get_connection(sqlite_store, conn_id)
    assert summary.status == conn.status == "auth"
    assert SECRET not in (conn.last_error or "")
    assert "threadline connect slack --token NEW" in (conn.last_error or "")


def test_a_connector_bug_is_reported_not_raised(sqlite_store: Engine, scripted: Any) -> None:
    conn_id = new_connection(sqlite_store)
    scripted.fail_after = 2
    scripted.failure = KeyError("channel")
    summary = sync_connection(sqlite_store, conn_id, secrets={"token": SECRET})
    assert summary.status == "error" and "KeyError" in (summary.error or "")
    assert stored(sqlite_store) == 20


def test_missing_credentials_ask_to_reconnect(
    sqlite_store: Engine, scripted: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path))
    monkeypatch.setenv("THREADLINE_KEYRING", "0")
    summary = sync_connection(sqlite_store, new_connection(sqlite_store))
    assert summary.status == "auth" and "Reconnect" in (summary.error or "")


def test_redact_removes_secret_values_and_token_shapes() -> None:
    text = redact("failed with xoxb-1-2-abc and ya29.AbC and mine", {"token": "mine-secret"})
    assert "xoxb" not in text and "ya29" not in text
    assert redact("value mine-secret here", {"a": {"b": ["mine-secret"]}}) == (
        "value <redacted> here"
    )


# -- RequestRunner ----------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def flaky(failures: list[Exception], result: str = "ok") -> Callable[[], str]:
    def call() -> str:
        if failures:
            raise failures.pop(0)
        return result

    return call


def test_token_bucket_spaces_requests_to_the_budget() -> None:
    t = FakeTime()
    runner = LiveRunner({"m": Budget(per_minute=60, burst=2)}, sleep=t.sleep, clock=t.clock)
    for _ in range(5):
        runner.call("m", lambda: None)
    assert t.now == pytest.approx(3.0)  # 2 at once, then one a second
    assert runner.requests == 5 and runner.stats.by_method == {"m": 5}
    assert runner.seconds_for("m", 62) == pytest.approx(60.0)


def test_retry_after_is_honoured_and_backoff_is_jittered_and_bounded() -> None:
    t = FakeTime()
    runner = LiveRunner(policy=RetryPolicy(max_attempts=5, base_seconds=2, max_seconds=5),
                        sleep=t.sleep, clock=t.clock, rng=random.Random(1))
    failures: list[Exception] = [TransientError("429", retry_after=30), TransientError("500"),
                                 TransientError("500"), TransientError("500")]
    assert runner.call("m", flaky(failures)) == "ok"
    assert t.sleeps[0] == 30
    assert all(0 <= s <= 5 for s in t.sleeps[1:]) and len(t.sleeps) == 4
    assert runner.requests == 5 and runner.stats.retries == 4


def test_retries_stop_at_max_attempts_and_auth_errors_are_not_retried() -> None:
    t = FakeTime()
    runner = LiveRunner(policy=RetryPolicy(max_attempts=3, base_seconds=0), sleep=t.sleep,
                        clock=t.clock)
    with pytest.raises(TransientError, match="gave up after 3 attempts"):
        runner.call("m", flaky([TransientError("x")] * 5))
    assert runner.requests == 3
    with pytest.raises(AuthError):
        runner.call("m", flaky([AuthError("revoked")]))
    with pytest.raises(PermanentError):
        runner.call("m", flaky([PermanentError("404")]))
    assert runner.requests == 5


def test_budget_overrides_including_wildcard() -> None:
    from threadline.connectors.request_runner import merge_budgets

    merged = merge_budgets({"a": Budget(50)}, {"b": {"per_second": 3}})
    assert merged["a"] == Budget(50) and merged["b"] == Budget(180)
    assert merge_budgets({"a": Budget(50)}, {"*": {"per_minute": 5}}) == {"*": Budget(5)}


# -- connections ------------------------------------------------------------------------


def test_connection_crud_and_reconnect_keeps_the_cursor(sqlite_store: Engine) -> None:
    first = create_connection(sqlite_store, name="gcal", platform="calendar", account="a@x")
    assert first.cadence_seconds == DEFAULT_CADENCE["gcal"] == 600 and first.status == "never"
    update_connection(sqlite_store, first.id, cursor={"syncToken": "s1"}, status="auth",
                      last_error="revoked")
    again = create_connection(sqlite_store, name="gcal", platform="calendar", account="a@x",
                              label="Work calendar")
    assert again.id == first.id and again.cursor == {"syncToken": "s1"}
    assert again.status == "never" and again.last_error is None
    assert again.secret_ref == first.secret_ref and again.label == "Work calendar"
    create_connection(sqlite_store, name="slack", platform="slack", account="T1")
    assert [c.name for c in list_connections(sqlite_store)] == ["gcal", "slack"]
    assert [c.name for c in find_connections(sqlite_store, "Work calendar")] == ["gcal"]
    with pytest.raises(ConfigError, match="no connection matches"):
        find_connections(sqlite_store, "notion")


# -- scheduler --------------------------------------------------------------------------


def test_scheduler_syncs_when_due_accumulates_and_survives_failures(
    sqlite_store: Engine, scripted: Any
) -> None:
    slack = new_connection(sqlite_store)
    gcal = create_connection(sqlite_store, name="gcal", platform="calendar", account="a").id
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    folded: list[int] = []

    def sync(engine: Engine, conn: Any) -> Any:
        if conn.name == "gcal":  # an outage on every pass
            return _fail(engine, conn, clock[0])
        return sync_connection(engine, conn, secrets={"token": SECRET}, now=lambda: clock[0])

    def sleep(seconds: float) -> None:
        clock[0] += timedelta(seconds=seconds)

    scheduler = Scheduler(sqlite_store, sync=sync, accumulate=lambda e: folded.append(1),
                          now=lambda: clock[0], sleep=sleep, max_idle=600)
    report = scheduler.run(max_iterations=4)
    slack_passes = [p for p in report.passes if p.name == "slack"]
    assert slack_passes[0].counts.added == 50 and folded == [1]  # folded only when new items
    assert len(slack_passes) >= 2  # due again after its 120 s cadence
    gcal_conn = get_connection(sqlite_store, gcal)
    assert gcal_conn.status == "error"
    assert next_due(gcal_conn, 3) == gcal_conn.last_attempt_at + timedelta(seconds=2400)
    update_connection(sqlite_store, slack, status="paused")
    assert next_due(get_connection(sqlite_store, slack), 0) is None


def _fail(engine: Engine, conn: Any, now: datetime) -> Any:
    from threadline.connectors.engine import SyncSummary

    update_connection(engine, conn.id, status="error", last_error="outage", last_attempt_at=now)
    return SyncSummary(conn.id, conn.name, conn.account, status="error", error="outage")
