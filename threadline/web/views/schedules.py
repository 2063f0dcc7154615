"""Schedules: list with recent runs; add, edit, pause, resume and remove through forms.

Everything goes through threadline.autonomy.schedules, so the web app accepts exactly what
`threadline schedule add` accepts; its ScheduleError names the setting that is wrong, and
the form shows the message next to that field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import Engine
from starlette.responses import Response

from threadline.autonomy import schedules as store
from threadline.autonomy.rules import BEFORE_MEETING, default_zone
from threadline.context.clients import list_clients
from threadline.produce.recipes import load_recipes
from threadline.web.config import WebSettings
from threadline.web.session import flash
from threadline.web.templating import back, page

TRIGGERS = ("every", "before", "storyline")
# Run statuses that deserve a word of warning on the page.
NOTABLE = {"skipped": "warn", "held": "warn", "failed": "warn", "taken": "muted"}


def split_destinations(text: str) -> list[str]:
    """One destination per line (commas too): what the form's textarea holds."""
    return [d.strip() for line in text.splitlines() for d in line.split(",") if d.strip()]


def _choices(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        names = sorted(c.name for c in list_clients(conn))
    return {"recipes": sorted(load_recipes()), "clients": names}


def _listing(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = store.list_schedules(conn)
        runs = store.recent_runs(conn)
    return [{"s": s, "runs": runs.get(s.id, [])} for s in found]


def _values_of(s: store.Schedule) -> dict[str, Any]:
    lead = s.rule.split()[1] if s.rule.startswith(BEFORE_MEETING) else ""
    trigger = "every" if s.kind == "clock" else ("before" if lead else "storyline")
    return {"recipe": s.recipe, "client": s.client or "", "trigger": trigger,
            "every": s.rule if s.kind == "clock" else "", "before": lead,
            "timezone": s.timezone, "deliver": "\n".join(s.deliver), "auto_send": s.auto_send,
            "week": s.options.get("week", "this")}


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def form_page(request: Request, values: dict[str, Any], errors: dict[str, str],
                  editing: store.Schedule | None = None, status: int = 200) -> Response:
        return page(request, "schedule_form.html", status_code=status, values=values,
                    errors=errors, editing=editing, triggers=TRIGGERS, **_choices(engine))

    @r.get("/schedules")
    def schedules(request: Request) -> Response:
        return page(request, "schedules.html", schedules=_listing(engine), notable=NOTABLE)

    @r.get("/schedules/new")
    def new(request: Request) -> Response:
        values = {"recipe": "client-update", "client": "", "trigger": "every",
                  "every": "fri 15:00", "before": "2h", "timezone": default_zone(),
                  "deliver": "", "auto_send": False, "week": "this"}
        return form_page(request, values, {})

    @r.post("/schedules/new")
    def create(request: Request, recipe: Annotated[str, Form()] = "",
               client: Annotated[str, Form()] = "", trigger: Annotated[str, Form()] = "every",
               every: Annotated[str, Form()] = "", before: Annotated[str, Form()] = "",
               timezone: Annotated[str, Form()] = "", deliver: Annotated[str, Form()] = "",
               auto_send: Annotated[str, Form()] = "", week: Annotated[str, Form()] = "this",
               ) -> Response:
        values = {"recipe": recipe, "client": client, "trigger": trigger, "every": every,
                  "before": before, "timezone": timezone, "deliver": deliver,
                  "auto_send": bool(auto_send), "week": week}
        try:
            with engine.begin() as conn:
                made = store.add(
                    conn, recipe.strip(), client=client.strip() or None,
                    every=every if trigger == "every" else None,
                    before_external_meetings=before if trigger == "before" else None,
                    on_storyline_change=trigger == "storyline",
                    timezone=timezone.strip() or None, deliver=split_destinations(deliver),
                    auto_send=bool(auto_send), week=week, now=settings.now())
        except store.ScheduleError as exc:
            return form_page(request, values, {exc.field: exc.detail}, status=400)
        flash(request, f"Added schedule #{made.id}: {made.recipe} {made.when}.")
        return back("/schedules")

    @r.get("/schedules/{schedule_id}/edit")
    def edit(request: Request, schedule_id: int) -> Response:
        try:
            with engine.connect() as conn:
                found = store.get(conn, schedule_id)
        except store.ScheduleError as exc:
            return page(request, "error.html", status_code=404, message=exc.detail)
        return form_page(request, _values_of(found), {}, editing=found)

    @r.post("/schedules/{schedule_id}/edit")
    def save(request: Request, schedule_id: int, every: Annotated[str, Form()] = "",
             before: Annotated[str, Form()] = "", timezone: Annotated[str, Form()] = "",
             deliver: Annotated[str, Form()] = "", auto_send: Annotated[str, Form()] = "",
             ) -> Response:
        try:
            with engine.connect() as conn:
                found = store.get(conn, schedule_id)
        except store.ScheduleError as exc:
            flash(request, exc.detail)
            return back("/schedules")
        values = {**_values_of(found), "every": every, "before": before,
                  "timezone": timezone, "deliver": deliver, "auto_send": bool(auto_send)}
        try:
            with engine.begin() as conn:
                store.update(conn, schedule_id,
                             every=every if found.kind == "clock" else None,
                             before_external_meetings=(before if values["trigger"] == "before"
                                                       else None),
                             timezone=timezone.strip() or found.timezone,
                             deliver=split_destinations(deliver), auto_send=bool(auto_send))
        except store.ScheduleError as exc:
            return form_page(request, values, {exc.field: exc.detail}, editing=found,
                             status=400)
        flash(request, f"Saved schedule #{schedule_id}.")
        return back("/schedules")

    def act(request: Request, schedule_id: int, what: str) -> Response:
        try:
            with engine.begin() as conn:
                if what == "pause":
                    store.pause(conn, schedule_id)
                elif what == "resume":
                    store.resume(conn, schedule_id, settings.now())
                else:
                    store.remove(conn, schedule_id)
            done = {"pause": "paused", "resume": "resumed", "remove": "removed"}[what]
            flash(request, f"Schedule #{schedule_id} {done}.")
        except store.ScheduleError as exc:
            flash(request, exc.detail)
        return back("/schedules")

    @r.post("/schedules/{schedule_id}/pause")
    def pause(request: Request, schedule_id: int) -> Response:
        return act(request, schedule_id, "pause")

    @r.post("/schedules/{schedule_id}/resume")
    def resume(request: Request, schedule_id: int) -> Response:
        return act(request, schedule_id, "resume")

    @r.post("/schedules/{schedule_id}/remove")
    def remove(request: Request, schedule_id: int,
               confirm: Annotated[str, Form()] = "") -> Response:
        # The confirmation is a checkbox in the form (and a dialog when scripts run), so a
        # stray click does not delete a schedule and its run history.
        if confirm != "yes":
            flash(request, f"Schedule #{schedule_id} was not removed: tick “yes, remove” "
                  "to confirm.")
            return back("/schedules")
        return act(request, schedule_id, "remove")

    return r
