"""Event triggers: a brief before meetings with outsiders, an update when a storyline moves.

``before-external-meeting 2h``: for each calendar event starting within the lead time whose
attendees include someone outside the user's own domains, one meeting brief; the slot is the
event's canonical id, so each meeting is briefed once (a meeting that already started is not
briefed: too late to help). Own domains come from the schedule's ``own_domains`` option, else
``clients.yaml`` (``me.domains``), else what the clients layer inferred.

``storyline-status-change``: the statuses of the client's storylines are compared with what
the trigger saw last (kept in the schedule's options). The first look only records them; after
that, each storyline whose status changed gets a slot ``storyline:<key>:<status>`` and all the
changes seen at once share one draft of the client's update for the current week. A
storyline that appears is recorded, not reported: it is new, not a change of status.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from threadline.autonomy.fire import GRACE, Job, Outcome, Slot, fire
from threadline.autonomy.rules import BEFORE_MEETING, STORYLINE_CHANGE, load_zone, parse_duration
from threadline.autonomy.schedules import Schedule, get, set_options
from threadline.context.weeks import week_of
from threadline.llm.base import ComposerSettings
from threadline.produce.pipeline import Request
from threadline.store.autonomy_schema import schedule_run
from threadline.store.context_schema import client, item_client, storyline
from threadline.store.schema import item

SLOT_MAX = 255


def slot_key(text: str) -> str:
    """A schedule_run slot (255 characters at most: long ids keep a prefix and a hash)."""
    if len(text) <= SLOT_MAX:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[:SLOT_MAX - 34]}#{digest}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def own_domains(engine: Engine, sched: Schedule) -> frozenset[str]:
    listed = sched.options.get("own_domains")
    if isinstance(listed, list) and listed:
        return frozenset(str(d).lower() for d in listed)
    from threadline.context.client_inference import InferenceState
    from threadline.context.clients_config import load_clients
    from threadline.paths import config_dir

    path = config_dir() / "clients.yaml"
    if path.exists():
        try:
            configured = load_clients(path).me.domains
        except Exception:  # a broken clients.yaml is reported by `threadline clients`
            configured = []
        if configured:
            return frozenset(d.lower() for d in configured)
    with engine.connect() as conn:
        inferred = InferenceState.load(conn).own.get("domains", [])
    return frozenset(d.lower() for d in inferred if isinstance(d, str))


def _domain(key: str) -> str | None:
    if key.startswith("email:") and "@" in key:
        return key.rsplit("@", 1)[1].lower()
    return None


def is_external(keys: list[str], own: frozenset[str]) -> bool:
    """Someone attends from a domain that is not the user's (only email attendees count)."""
    return any((d := _domain(k)) is not None and d not in own for k in keys)


def meeting_jobs(engine: Engine, schedules: list[Schedule], now: datetime) -> list[Job]:
    """Briefs due now: meetings starting within the lead time, with an outsider, not briefed."""
    jobs: list[Job] = []
    for sched in schedules:
        if sched.kind != "trigger" or not sched.rule.startswith(BEFORE_MEETING) or sched.paused:
            continue
        lead = parse_duration(sched.rule.split()[1])
        own = own_domains(engine, sched)
        if not own:
            continue  # without the user's domains everyone looks external: brief nothing
        query = select(item.c.id, item.c.canonical_id, item.c.occurred_at, item.c.recipients,
                       item.c.author_key).where(
            item.c.platform == "calendar", item.c.deleted.is_(False),
            item.c.occurred_at > now, item.c.occurred_at <= now + lead)
        if sched.client:
            query = query.join(item_client, item_client.c.item_id == item.c.id).join(
                client, client.c.id == item_client.c.client_id).where(client.c.name == sched.client)
        with engine.connect() as conn:
            events = conn.execute(query.order_by(item.c.occurred_at)).all()
            done = set(conn.execute(select(schedule_run.c.slot).where(
                schedule_run.c.schedule_id == sched.id,
                schedule_run.c.slot.in_([slot_key(e.canonical_id) for e in events]))).scalars())
        for event in events:
            key = slot_key(event.canonical_id)
            attendees = [*(event.recipients or []), *([event.author_key] if event.author_key
                                                     else [])]
            if key in done or not is_external(attendees, own):
                continue
            start = _aware(event.occurred_at)
            jobs.append(Job(sched, [Slot(key, start - lead)],
                            Request(sched.recipe, event=event.canonical_id)))
    return jobs


def _statuses(engine: Engine, name: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(storyline.c.key, storyline.c.status, storyline.c.clients))
        return {r.key: r.status for r in rows if name in (r.clients or [])}


def run_storyline_triggers(
    engine: Engine, schedules: list[Schedule], now: datetime, *, grace: timedelta = GRACE,
    settings: ComposerSettings | None = None, recipes_dir: Path | None = None,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for sched in schedules:
        if sched.kind != "trigger" or sched.rule != STORYLINE_CHANGE or sched.paused:
            continue
        if not sched.client:
            continue
        current = _statuses(engine, sched.client)
        seen: Any = sched.options.get("seen")
        changed = []
        if isinstance(seen, dict):
            changed = [(k, s) for k, s in sorted(current.items()) if k in seen and seen[k] != s]
        if changed:
            zone = load_zone(sched.timezone)
            week = week_of(now.astimezone(zone).date())
            if sched.options.get("week") == "last":
                week = week.shifted(-1)
            slots = [Slot(slot_key(f"storyline:{k}:{s}"), now) for k, s in changed]
            with engine.connect() as conn:
                done = set(conn.execute(select(schedule_run.c.slot).where(
                    schedule_run.c.schedule_id == sched.id,
                    schedule_run.c.slot.in_([s.key for s in slots]))).scalars())
            slots = [s for s in slots if s.key not in done]
            if slots:
                request = Request(sched.recipe, sched.client, week=week.label)
                outcomes += fire(engine, Job(sched, slots, request, settings, recipes_dir),
                                 now, grace)
        if seen != current:
            # Re-read the options: another process may have written its own view meanwhile.
            with engine.begin() as conn:
                fresh = get(conn, sched.id)
                set_options(conn, sched.id, {**fresh.options, "seen": current,
                                             "seen_at": now.isoformat()})
    return outcomes
