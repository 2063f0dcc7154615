"""``threadline schedule`` (add, list, pause, resume, remove) and ``threadline queue``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from threadline.autonomy.schedules import Schedule

# autonomy.queue.SELF_ENV, written out so start-up skips importing the layer.
SELF_ENV = "THREADLINE_SELF"

schedule_app = typer.Typer(help="Deliverables drafted on a clock or on events.",
                           no_args_is_help=True)
queue_app = typer.Typer(help="Drafts waiting for review: approve, reject, regenerate.",
                        invoke_without_command=True)
app.add_typer(schedule_app, name="schedule")
app.add_typer(queue_app, name="queue")


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "—"


@schedule_app.command("add")
def add(
    ctx: typer.Context,
    recipe: str = typer.Argument(..., help="client-update, weekly-digest, meeting-brief, ..."),
    client: str | None = typer.Option(None, "--client", help="Client name."),
    every: str | None = typer.Option(
        None, "--every", help="'fri 15:00', 'mon,wed 09:30', 'daily 08:00', 'weekdays 17:00' "
        "or five-field cron."),
    before: str | None = typer.Option(
        None, "--before-external-meetings", help="Lead time, e.g. 2h: a brief before each "
        "meeting with someone from outside."),
    on: str | None = typer.Option(None, "--on", help="storyline-status-change"),
    tz: str | None = typer.Option(None, "--tz", help="IANA time zone (default: THREADLINE_TZ "
                                  "or this machine's)."),
    deliver: list[str] = typer.Option(
        [], "--deliver", help="email:ADDR, gmail:ADDR, slack:#channel, notion:PAGE, file:PATH "
        "(repeat for several)."),
    auto_send: bool = typer.Option(False, "--auto-send", help="Send without review (a draft "
                                   "with flagged claims still waits)."),
    week: str = typer.Option("this", "--week", help="The week a clock slot covers: 'this' "
                             "(the slot's week) or 'last'."),
) -> None:
    """Add a schedule: exactly one of --every, --before-external-meetings, --on."""
    if on is not None and on != "storyline-status-change":
        fail(f"--on {on!r}: the event trigger is storyline-status-change")
    from threadline.autonomy import schedules as store

    try:
        with settings(ctx).engine().begin() as conn:
            found = store.add(conn, recipe, client=client, every=every,
                              before_external_meetings=before, on_storyline_change=on is not None,
                              timezone=tz, deliver=deliver, auto_send=auto_send, week=week)
    except ThreadlineError as exc:
        fail(str(exc))
    mode = "sent without review" if found.auto_send else "waiting in `threadline queue`"
    console.print(f"schedule #{found.id}: {found.recipe}"
                  f"{' for ' + found.client if found.client else ''}, {found.when}; drafts "
                  f"{mode}, for {', '.join(found.deliver)}")


@schedule_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Schedules, with their last run."""
    from threadline.autonomy import schedules as store

    with settings(ctx).engine().connect() as conn:
        found = store.list_schedules(conn)
        runs = store.last_runs(conn)
    if as_json:
        rows: list[dict[str, Any]] = []
        for s in found:
            run = runs.get(s.id)
            rows.append({
                "id": s.id, "recipe": s.recipe, "client": s.client, "kind": s.kind,
                "rule": s.rule, "timezone": s.timezone, "deliver": s.deliver,
                "auto_send": s.auto_send, "paused": s.paused,
                "last_run": None if run is None else {
                    "slot": run.slot, "status": run.status, "late": run.late,
                    "draft_id": run.draft_id, "due_at": run.due_at.isoformat()}})
        console.out(json.dumps(rows, indent=2), highlight=False)
        return
    if not found:
        console.print("no schedules yet: `threadline schedule add client-update --client NAME "
                      "--every 'fri 15:00' --deliver email:ADDR`")
        return
    table = Table("id", "recipe", "client", "when", "deliver", "mode", "last run")
    for s in found:
        run = runs.get(s.id)
        last = "—" if run is None else (
            f"{run.status}{' (late)' if run.late else ''} {run.slot}"
            + (f" → #{run.draft_id}" if run.draft_id else ""))
        mode = "paused" if s.paused else "auto-send" if s.auto_send else "review"
        table.add_row(str(s.id), s.recipe, s.client or "—", s.when, "\n".join(s.deliver), mode,
                      last)
    console.print(table)


def _change(ctx: typer.Context, schedule_id: int, action: str) -> Schedule:
    from threadline.autonomy import schedules as store

    try:
        with settings(ctx).engine().begin() as conn:
            if action == "pause":
                return store.pause(conn, schedule_id)
            if action == "resume":
                return store.resume(conn, schedule_id)
            return store.remove(conn, schedule_id)
    except ThreadlineError as exc:
        fail(str(exc))


@schedule_app.command("pause")
def pause(ctx: typer.Context, schedule_id: int = typer.Argument(...)) -> None:
    """Stop drafting; slots passing while paused are not drafted later."""
    found = _change(ctx, schedule_id, "pause")
    console.print(f"schedule #{found.id} paused")


@schedule_app.command("resume")
def resume(ctx: typer.Context, schedule_id: int = typer.Argument(...)) -> None:
    """Draft again from the next slot."""
    found = _change(ctx, schedule_id, "resume")
    console.print(f"schedule #{found.id} resumed: {found.when}")


@schedule_app.command("remove")
def remove(ctx: typer.Context, schedule_id: int = typer.Argument(...)) -> None:
    """Delete the schedule (its drafts stay)."""
    found = _change(ctx, schedule_id, "remove")
    console.print(f"schedule #{found.id} removed")


# -- the review queue ------------------------------------------------------------------


@queue_app.callback()
def pending(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Drafts waiting for review, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from threadline.autonomy import queue as review

    with settings(ctx).engine().connect() as conn:
        found = review.list_pending(conn)
    if as_json:
        console.out(json.dumps([{
            "id": p.id, "recipe": p.recipe, "client": p.client, "slot": p.slot,
            "title": p.title, "kept": p.kept, "flagged": p.flagged, "dropped": p.dropped,
            "schedule_id": p.schedule_id, "deliver": p.deliver, "late": p.late,
            "held": p.held, "created_at": p.created_at.isoformat(),
        } for p in found], indent=2), highlight=False)
        return
    if not found:
        console.print("nothing waiting for review")
        return
    table = Table("id", "draft", "claims", "schedule", "deliver to", "created")
    for p in found:
        claims = f"{p.kept} kept, {p.flagged} flagged, {p.dropped} dropped"
        origin = "—" if p.schedule_id is None else (
            f"#{p.schedule_id} {p.schedule_when}{' (late)' if p.late else ''}"
            + (f"\nheld: {p.held}" if p.held else ""))
        table.add_row(str(p.id), p.title, claims, origin, "\n".join(p.deliver) or "—",
                      _when(p.created_at))
    console.print(table)
    console.print("`threadline drafts show ID` to read one; `threadline queue approve ID`")


@queue_app.command("approve")
def approve(
    ctx: typer.Context,
    draft_id: int = typer.Argument(...),
    deliver: list[str] = typer.Option(
        [], "--deliver", help="Destinations (default: the schedule's)."),
    note: str | None = typer.Option(None, "--note", help="Kept with the approval."),
    force: bool = typer.Option(False, "--force", help="Approve despite flagged claims."),
) -> None:
    """Approve a draft and queue its deliveries."""
    from threadline.autonomy import queue as review

    try:
        with settings(ctx).engine().begin() as conn:
            done = review.approve(conn, draft_id, deliver or None, note, force=force)
    except ThreadlineError as exc:
        fail(str(exc))
    console.print(str(done))


@queue_app.command("send-to-self")
def send_to_self(
    ctx: typer.Context,
    draft_id: int = typer.Argument(...),
    to: str | None = typer.Option(None, "--to", help=f"Your address (or set {SELF_ENV})."),
) -> None:
    """Send the draft to yourself to read it as the client would (it stays in review)."""
    from threadline.autonomy import queue as review

    try:
        said = review.send_to_self(settings(ctx).engine(), draft_id, to)
    except ThreadlineError as exc:
        fail(str(exc))
    console.print(said)


@queue_app.command("reject")
def reject(
    ctx: typer.Context,
    draft_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why: kept with the draft."),
) -> None:
    """Reject a draft; the reason is kept."""
    from threadline.autonomy import queue as review

    try:
        with settings(ctx).engine().begin() as conn:
            review.reject(conn, draft_id, reason)
    except ThreadlineError as exc:
        fail(str(exc))
    console.print(f"draft #{draft_id} rejected: {reason}")


@queue_app.command("regenerate")
def regenerate(ctx: typer.Context, draft_id: int = typer.Argument(...)) -> None:
    """Draft the same deliverable again from the current store; the old one is superseded."""
    from threadline.autonomy import queue as review
    from threadline.llm.config import load_settings

    try:
        fresh = review.regenerate(settings(ctx).engine(), draft_id, settings=load_settings(),
                                  now=datetime.now(UTC))
    except ThreadlineError as exc:
        fail(str(exc))
    report = fresh.draft.report
    console.print(f"draft #{fresh.id} replaces #{draft_id}: {report.kept} kept, "
                  f"{report.flagged} flagged, {report.dropped} dropped")
