"""run_due(): draft every schedule slot that is due, once, after a fresh sync.

For each active clock schedule the slots due in (watermark, now] are computed, where the
watermark is the latest of: the schedule's creation, its last resume, and the due time of its
latest recorded run. Only the most recent due slot is drafted; when Threadline was down
across several slots, the older ones are recorded as ``skipped`` (never drafted: ten stale
weekly updates help nobody) and the drafted one is marked late when it runs more than the
grace period after its due time. Event triggers (meetings, storyline changes) are handled by
``triggers`` in the same call. Safe to call from several processes: see ``fire``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from threadline.autonomy import triggers
from threadline.autonomy.fire import GRACE, Job, Outcome, Slot, fire, record_skipped
from threadline.autonomy.rules import load_zone, parse_clock, slot_label
from threadline.autonomy.schedules import Schedule, list_schedules
from threadline.context.weeks import week_of
from threadline.llm.base import ComposerSettings
from threadline.produce.pipeline import Request
from threadline.store.autonomy_schema import schedule_run

log = logging.getLogger(__name__)
SyncFn = Callable[[Engine], Any]
KEEP_SKIPPED = 50


@dataclass
class DueReport:
    outcomes: list[Outcome] = field(default_factory=list)
    synced: bool = False
    sync_error: str | None = None

    def drafted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.draft_id is not None]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def watermarks(engine: Engine) -> dict[int, datetime]:
    """Each schedule's latest recorded due time: slots at or before it are settled."""
    with engine.connect() as conn:
        rows = conn.execute(select(schedule_run.c.schedule_id, func.max(schedule_run.c.due_at))
                            .group_by(schedule_run.c.schedule_id)).all()
    return {int(r[0]): _aware(r[1]) for r in rows if r[1] is not None}


def _start(sched: Schedule, marks: dict[int, datetime]) -> datetime:
    after = _aware(sched.created_at)
    resumed = sched.options.get("resumed_at")
    if isinstance(resumed, str):
        after = max(after, _aware(datetime.fromisoformat(resumed)))
    if sched.id in marks:
        after = max(after, marks[sched.id])
    return after


def week_for(sched: Schedule, due_at: datetime) -> str:
    """The ISO week a slot summarises: the slot's own local week, or the one before it."""
    local = due_at.astimezone(load_zone(sched.timezone))
    week = week_of(local.date())
    return (week.shifted(-1) if sched.options.get("week") == "last" else week).label


@dataclass
class _Plan:
    schedule: Schedule
    latest: Slot
    older: list[Slot]


def clock_plans(engine: Engine, schedules: list[Schedule], now: datetime) -> list[_Plan]:
    marks = watermarks(engine)
    plans: list[_Plan] = []
    for sched in schedules:
        if sched.kind != "clock" or sched.paused:
            continue
        due, _total = parse_clock(sched.rule).slots(sched.timezone, _start(sched, marks), now,
                                                    keep=KEEP_SKIPPED + 1)
        if due:
            slots = [Slot(slot_label(d, sched.timezone), d) for d in due]
            plans.append(_Plan(sched, slots[-1], slots[:-1]))
    return plans


def run_due(
    engine: Engine,
    now: datetime,
    *,
    sync: SyncFn | None = None,
    grace: timedelta = GRACE,
    settings: ComposerSettings | None = None,
    recipes_dir: Path | None = None,
) -> DueReport:
    """Draft what is due at ``now``; ``sync`` (e.g. a pass over the connections and an
    accumulation) runs first, once, and only when something is due."""
    report = DueReport()
    with engine.connect() as conn:
        active = list_schedules(conn, active_only=True)
    if not active:
        return report
    plans = clock_plans(engine, active, now)
    briefs = triggers.meeting_jobs(engine, active, now)
    if (plans or briefs) and sync is not None:
        report.synced = True
        try:
            sync(engine)
        except Exception as exc:  # draft from what is stored rather than not at all
            log.exception("sync before drafting failed")
            report.sync_error = f"{type(exc).__name__}: {exc}"
        if briefs:  # the sync may have moved or cancelled a meeting: look again
            briefs = triggers.meeting_jobs(engine, active, now)
    for plan in plans:
        sched = plan.schedule
        request = Request(sched.recipe, sched.client, week=week_for(sched, plan.latest.due_at))
        job = Job(sched, [plan.latest], request, settings, recipes_dir)
        report.outcomes += fire(engine, job, now, grace)
        report.outcomes += record_skipped(engine, sched, plan.older, now, plan.latest.key)
    for job in briefs:
        job.settings, job.recipes_dir = settings, recipes_dir
        report.outcomes += fire(engine, job, now, grace)
    report.outcomes += triggers.run_storyline_triggers(engine, active, now, grace=grace,
                                                       settings=settings,
                                                       recipes_dir=recipes_dir)
    return report


def default_sync(engine: Engine) -> None:
    """One pass over every (unpaused) connection, then accumulation if anything changed:
    what ``threadline sync`` does, used before a scheduled draft."""
    from threadline.connectors.connections import list_connections
    from threadline.connectors.engine import sync_connection
    from threadline.context.accumulate import accumulate

    changed = False
    for conn in list_connections(engine):
        if conn.status == "paused":
            continue
        summary = sync_connection(engine, conn)
        changed = changed or bool(summary.counts.added + summary.counts.updated
                                  + summary.counts.deleted)
    if changed:
        accumulate(engine)


def tick(engine: Engine, now: datetime, sync: SyncFn | None = None) -> DueReport:
    """One loop iteration of ``threadline run``: draft what is due, then hand the delivery
    queue its turn (when that module is installed)."""
    import importlib

    from threadline.errors import ConfigError
    from threadline.llm.config import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:  # a broken composer block must not stop scheduled drafts
        log.warning("composer settings unusable, drafting offline: %s", exc)
        settings = ComposerSettings()
    report = run_due(engine, now, sync=sync, settings=settings)
    try:
        deliver = importlib.import_module("threadline.deliver.queue")
    except ModuleNotFoundError as exc:
        if exc.name not in ("threadline.deliver.queue", "threadline.deliver"):
            raise
        return report
    deliver.process_due(engine, now)
    return report
