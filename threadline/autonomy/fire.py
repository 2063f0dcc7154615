"""Draft one schedule slot, exactly once: compose, claim the slot, store, maybe auto-send.

The slot's schedule_run row, the draft and (for auto-send) the approval and its deliveries
are written in ONE transaction, and the row is inserted before anything else is written:
when a second process (or a restarted one) drafted the same slot first, the unique
(schedule_id, slot) constraint refuses the row and everything this attempt wrote rolls back.
Composing happens before the first write, so the database's write lock is held only for the
few inserts at the end (SQLite serializes writers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from threadline.autonomy.schedules import Schedule
from threadline.errors import ThreadlineError
from threadline.llm.base import ComposerSettings
from threadline.produce import drafts
from threadline.produce import pipeline as pipe
from threadline.produce.rank import rank
from threadline.produce.recipes import get_recipe
from threadline.produce.select import build_bundle
from threadline.store.autonomy_schema import schedule_run

log = logging.getLogger(__name__)
GRACE = timedelta(minutes=15)


@dataclass
class Slot:
    key: str
    due_at: datetime


@dataclass
class Outcome:
    schedule_id: int
    slot: str
    due_at: datetime
    status: str  # drafted | auto_sent | held | failed | skipped | taken
    late: bool = False
    draft_id: int | None = None
    error: str | None = None


@dataclass
class Job:
    """What to draft: a recipe's request, for these slots of one schedule."""

    schedule: Schedule
    slots: list[Slot]
    request: pipe.Request
    settings: ComposerSettings | None = None
    recipes_dir: Path | None = None


def has_run(conn: Connection, schedule_id: int, slot: str) -> bool:
    return conn.execute(select(schedule_run.c.id).where(
        schedule_run.c.schedule_id == schedule_id, schedule_run.c.slot == slot)).first() is not None


def _compose(conn: Connection, job: Job, now: datetime) -> tuple[object, str]:
    """pipeline.produce() up to storing, on the caller's connection (reads only)."""
    recipe = get_recipe(job.request.recipe, job.recipes_dir)
    resolved = pipe.resolve(conn, recipe, job.request, now)
    bundle = build_bundle(conn, resolved.scope, resolved.clients, resolved.extra,
                          resolved.only_items)
    if recipe.scope == "event":
        bundle = pipe._brief_pool(bundle)
    if recipe.lead_with_changes and resolved.scope.client:
        sent = drafts.last_sent(conn, recipe.name, resolved.scope.client,
                                other_than=resolved.slot)
        bundle.previous = sent.draft if sent else None
    ranked = rank(bundle, recipe)
    draft = pipe.compose(ranked, recipe, job.settings or ComposerSettings(), None)
    draft = pipe.verify(draft, ranked)
    draft.created_at = now
    return draft, resolved.slot


def _claim(conn: Connection, job: Job, now: datetime, grace: timedelta, status: str,
           error: str | None = None) -> None:
    for slot in job.slots:
        conn.execute(schedule_run.insert().values(
            schedule_id=job.schedule.id, slot=slot.key, due_at=slot.due_at, ran_at=now,
            late=now - slot.due_at > grace, status=status, error=error,
        ))


def fire(engine: Engine, job: Job, now: datetime, grace: timedelta = GRACE) -> list[Outcome]:
    """Draft the job's slots once; the outcome per slot (``taken`` = someone else had it)."""
    sched = job.schedule
    first = job.slots[0]
    late = now - first.due_at > grace

    def outcomes(status: str, draft_id: int | None = None,
                 error: str | None = None) -> list[Outcome]:
        return [Outcome(sched.id, s.key, s.due_at, status, now - s.due_at > grace, draft_id,
                        error) for s in job.slots]

    try:
        with engine.begin() as conn:
            if has_run(conn, sched.id, first.key):
                return outcomes("taken")
            body, draft_slot = _compose(conn, job, now)
            _claim(conn, job, now, grace, "drafted")
            draft_id = drafts.save(conn, body, draft_slot, now)  # type: ignore[arg-type]
            status, error = "drafted", None
            if sched.auto_send:
                status, error = _auto_send(conn, sched, draft_id, now)
            conn.execute(update(schedule_run).where(
                schedule_run.c.schedule_id == sched.id,
                schedule_run.c.slot.in_([s.key for s in job.slots]),
            ).values(draft_id=draft_id, status=status, error=error))
    except (IntegrityError, OperationalError) as exc:
        # Another process claimed the slot between our check and our insert (or held the
        # write lock for it): its draft is the one; ours rolled back with the failed claim.
        log.info("slot %s of schedule %s was drafted elsewhere: %s", first.key, sched.id, exc)
        return outcomes("taken")
    except ThreadlineError as exc:
        return _record_failure(engine, job, now, grace, str(exc))
    except Exception as exc:  # a composer or store failure must not stop the loop
        log.exception("schedule %s slot %s failed", sched.id, first.key)
        return _record_failure(engine, job, now, grace, f"{type(exc).__name__}: {exc}")
    log.info("schedule %s drafted #%s for %s%s", sched.id, draft_id, first.key,
             " (late)" if late else "")
    return outcomes(status, draft_id, error)


def _record_failure(engine: Engine, job: Job, now: datetime, grace: timedelta,
                    error: str) -> list[Outcome]:
    """A failed slot is recorded (and not retried: the next slot is the next chance)."""
    try:
        with engine.begin() as conn:
            _claim(conn, job, now, grace, "failed", error[:2000])
    except IntegrityError:
        return [Outcome(job.schedule.id, s.key, s.due_at, "taken") for s in job.slots]
    return [Outcome(job.schedule.id, s.key, s.due_at, "failed", now - s.due_at > grace,
                    None, error) for s in job.slots]


def _auto_send(conn: Connection, sched: Schedule, draft_id: int,
               now: datetime) -> tuple[str, str | None]:
    from threadline.autonomy.queue import ReviewError, approve

    try:
        approve(conn, draft_id, destinations=sched.deliver, by_schedule=sched.id, now=now)
    except ReviewError as exc:
        # Flagged claims hold even an auto-send schedule's draft for a person to look at.
        return "held", str(exc)
    return "auto_sent", None


def record_skipped(engine: Engine, sched: Schedule, slots: Sequence[Slot], now: datetime,
                   instead: str) -> list[Outcome]:
    """Older missed slots: recorded as skipped, so they are never drafted stale."""
    if not slots:
        return []
    note = f"missed while Threadline was not running; drafted {instead} instead"
    done: list[Outcome] = []
    try:
        with engine.begin() as conn:
            for slot in slots:
                if has_run(conn, sched.id, slot.key):
                    continue
                conn.execute(schedule_run.insert().values(
                    schedule_id=sched.id, slot=slot.key, due_at=slot.due_at, ran_at=now,
                    late=True, status="skipped", error=note))
                done.append(Outcome(sched.id, slot.key, slot.due_at, "skipped", True, None,
                                    note))
    except (IntegrityError, OperationalError):
        return []  # another process recorded them at the same moment
    return done
