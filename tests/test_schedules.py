"""Clock schedules on a real sample store with a controllable clock: once per slot, across
restarts and processes, late after downtime, at 15:00 local across a clock change."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from autonomy_store import sample_factory
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from threadline.autonomy import runner, schedules
from threadline.autonomy.rules import RuleError, parse_clock, slot_label
from threadline.cli.app import app
from threadline.produce import drafts
from threadline.store import open_store
from threadline.store.autonomy_schema import delivery, schedule_run

LONDON = "Europe/London"


@pytest.fixture(scope="module")
def make_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Engine]:
    return sample_factory(tmp_path_factory.mktemp("schedules"))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path / "home"))


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def weekly(engine: Engine, created: datetime, **options: object) -> schedules.Schedule:
    with engine.begin() as conn:
        return schedules.add(conn, "client-update", client="Acme Corp", every="fri 15:00",
                             timezone=LONDON, deliver=["email:jane@acme.example"], now=created,
                             **options)  # type: ignore[arg-type]


def runs(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(schedule_run).order_by(schedule_run.c.due_at))]


def test_a_friday_slot_fires_once_and_a_restart_does_not_fire_it_again(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    sched = weekly(engine, at(2026, 11, 16, 9))
    synced: list[datetime] = []
    sync = lambda eng: synced.append(at(2026, 11, 20, 15, 1))  # noqa: E731
    assert runner.run_due(engine, at(2026, 11, 20, 14, 59), sync=sync).outcomes == []
    assert synced == []  # nothing due: no sync either
    first = runner.run_due(engine, at(2026, 11, 20, 15, 1), sync=sync)
    assert [(o.slot, o.status, o.late) for o in first.outcomes] == [
        ("2026-11-20T15:00+00:00", "drafted", False)]
    assert first.synced and len(synced) == 1
    assert runner.run_due(engine, at(2026, 11, 20, 15, 2), sync=sync).outcomes == []
    draft_id = first.outcomes[0].draft_id
    assert draft_id is not None
    engine.dispose()

    # A restart: a new engine (process) on the same store, later the same afternoon.
    again = open_store(str(tmp_path / "store.db"))
    assert runner.run_due(again, at(2026, 11, 20, 16, 30), sync=sync).outcomes == []
    rows = runs(again)
    assert len(rows) == 1 and rows[0]["schedule_id"] == sched.id
    assert rows[0]["draft_id"] == draft_id and rows[0]["status"] == "drafted"
    with again.connect() as conn:
        stored = drafts.get(conn, draft_id)
        assert (stored.recipe, stored.client, stored.slot) == ("client-update", "Acme Corp",
                                                                "2026-W47")
        # Not approved, so nothing is queued to send.
        assert stored.status == "draft"
        assert conn.execute(select(func.count()).select_from(delivery)).scalar() == 0
    # The next Friday is the next slot.
    nxt = runner.run_due(again, at(2026, 11, 27, 15, 0))
    assert [o.slot for o in nxt.outcomes] == ["2026-11-27T15:00+00:00"]


def test_two_processes_at_the_same_moment_draft_the_slot_once(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    weekly(engine, at(2026, 11, 16, 9))
    engines = [engine, open_store(str(tmp_path / "store.db"))]
    barrier = threading.Barrier(2)
    results: list[runner.DueReport] = []

    def go(eng: Engine) -> None:
        barrier.wait()
        results.append(runner.run_due(eng, at(2026, 11, 20, 15, 1)))

    threads = [threading.Thread(target=go, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(o.status for r in results for o in r.outcomes)
    assert statuses in (["drafted"], ["drafted", "taken"])
    assert len(runs(engine)) == 1
    with engine.connect() as conn:
        live = drafts.list_drafts(conn, recipe="client-update", client="Acme Corp")
    assert [d.slot for d in live] == ["2026-W47"]


def test_missed_slots_draft_the_latest_late_and_skip_the_older(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    weekly(engine, at(2026, 10, 31, 9))
    # Down from before Fri 6 Nov until Mon 16 Nov: two Friday slots passed.
    report = runner.run_due(engine, at(2026, 11, 16, 8, 0), sync=lambda eng: None)
    drafted = [o for o in report.outcomes if o.status == "drafted"]
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    assert [o.slot for o in drafted] == ["2026-11-13T15:00+00:00"]
    assert drafted[0].late and [o.slot for o in skipped] == ["2026-11-06T15:00+00:00"]
    rows = runs(engine)
    assert [(r["slot"], r["status"], r["late"]) for r in rows] == [
        ("2026-11-06T15:00+00:00", "skipped", True),
        ("2026-11-13T15:00+00:00", "drafted", True),
    ]
    assert rows[1]["ran_at"] - rows[1]["due_at"] == timedelta(days=2, hours=17)  # type: ignore[operator]
    with engine.connect() as conn:
        assert drafts.get(conn, drafted[0].draft_id).slot == "2026-W46"  # type: ignore[arg-type]
    # Within the grace period is on time.
    on_time = runner.run_due(engine, at(2026, 11, 20, 15, 14))
    assert [(o.status, o.late) for o in on_time.outcomes] == [("drafted", False)]


def test_europe_london_fires_at_15_local_across_the_october_change(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    weekly(engine, at(2026, 10, 19, 9))
    # BST (UTC+1) on 23 Oct: 15:00 local is 14:00 UTC.
    assert runner.run_due(engine, at(2026, 10, 23, 13, 59)).outcomes == []
    before = runner.run_due(engine, at(2026, 10, 23, 14, 0))
    assert [(o.slot, o.due_at) for o in before.outcomes] == [
        ("2026-10-23T15:00+01:00", at(2026, 10, 23, 14))]
    # Clocks go back on 25 Oct: on 30 Oct 15:00 local is 15:00 UTC, not 14:00.
    assert runner.run_due(engine, at(2026, 10, 30, 14, 30)).outcomes == []
    after = runner.run_due(engine, at(2026, 10, 30, 15, 0))
    assert [(o.slot, o.due_at) for o in after.outcomes] == [
        ("2026-10-30T15:00+00:00", at(2026, 10, 30, 15))]
    with engine.connect() as conn:
        assert [drafts.get(conn, o.draft_id).slot  # type: ignore[arg-type]
                for o in (*before.outcomes, *after.outcomes)] == ["2026-W43", "2026-W44"]


def test_rules_parse_cron_and_shortcuts_and_handle_the_spring_gap() -> None:
    assert parse_clock("weekdays 17:00").weekdays == (0, 1, 2, 3, 4)
    assert parse_clock("mon,wed 09:30").weekdays == (0, 2)
    assert parse_clock("daily 08:00").weekdays is None
    cron = parse_clock("30 9 * * mon-fri")
    assert (cron.minutes, cron.hours, cron.weekdays) == ((30,), (9,), (0, 1, 2, 3, 4))
    week, total = cron.slots("America/New_York", at(2026, 3, 6), at(2026, 3, 13))
    # US clocks change on 8 Mar: 09:30 local is 14:30 UTC before, 13:30 UTC after.
    assert total == 5 and [s.hour for s in week] == [14, 13, 13, 13, 13]
    # 01:30 does not exist in London on 29 Mar: it fires when the clock shows 02:30.
    gap, _ = parse_clock("daily 01:30").slots(LONDON, at(2026, 3, 28, 12), at(2026, 3, 29, 12))
    assert [slot_label(s, LONDON) for s in gap] == ["2026-03-29T02:30+01:00"]
    # 01:30 happens twice on 25 Oct: it fires once.
    fold, _ = parse_clock("daily 01:30").slots(LONDON, at(2026, 10, 24, 12), at(2026, 10, 25, 12))
    assert len(fold) == 1
    for bad in ("fri 25:00", "fryday 15:00", "* * * * *", "61 9 * * *", "whenever"):
        with pytest.raises(RuleError) as caught:
            parse_clock(bad)
        assert caught.value.field == "every"


def test_validation_names_the_field_and_pause_resume_remove(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    cases: list[tuple[dict[str, object], str]] = [
        ({"client": "Acme Corp", "every": "fri 15:00", "timezone": "Mars/Olympus"}, "timezone"),
        ({"client": "Acme Corp", "every": "fri 15:00", "deliver": ["pigeon:home"]}, "deliver"),
        ({"client": "Initech", "every": "fri 15:00"}, "client"),
        ({"every": "fri 15:00"}, "client"),
        ({"client": "Acme Corp"}, "every"),
        ({"client": "Acme Corp", "every": "fri 15:00", "deliver": []}, "deliver"),
    ]
    with engine.begin() as conn:
        for options, field in cases:
            kwargs = {"deliver": ["email:jane@acme.example"], **options}
            with pytest.raises(schedules.ScheduleError) as caught:
                schedules.add(conn, "client-update", **kwargs)  # type: ignore[arg-type]
            assert caught.value.field == field, options
        with pytest.raises(schedules.ScheduleError) as caught:
            schedules.add(conn, "meeting-brief", every="fri 15:00", deliver=["email:a@b.example"])
        assert caught.value.field == "recipe"
    sched = weekly(engine, at(2026, 11, 9, 9))
    with engine.begin() as conn:
        schedules.pause(conn, sched.id)
    assert runner.run_due(engine, at(2026, 11, 13, 15, 5)).outcomes == []
    with engine.begin() as conn:
        schedules.resume(conn, sched.id, now=at(2026, 11, 16, 9))
    # The slot that passed while paused is not drafted later; the next one is.
    assert runner.run_due(engine, at(2026, 11, 16, 9, 1)).outcomes == []
    assert [o.slot for o in runner.run_due(engine, at(2026, 11, 20, 15, 0)).outcomes] == [
        "2026-11-20T15:00+00:00"]
    with engine.begin() as conn:
        schedules.remove(conn, sched.id)
        assert schedules.list_schedules(conn) == []
        assert conn.execute(select(func.count()).select_from(schedule_run)).scalar() == 0
        assert drafts.list_drafts(conn, client="Acme Corp")  # the drafts stay


def test_schedule_commands(make_store: Callable[[Path], Engine], tmp_path: Path) -> None:
    engine = make_store(tmp_path)
    engine.dispose()
    db = ["--db", str(tmp_path / "store.db")]
    cli = CliRunner()
    added = cli.invoke(app, [*db, "schedule", "add", "client-update", "--client", "Acme Corp",
                             "--every", "fri 15:00", "--tz", LONDON, "--deliver",
                             "email:jane@acme.example", "--deliver", "slack:#acme"])
    assert added.exit_code == 0, added.output
    assert "schedule #1" in added.output and "queue" in added.output
    brief = cli.invoke(app, [*db, "schedule", "add", "meeting-brief",
                             "--before-external-meetings", "2h", "--deliver", "email:me@x.example"])
    assert brief.exit_code == 0, brief.output
    change = cli.invoke(app, [*db, "schedule", "add", "client-update", "--client", "Globex",
                              "--on", "storyline-status-change", "--deliver", "slack:#globex",
                              "--auto-send"])
    assert change.exit_code == 0, change.output
    bad = cli.invoke(app, [*db, "schedule", "add", "client-update", "--client", "Acme Corp",
                           "--every", "fri 15:00", "--tz", "Nowhere/Town", "--deliver",
                           "email:jane@acme.example"])
    assert bad.exit_code == 1 and "timezone" in bad.output
    assert cli.invoke(app, [*db, "schedule", "pause", "2"]).exit_code == 0
    listed = cli.invoke(app, [*db, "schedule", "list", "--json"])
    rows = json.loads(listed.output)
    assert [(r["id"], r["kind"], r["paused"], r["auto_send"]) for r in rows] == [
        (1, "clock", False, False), (2, "trigger", True, False), (3, "trigger", False, True)]
    assert rows[0]["deliver"] == ["email:jane@acme.example", "slack:#acme"]
    assert cli.invoke(app, [*db, "schedule", "resume", "2"]).exit_code == 0
    assert cli.invoke(app, [*db, "schedule", "remove", "3"]).exit_code == 0
    missing = cli.invoke(app, [*db, "schedule", "remove", "3"])
    assert missing.exit_code == 1 and "no schedule #3" in missing.output
    table = cli.invoke(app, [*db, "schedule", "list"])
    assert "Acme" in table.output and "Globex" not in table.output


def test_the_run_loop_drafts_due_slots_each_iteration(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    from threadline.connectors.scheduler import Scheduler

    engine = make_store(tmp_path)
    weekly(engine, at(2026, 11, 16, 9))
    clock = [at(2026, 11, 20, 14, 59)]
    loop = Scheduler(engine, now=lambda: clock[0], sleep=lambda s: clock.__setitem__(
        0, clock[0] + timedelta(seconds=s)), max_idle=60)
    report = loop.run(max_iterations=3)
    assert report.errors == [] and [r["slot"] for r in runs(engine)] == ["2026-11-20T15:00+00:00"]
