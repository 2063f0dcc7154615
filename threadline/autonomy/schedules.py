"""Schedules: add, list, pause, resume, remove. Validation errors name the field.

A schedule is a recipe (and client), when it fires — a clock rule in a time zone, or an event
trigger — where its drafts go, and whether they go without review (auto-send). Everything
is checked when the schedule is added, so the runner never meets a rule it cannot read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy import update as sql_update

from threadline.autonomy.rules import (
    BEFORE_MEETING,
    STORYLINE_CHANGE,
    RuleError,
    default_zone,
    format_duration,
    load_zone,
    parse_clock,
    parse_duration,
)
from threadline.errors import ThreadlineError
from threadline.produce.recipes import get_recipe
from threadline.store.autonomy_schema import schedule, schedule_run

DESTINATION_KINDS = ("email", "gmail", "slack", "notion", "file")
WEEKS = ("this", "last")


class ScheduleError(RuleError):
    """A schedule that cannot be added or changed as asked; ``field`` names the setting."""


@dataclass
class Schedule:
    id: int
    recipe: str
    client: str | None
    kind: str  # clock | trigger
    rule: str
    timezone: str
    deliver: list[str]
    auto_send: bool
    paused: bool
    options: dict[str, Any]
    created_at: datetime

    @property
    def when(self) -> str:
        """The rule as a person reads it."""
        if self.kind == "clock":
            return f"every {self.rule} ({self.timezone})"
        if self.rule.startswith(BEFORE_MEETING):
            return f"{self.rule.split()[1]} before meetings with external attendees"
        return "when a storyline of the client changes status"


def _row(row: Any) -> Schedule:
    r = row._mapping
    return Schedule(id=r["id"], recipe=r["recipe"], client=r["client"], kind=r["kind"],
                    rule=r["rule"], timezone=r["timezone"], deliver=list(r["deliver"] or []),
                    auto_send=bool(r["auto_send"]), paused=bool(r["paused"]),
                    options=dict(r["options"] or {}), created_at=r["created_at"])


def check_destination(text: str) -> str:
    """The destination in its canonical form (the delivery module's parser when present)."""
    try:
        from threadline.deliver.destinations import parse_destination
    except ImportError:
        return _basic_destination(text)
    try:
        return str(parse_destination(text))
    except ThreadlineError as exc:
        raise ScheduleError("deliver", str(exc)) from exc


def _basic_destination(text: str) -> str:
    kind, sep, target = text.strip().partition(":")
    kind = kind.lower()
    if not sep or kind not in DESTINATION_KINDS or not target.strip():
        raise ScheduleError("deliver", f"{text!r} is not a destination: write "
                            "email:jane@acme.example, slack:#channel, notion:<page id>, "
                            "gmail:jane@acme.example or file:/path/to/folder")
    if kind in ("email", "gmail") and ("@" not in target or " " in target.strip()):
        raise ScheduleError("deliver", f"{text!r}: {target!r} is not an email address")
    return f"{kind}:{target.strip()}"


def _client(conn: Connection, name: str | None) -> str | None:
    if name is None:
        return None
    from threadline.context.notes import find_client

    try:
        return find_client(conn, name)[1]
    except ThreadlineError as exc:
        raise ScheduleError("client", str(exc)) from exc


def add(
    conn: Connection,
    recipe: str,
    *,
    client: str | None = None,
    every: str | None = None,
    before_external_meetings: str | None = None,
    on_storyline_change: bool = False,
    timezone: str | None = None,
    deliver: Sequence[str] = (),
    auto_send: bool = False,
    week: str = "this",
    now: datetime | None = None,
    recipes_dir: Path | None = None,
) -> Schedule:
    """Validate and store a schedule; the error names the setting that is wrong."""
    try:
        return _validated(conn, recipe, client, every, before_external_meetings,
                          on_storyline_change, timezone, deliver, auto_send, week, now,
                          recipes_dir)
    except ScheduleError:
        raise
    except RuleError as exc:
        raise ScheduleError(exc.field, exc.detail) from exc


def _validated(conn: Connection, recipe: str, client: str | None, every: str | None,
               before_external_meetings: str | None, on_storyline_change: bool,
               timezone: str | None, deliver: Sequence[str], auto_send: bool, week: str,
               now: datetime | None, recipes_dir: Path | None) -> Schedule:
    chosen = [every is not None, before_external_meetings is not None, on_storyline_change]
    if sum(chosen) != 1:
        raise ScheduleError("every", "give exactly one of --every, --before-external-meetings "
                            "or --on storyline-status-change")
    try:
        found = get_recipe(recipe, recipes_dir)
    except ThreadlineError as exc:
        raise ScheduleError("recipe", str(exc)) from exc
    zone = timezone or default_zone()
    load_zone(zone)
    destinations = [check_destination(d) for d in deliver]
    if not destinations:
        raise ScheduleError("deliver", "give at least one --deliver destination, e.g. "
                            "--deliver email:jane@acme.example")
    if week not in WEEKS:
        raise ScheduleError("week", f"{week!r}: a scheduled draft covers 'this' week or 'last'")
    name = _client(conn, client)
    if found.audience == "client" and found.scope != "event" and name is None:
        raise ScheduleError("client", f"{recipe} is written for one client: give --client NAME")
    options: dict[str, Any] = {"week": week}
    if every is not None:
        if found.scope != "week":
            raise ScheduleError("recipe", f"{recipe} covers a {found.scope}, not a week: a clock "
                                "schedule drafts weekly recipes (client-update, weekly-digest)")
        kind, rule = "clock", parse_clock(every).text
    elif before_external_meetings is not None:
        if found.scope != "event":
            raise ScheduleError("recipe", f"{recipe} is not about one meeting: use meeting-brief "
                                "with --before-external-meetings")
        lead = parse_duration(before_external_meetings)
        kind, rule = "trigger", f"{BEFORE_MEETING} {format_duration(lead)}"
    else:
        if found.scope != "week" or name is None:
            raise ScheduleError("on", "--on storyline-status-change drafts a weekly recipe for "
                                "one client: give --client NAME and e.g. client-update")
        kind, rule = "trigger", STORYLINE_CHANGE
    now = now or datetime.now(UTC)
    result = conn.execute(schedule.insert().values(
        recipe=found.name, client=name, kind=kind, rule=rule, timezone=zone,
        deliver=destinations, auto_send=auto_send, paused=False, options=options,
        created_at=now,
    ))
    key = result.inserted_primary_key
    assert key is not None
    return get(conn, int(key[0]))


def get(conn: Connection, schedule_id: int) -> Schedule:
    row = conn.execute(select(schedule).where(schedule.c.id == schedule_id)).first()
    if row is None:
        raise ScheduleError("id", f"no schedule #{schedule_id}: `threadline schedule list` "
                            "shows them")
    return _row(row)


def list_schedules(conn: Connection, *, active_only: bool = False) -> list[Schedule]:
    query = select(schedule).order_by(schedule.c.id)
    if active_only:
        query = query.where(schedule.c.paused.is_(False))
    return [_row(r) for r in conn.execute(query)]


def set_paused(conn: Connection, schedule_id: int, paused: bool) -> Schedule:
    get(conn, schedule_id)
    conn.execute(sql_update(schedule).where(schedule.c.id == schedule_id).values(paused=paused))
    return get(conn, schedule_id)


def pause(conn: Connection, schedule_id: int) -> Schedule:
    return set_paused(conn, schedule_id, True)


def resume(conn: Connection, schedule_id: int, now: datetime | None = None) -> Schedule:
    """Resume; slots that passed while paused are not drafted (the runner starts after
    ``resumed_at``): pausing means "not these"."""
    found = set_paused(conn, schedule_id, False)
    options = {**found.options, "resumed_at": (now or datetime.now(UTC)).isoformat()}
    conn.execute(sql_update(schedule).where(schedule.c.id == schedule_id).values(options=options))
    return get(conn, schedule_id)


def remove(conn: Connection, schedule_id: int) -> Schedule:
    """Delete a schedule and its run records; the drafts it made stay."""
    found = get(conn, schedule_id)
    conn.execute(delete(schedule_run).where(schedule_run.c.schedule_id == schedule_id))
    conn.execute(delete(schedule).where(schedule.c.id == schedule_id))
    return found


def update(
    conn: Connection,
    schedule_id: int,
    *,
    every: str | None = None,
    before_external_meetings: str | None = None,
    timezone: str | None = None,
    deliver: Sequence[str] | None = None,
    auto_send: bool | None = None,
) -> Schedule:
    """Change a schedule's rule, time zone, destinations or auto-send; None keeps a setting.

    The kind of rule stays (a clock schedule gets a new clock rule, a meeting trigger a new
    lead time): changing the kind is a different schedule, so remove and add instead. Runs
    already recorded stay, so a slot that ran is not drafted twice after an edit.
    """
    found = get(conn, schedule_id)
    values: dict[str, Any] = {}
    try:
        if every is not None:
            if found.kind != "clock":
                raise ScheduleError("every", f"schedule #{schedule_id} fires on an event, not "
                                    "a clock: remove it and add a clock schedule instead")
            values["rule"] = parse_clock(every).text
        if before_external_meetings is not None:
            if not found.rule.startswith(BEFORE_MEETING):
                raise ScheduleError("before-external-meetings", f"schedule #{schedule_id} is "
                                    "not a meeting-brief trigger: a lead time does not apply")
            lead = parse_duration(before_external_meetings)
            values["rule"] = f"{BEFORE_MEETING} {format_duration(lead)}"
        if timezone is not None:
            load_zone(timezone)
            values["timezone"] = timezone
    except ScheduleError:
        raise
    except RuleError as exc:
        raise ScheduleError(exc.field, exc.detail) from exc
    if deliver is not None:
        destinations = [check_destination(d) for d in deliver]
        if not destinations:
            raise ScheduleError("deliver", "give at least one destination, e.g. "
                                "email:jane@acme.example")
        values["deliver"] = destinations
    if auto_send is not None:
        values["auto_send"] = auto_send
    if values:
        conn.execute(sql_update(schedule).where(schedule.c.id == schedule_id).values(**values))
    return get(conn, schedule_id)


def set_options(conn: Connection, schedule_id: int, options: dict[str, Any]) -> None:
    conn.execute(sql_update(schedule).where(schedule.c.id == schedule_id).values(options=options))


@dataclass
class LastRun:
    slot: str
    due_at: datetime
    ran_at: datetime
    status: str
    late: bool
    draft_id: int | None
    error: str | None


def last_runs(conn: Connection) -> dict[int, LastRun]:
    """Each schedule's most recent run (by due time), for listings."""
    latest = (select(schedule_run.c.schedule_id, func.max(schedule_run.c.id).label("id"))
              .where(schedule_run.c.status != "skipped")
              .group_by(schedule_run.c.schedule_id).subquery())
    rows = conn.execute(select(schedule_run).join(latest, latest.c.id == schedule_run.c.id))
    return {r.schedule_id: LastRun(r.slot, r.due_at, r.ran_at, r.status, bool(r.late),
                                   r.draft_id, r.error) for r in rows}


def recent_runs(conn: Connection, limit: int = 5) -> dict[int, list[LastRun]]:
    """Each schedule's latest runs, newest first, skipped ones included (for the web page,
    which shows whether a slot was late, skipped or held)."""
    rows = conn.execute(select(schedule_run).order_by(schedule_run.c.schedule_id,
                                                      schedule_run.c.due_at.desc(),
                                                      schedule_run.c.id.desc()))
    out: dict[int, list[LastRun]] = {}
    for r in rows:
        runs = out.setdefault(r.schedule_id, [])
        if len(runs) < limit:
            runs.append(LastRun(r.slot, r.due_at, r.ran_at, r.status, bool(r.late), r.draft_id,
                                r.error))
    return out
