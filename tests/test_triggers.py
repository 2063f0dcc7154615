"""Event triggers on the sample store: a brief 2h before meetings with outsiders, once per
meeting; a client update when one of the client's storylines changes status, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from autonomy_store import sample_factory
from sqlalchemy import Engine, select, update

from threadline.autonomy import runner, schedules
from threadline.autonomy.triggers import is_external, own_domains
from threadline.produce import drafts
from threadline.store import open_store
from threadline.store.autonomy_schema import schedule_run
from threadline.store.context_schema import storyline

ACME_REVIEW = "event:43bfa5fbbfdee572c10933ccea@google.com@2026-11-19T11:30:00Z"
ALPHA_REVIEW = "event:c6675fd7b817fae24c89f4d700@google.com@2026-11-19T11:30:00Z"
ALPHA_SYNC = "event:20e2dd0ce42e2d834f219d34a7@google.com@2026-11-18T11:00:00Z"


@pytest.fixture(scope="module")
def make_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Engine]:
    return sample_factory(tmp_path_factory.mktemp("triggers"))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path / "home"))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def briefs(engine: Engine, client: str | None = None) -> schedules.Schedule:
    with engine.begin() as conn:
        return schedules.add(conn, "meeting-brief", client=client, before_external_meetings="2h",
                             deliver=["email:jane@northwind.example"], now=at(16, 8))


def slots(report: runner.DueReport) -> list[str]:
    return sorted(o.slot for o in report.outcomes if o.status == "drafted")


def test_a_brief_fires_once_two_hours_before_each_meeting_with_an_outsider(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    sched = briefs(engine)
    assert own_domains(engine, sched) == {"northwind.example"}
    # 09:00 on 19 Nov: the internal standup at 09:30 is within 2h, and gets no brief.
    assert runner.run_due(engine, at(19, 9)).outcomes == []
    # 09:30: the Acme and Alpha Partners reviews at 11:30 (outsiders attend) are 2h away.
    synced: list[bool] = []
    due = runner.run_due(engine, at(19, 9, 30), sync=lambda eng: synced.append(True))
    assert slots(due) == sorted([ACME_REVIEW, ALPHA_REVIEW]) and synced == [True]
    assert all(not o.late for o in due.outcomes)
    with engine.connect() as conn:
        acme = next(drafts.get(conn, o.draft_id) for o in due.outcomes  # type: ignore[arg-type]
                    if o.slot == ACME_REVIEW)
    assert (acme.recipe, acme.client, acme.draft.scope.event) == (
        "meeting-brief", "Acme Corp", ACME_REVIEW)
    assert acme.status == "draft"
    # Later checks, and a restart, brief nothing twice.
    assert runner.run_due(engine, at(19, 10)).outcomes == []
    engine.dispose()
    again = open_store(str(tmp_path / "store.db"))
    assert runner.run_due(again, at(19, 11)).outcomes == []
    # 20 Nov: the Alpha sync at 11:00 is briefed; the team lunch at 12:30 (internal) is not.
    assert slots(runner.run_due(again, at(20, 9, 1))) == [ALPHA_SYNC]
    assert runner.run_due(again, at(20, 11, 0)).outcomes == []
    with again.connect() as conn:
        briefed = sorted(conn.execute(select(schedule_run.c.slot)).scalars())
    assert briefed == sorted([ACME_REVIEW, ALPHA_REVIEW, ALPHA_SYNC])


def test_a_client_schedule_briefs_only_that_clients_meetings(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    briefs(engine, client="Acme Corp")
    assert slots(runner.run_due(engine, at(19, 9, 45))) == [ACME_REVIEW]


def test_external_means_a_domain_outside_the_users() -> None:
    own = frozenset({"northwind.example"})
    assert not is_external(["email:jane@northwind.example", "slack:U123"], own)
    assert is_external(["email:jane@northwind.example", "email:dev@acme.example"], own)


def test_a_storyline_status_change_triggers_one_update(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    with engine.begin() as conn:
        sched = schedules.add(conn, "client-update", client="Acme Corp", on_storyline_change=True,
                              deliver=["slack:#acme"], now=at(16, 8))
        rows = conn.execute(select(storyline.c.key, storyline.c.status, storyline.c.clients)
                            .order_by(storyline.c.key)).all()
    acme = next(r.key for r in rows if r.clients == ["Acme Corp"] and r.status == "open")
    globex = next(r.key for r in rows if r.clients == ["Globex"] and r.status == "open")
    # The first look records the statuses: nothing has changed yet.
    assert runner.run_due(engine, at(18, 9)).outcomes == []
    assert runner.run_due(engine, at(18, 10)).outcomes == []

    def set_status(key: str, status: str) -> None:
        with engine.begin() as conn:
            conn.execute(update(storyline).where(storyline.c.key == key).values(status=status))

    set_status(globex, "resolved")  # another client's storyline: not this schedule's business
    assert runner.run_due(engine, at(18, 11)).outcomes == []
    set_status(acme, "resolved")
    fired = runner.run_due(engine, at(18, 12))
    assert [(o.slot, o.status) for o in fired.outcomes] == [
        (f"storyline:{acme}:resolved", "drafted")]
    with engine.connect() as conn:
        stored = drafts.get(conn, fired.outcomes[0].draft_id)  # type: ignore[arg-type]
    assert (stored.recipe, stored.client, stored.slot) == ("client-update", "Acme Corp",
                                                           "2026-W47")
    assert runner.run_due(engine, at(18, 13)).outcomes == []
    # A process with a stale view of the statuses still does not fire the change twice.
    with engine.begin() as conn:
        current = schedules.get(conn, sched.id).options
        stale = {**current["seen"], acme: "open"}
        schedules.set_options(conn, sched.id, {**current, "seen": stale})
    assert runner.run_due(engine, at(18, 14)).outcomes == []
    with engine.connect() as conn:
        assert len(conn.execute(select(schedule_run)).all()) == 1
