"""The review queue on the sample store: pending drafts, approve (deliveries queued), flagged
claims refused unless forced, reject with a reason, regenerate supersedes, auto-send records
that the schedule chose, and nothing goes out without an approval."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from autonomy_store import sample_factory
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from threadline.autonomy import queue, runner, schedules
from threadline.cli.app import app
from threadline.produce import drafts
from threadline.produce.model import Claim, Draft, Scope, Section, VerificationReport
from threadline.store.autonomy_schema import delivery, schedule_run

HAS_DELIVERY = importlib.util.find_spec("threadline.deliver.queue") is not None
FRIDAY = datetime(2026, 11, 20, 15, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def make_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Engine]:
    return sample_factory(tmp_path_factory.mktemp("queue"))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path / "home"))


def scheduled(engine: Engine, deliver: list[str], auto_send: bool = False) -> int:
    """A Friday schedule drafted at FRIDAY; returns the draft id."""
    with engine.begin() as conn:
        schedules.add(conn, "client-update", client="Acme Corp", every="fri 15:00",
                      timezone="Europe/London", deliver=deliver, auto_send=auto_send,
                      now=datetime(2026, 11, 16, tzinfo=UTC))
    outcome = runner.run_due(engine, FRIDAY).outcomes[0]
    assert outcome.draft_id is not None
    return outcome.draft_id


def deliveries(engine: Engine, draft_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r.destination, r.status) for r in conn.execute(
            select(delivery).where(delivery.c.draft_id == draft_id).order_by(delivery.c.id))]


def flagged_draft(engine: Engine) -> int:
    scope = Scope(recipe="client-update", client="Globex", week="2026-W47",
                  start=datetime(2026, 11, 16, tzinfo=UTC), end=datetime(2026, 11, 23, tzinfo=UTC))
    claim = Claim(text="Launch moved to 3 Dec.", citations=["slack:C1:1"], status="flagged",
                  reasons=["date not in the cited items"])
    body = Draft(scope=scope, title="Globex", composer="offline",
                 sections=[Section(key="highlights", title="Highlights", claims=[claim])],
                 report=VerificationReport(kept=0, flagged=1, problems=[
                     "Launch moved to 3 Dec. — date not in the cited items"]))
    with engine.begin() as conn:
        return drafts.save(conn, body, "2026-W47", FRIDAY)


def test_pending_then_approve_queues_the_schedules_destinations(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    out = tmp_path / "out" / "acme.md"
    draft_id = scheduled(engine, ["email:jane@acme.example", f"file:{out}"])
    other = flagged_draft(engine)
    with engine.connect() as conn:
        pending = queue.list_pending(conn)
    assert [p.id for p in pending] == [other, draft_id]  # newest first
    mine = pending[1]
    assert mine.schedule_id is not None and mine.due_at == datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert mine.kept > 0 and mine.deliver == ["email:jane@acme.example", f"file:{out}"]
    assert "fri 15:00" in (mine.schedule_when or "")
    assert pending[0].flagged == 1 and pending[0].schedule_id is None
    # Waiting for review: nothing queued.
    assert deliveries(engine, draft_id) == []
    with engine.begin() as conn:
        done = queue.approve(conn, draft_id, user_note="looks right", now=FRIDAY)
    assert done.draft.status == "approved" and done.draft.reason == "approved: looks right"
    assert done.enqueued is HAS_DELIVERY
    if HAS_DELIVERY:
        assert deliveries(engine, draft_id) == [("email:jane@acme.example", "pending"),
                                                (f"file:{out}", "pending")]
    with engine.begin() as conn, pytest.raises(queue.ReviewError, match="already approved"):
        queue.approve(conn, draft_id)
    with engine.connect() as conn:
        assert [p.id for p in queue.list_pending(conn)] == [other]


def test_flagged_claims_are_refused_unless_forced(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    draft_id = flagged_draft(engine)
    with engine.begin() as conn, pytest.raises(queue.ReviewError) as caught:
        queue.approve(conn, draft_id, ["email:ops@globex.example"])
    assert "1 flagged claim" in str(caught.value) and "--force" in str(caught.value)
    with engine.begin() as conn, pytest.raises(queue.ReviewError, match="no destination"):
        queue.approve(conn, draft_id, force=True)
    with engine.begin() as conn:
        done = queue.approve(conn, draft_id, ["email:ops@globex.example"], force=True)
    assert done.draft.status == "approved"
    if HAS_DELIVERY:
        assert deliveries(engine, draft_id) == [("email:ops@globex.example", "pending")]


def test_reject_keeps_the_reason_and_regenerate_supersedes(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    draft_id = scheduled(engine, ["email:jane@acme.example"])
    fresh = queue.regenerate(engine, draft_id, now=FRIDAY)
    assert fresh.id != draft_id and fresh.status == "draft" and fresh.slot == "2026-W47"
    with engine.begin() as conn:
        assert drafts.get(conn, draft_id).status == "superseded"
        # The schedule's run now points at the new draft, so the queue still shows its origin.
        assert conn.execute(select(schedule_run.c.draft_id)).scalars().all() == [fresh.id]
        assert queue.list_pending(conn)[0].schedule_id is not None
        with pytest.raises(queue.ReviewError, match=f"#{fresh.id}"):
            queue.approve(conn, draft_id)
        with pytest.raises(queue.ReviewError, match="--reason"):
            queue.reject(conn, fresh.id, "  ")
        rejected = queue.reject(conn, fresh.id, "numbers are last week's")
    assert rejected.status == "rejected" and rejected.reason == "numbers are last week's"
    assert deliveries(engine, fresh.id) == []


def test_auto_send_approves_records_the_choice_and_delivers(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    out = tmp_path / "out" / "update.md"
    draft_id = scheduled(engine, [f"file:{out}"], auto_send=True)
    with engine.connect() as conn:
        stored = drafts.get(conn, draft_id)
        run = conn.execute(select(schedule_run)).one()
    assert stored.status == "approved"
    assert stored.reason is not None and "automatically by schedule" in stored.reason
    assert run.status == "auto_sent"
    if not HAS_DELIVERY:
        return
    assert deliveries(engine, draft_id) == [(f"file:{out}", "pending")]
    from threadline.deliver.queue import process_due

    process_due(engine, FRIDAY)
    assert out.exists() and "Acme" in out.read_text()
    assert deliveries(engine, draft_id) == [(f"file:{out}", "sent")]


def test_nothing_is_sent_without_approval(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    engine = make_store(tmp_path)
    out = tmp_path / "out" / "update.md"
    draft_id = scheduled(engine, [f"file:{out}"])
    runner.tick(engine, FRIDAY)  # what `threadline run` does each iteration
    with engine.connect() as conn:
        assert drafts.get(conn, draft_id).status == "draft"
    assert deliveries(engine, draft_id) == [] and not out.exists()


def test_queue_commands(make_store: Callable[[Path], Engine], tmp_path: Path) -> None:
    engine = make_store(tmp_path)
    draft_id = scheduled(engine, ["email:jane@acme.example"])
    other = flagged_draft(engine)
    engine.dispose()
    db = ["--db", str(tmp_path / "store.db")]
    cli = CliRunner()
    listed = cli.invoke(app, [*db, "queue", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"flagged": 1' in listed.output and f'"id": {draft_id}' in listed.output
    refused = cli.invoke(app, [*db, "queue", "approve", str(other), "--deliver",
                               "email:ops@globex.example"])
    assert refused.exit_code == 1 and "--force" in refused.output
    rejected = cli.invoke(app, [*db, "queue", "reject", str(other), "--reason", "wrong date"])
    assert rejected.exit_code == 0, rejected.output
    regen = cli.invoke(app, [*db, "queue", "regenerate", str(draft_id)])
    assert regen.exit_code == 0 and f"replaces #{draft_id}" in regen.output
    new_id = int(regen.output.split("#", 1)[1].split()[0])
    ok = cli.invoke(app, [*db, "queue", "approve", str(new_id)])
    assert ok.exit_code == 0 and "jane@acme.example" in ok.output
    empty = cli.invoke(app, [*db, "queue"])
    assert "nothing waiting" in empty.output


def test_send_to_self_previews_without_approving(
    make_store: Callable[[Path], Engine], tmp_path: Path,
) -> None:
    if not HAS_DELIVERY:
        pytest.skip("threadline.deliver is not installed in this build")
    engine = make_store(tmp_path)
    draft_id = scheduled(engine, ["email:jane@acme.example"])
    preview = tmp_path / "me" / "preview.md"
    said = queue.send_to_self(engine, draft_id, f"file:{preview}")
    assert "still waiting for review" in said and "Acme" in preview.read_text()
    with engine.connect() as conn:
        assert drafts.get(conn, draft_id).status == "draft"
    assert deliveries(engine, draft_id) == []  # a preview is not a delivery to the client
    with pytest.raises(queue.ReviewError, match="THREADLINE_SELF"):
        queue.send_to_self(engine, draft_id)
