"""The review queue: what the CLI and the web app do with drafts waiting for a person.

Nothing a schedule drafts is sent until it is approved here — by a person, or by the schedule
itself when it is ``auto_send`` (the draft's ``reason`` then says the schedule chose, not a
person). Approving enqueues one delivery per destination through ``threadline.deliver.queue``
in the same transaction, so an approved draft always has its deliveries, and a draft with
flagged claims is refused unless forced.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update

from threadline.autonomy.schedules import Schedule, check_destination
from threadline.autonomy.schedules import get as get_schedule
from threadline.errors import ThreadlineError
from threadline.llm.base import ComposerSettings
from threadline.produce import drafts
from threadline.store.autonomy_schema import schedule_run
from threadline.store.produce_schema import draft

DELIVER = "threadline.deliver.queue"
REVIEWABLE = ("draft", "rejected")
SELF_ENV = "THREADLINE_SELF"


class ReviewError(ThreadlineError):
    """A review action the draft's state does not allow; the message says what to do."""


@dataclass
class Pending:
    id: int
    recipe: str
    client: str | None
    slot: str
    title: str
    created_at: datetime
    composer: str
    kept: int
    flagged: int
    dropped: int
    problems: list[str] = field(default_factory=list)
    schedule_id: int | None = None
    schedule_when: str | None = None
    deliver: list[str] = field(default_factory=list)
    auto_send: bool = False
    due_at: datetime | None = None
    late: bool = False
    held: str | None = None
    """Why an auto-send schedule left it for review (flagged claims)."""


@dataclass
class Approval:
    draft: drafts.StoredDraft
    destinations: list[str]
    enqueued: bool
    """False when the delivery module is not installed: approved, nothing queued."""
    by: str

    def __str__(self) -> str:
        to = ", ".join(self.destinations) or "no destination"
        if not self.enqueued:
            return (f"Approved draft #{self.draft.id} ({self.by}); delivery is not installed "
                    f"in this build, so nothing was queued for {to}.")
        return f"Approved draft #{self.draft.id} ({self.by}); queued for {to}."


def _run_of(conn: Connection, draft_id: int) -> tuple[Schedule | None, object | None]:
    row = conn.execute(select(schedule_run).where(schedule_run.c.draft_id == draft_id)
                       .order_by(schedule_run.c.id)).first()
    if row is None:
        return None, None
    try:
        return get_schedule(conn, int(row.schedule_id)), row
    except ThreadlineError:
        return None, row


def list_pending(conn: Connection) -> list[Pending]:
    """Drafts waiting for review (status ``draft``), newest first, with their report counts
    and the schedule that made them, if any."""
    found: list[Pending] = []
    for stored in drafts.list_drafts(conn, status="draft"):
        report = stored.draft.report
        sched, run = _run_of(conn, stored.id)
        r = run._mapping if run is not None else {}  # type: ignore[attr-defined]
        found.append(Pending(
            id=stored.id, recipe=stored.recipe, client=stored.client, slot=stored.slot,
            title=stored.draft.title, created_at=stored.created_at, composer=stored.composer,
            kept=report.kept, flagged=report.flagged, dropped=report.dropped,
            problems=list(report.problems),
            schedule_id=sched.id if sched else None, schedule_when=sched.when if sched else None,
            deliver=list(sched.deliver) if sched else [],
            auto_send=bool(sched and sched.auto_send),
            due_at=r.get("due_at"), late=bool(r.get("late", False)),
            held=r.get("error") if r.get("status") == "held" else None,
        ))
    return found


def _reviewable(conn: Connection, draft_id: int, action: str) -> drafts.StoredDraft:
    stored = drafts.get(conn, draft_id)
    if stored.status == "superseded":
        newer = conn.execute(select(draft.c.id).where(
            draft.c.recipe == stored.recipe, draft.c.slot == stored.slot,
            draft.c.client.is_(None) if stored.client is None else draft.c.client == stored.client,
            draft.c.status != "superseded").order_by(draft.c.id.desc())).scalar()
        hint = f"#{newer}" if newer else "the newer one (`threadline queue`)"
        raise ReviewError(f"draft #{draft_id} was superseded; {action} {hint} instead")
    if stored.status not in REVIEWABLE:
        raise ReviewError(f"draft #{draft_id} is already {stored.status}; only a draft waiting "
                          f"for review can be {action}d")
    return stored


def _enqueue(conn: Connection, draft_id: int, destinations: Sequence[str],
             now: datetime) -> bool:
    try:
        module = importlib.import_module(DELIVER)
    except ModuleNotFoundError as exc:
        if exc.name not in (DELIVER, "threadline.deliver"):
            raise  # the module exists but is broken: say so, don't pretend it is absent
        return False
    module.enqueue(conn, draft_id, list(destinations), now=now)
    return True


def approve(
    conn: Connection,
    draft_id: int,
    destinations: Sequence[str] | None = None,
    user_note: str | None = None,
    *,
    force: bool = False,
    by_schedule: int | None = None,
    now: datetime | None = None,
) -> Approval:
    """Approve a draft and enqueue its deliveries (to ``destinations``, else its schedule's).

    A draft with flagged claims is refused unless ``force``: the verifier could not confirm
    something in it. ``by_schedule`` records that an auto-send schedule approved it.
    """
    stored = _reviewable(conn, draft_id, "approve")
    sched, _run = _run_of(conn, draft_id)
    report = stored.draft.report
    if report.flagged and not force:
        problems = "; ".join(report.problems[:3])
        raise ReviewError(
            f"draft #{draft_id} has {report.flagged} flagged claim(s) the verifier could not "
            f"confirm ({problems}). Edit the draft, regenerate it, or approve with --force "
            "if you have checked them")
    targets = list(destinations) if destinations else (sched.deliver if sched else [])
    if not targets:
        raise ReviewError(f"draft #{draft_id} has no destination (no schedule made it): "
                          "give one, e.g. --deliver email:jane@acme.example")
    targets = [check_destination(t) for t in targets]
    if by_schedule is not None:
        by = f"auto-send by schedule #{by_schedule}"
        reason = f"approved automatically by schedule #{by_schedule} (auto-send), not reviewed"
    else:
        by = "approved by you"
        reason = "approved" + (f": {user_note}" if user_note else "")
    now = now or datetime.now(UTC)
    updated = drafts.mark(conn, draft_id, "approved", reason=reason, now=now)
    enqueued = _enqueue(conn, draft_id, targets, now)
    return Approval(updated, targets, enqueued, by)


def send_to_self(engine: Engine, draft_id: int, address: str | None = None,
                 now: datetime | None = None) -> str:
    """Send the draft to the user's own address (or any destination) now, to read it as the
    client would. It is a preview, not a delivery: the draft stays in review and nothing is
    recorded in ``delivery`` (that table is what the client got, and the delivery queue sends
    only approved drafts)."""
    chosen = address or os.environ.get(SELF_ENV)
    if not chosen:
        raise ReviewError(f"send to self needs your address: give it (e.g. me@northwind.example) "
                          f"or set {SELF_ENV}")
    target = check_destination(chosen if ":" in chosen else f"email:{chosen}")
    with engine.connect() as conn:
        stored = _reviewable(conn, draft_id, "send")
    try:
        from threadline.deliver.base import DeliverySettings, load_deliverer
        from threadline.deliver.destinations import parse_destination
    except ModuleNotFoundError as exc:
        raise ReviewError("send to self needs the delivery module, which is not installed in "
                          "this build") from exc
    destination = parse_destination(target)
    settings = DeliverySettings(engine=engine, draft_id=draft_id, slot=stored.slot,
                                edited_markdown=stored.edited_markdown)
    try:
        result = load_deliverer(destination.kind).deliver(stored.draft, destination, settings)
    except ThreadlineError as exc:
        raise ReviewError(f"draft #{draft_id} could not be sent to {target}: {exc}") from exc
    where = getattr(result, "permalink", None) or target
    return f"Sent draft #{draft_id} to {where} (a preview: it is still waiting for review)."


def reject(conn: Connection, draft_id: int, reason: str,
           now: datetime | None = None) -> drafts.StoredDraft:
    if not reason or not reason.strip():
        raise ReviewError(f"say why draft #{draft_id} is rejected: --reason TEXT (the reason "
                          "is kept with the draft)")
    stored = drafts.get(conn, draft_id)
    if stored.status != "draft":
        raise ReviewError(f"draft #{draft_id} is {stored.status}; only a draft waiting for "
                          "review can be rejected")
    return drafts.mark(conn, draft_id, "rejected", reason=reason.strip(), now=now)


def regenerate(engine: Engine, draft_id: int, *, settings: ComposerSettings | None = None,
               now: datetime | None = None, recipes_dir: Path | None = None) -> drafts.StoredDraft:
    """Produce the same recipe/client/slot again; the old draft becomes superseded and the
    schedule run that made it points at the new one."""
    from threadline.produce.pipeline import produce

    with engine.connect() as conn:
        old = _reviewable(conn, draft_id, "regenerate")
    scope = old.draft.scope
    options: dict[str, object] = {}
    if scope.event:
        options["event"] = scope.event
    elif scope.week:
        options["week"] = scope.week
    else:
        options.update(since=scope.start.date(), project=scope.project)
    fresh = produce(engine, old.recipe, client=old.client, settings=settings, now=now,
                    recipes_dir=recipes_dir, **options)  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(update(schedule_run).where(schedule_run.c.draft_id == draft_id)
                     .values(draft_id=fresh.id))
        # drafts.save supersedes by slot; make sure the old one is, even if the slot moved.
        if drafts.get(conn, draft_id).status in REVIEWABLE and fresh.id != draft_id:
            drafts.mark(conn, draft_id, "superseded", reason=f"regenerated as #{fresh.id}",
                        now=now)
    return fresh
