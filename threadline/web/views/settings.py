"""Schedules (pause and resume) and learned preferences (pin, unpin, delete)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Engine, select, update
from starlette.responses import Response

from threadline.errors import ThreadlineError
from threadline.store.autonomy_schema import schedule
from threadline.web import actions
from threadline.web.config import WebSettings
from threadline.web.session import flash
from threadline.web.templating import back, page

PREFS = "threadline.produce.preferences"


def list_schedules(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schedule).order_by(schedule.c.id)).all()
    return [{"id": r.id, "recipe": r.recipe, "client": r.client, "kind": r.kind,
             "rule": r.rule, "timezone": r.timezone, "deliver": list(r.deliver or []),
             "auto_send": bool(r.auto_send), "paused": bool(r.paused)} for r in rows]


def set_paused(engine: Engine, schedule_id: int, paused: bool) -> str:
    """Through the schedules module when it has pause/resume; the one column otherwise."""
    fn = actions.function(actions.SCHEDULES, "pause" if paused else "resume")
    if fn is not None:
        actions.call(fn, engine, schedule_id)
    else:
        with engine.begin() as conn:
            done = conn.execute(update(schedule).where(schedule.c.id == schedule_id)
                                .values(paused=paused)).rowcount
        if not done:
            return f"No schedule {schedule_id}."
    return f"Schedule {schedule_id} {'paused' if paused else 'resumed'}."


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/schedules")
    def schedules(request: Request) -> Response:
        return page(request, "schedules.html", schedules=list_schedules(engine))

    @r.post("/schedules/{schedule_id}/pause")
    def pause(request: Request, schedule_id: int) -> Response:
        flash(request, set_paused(engine, schedule_id, True))
        return back("/schedules")

    @r.post("/schedules/{schedule_id}/resume")
    def resume(request: Request, schedule_id: int) -> Response:
        flash(request, set_paused(engine, schedule_id, False))
        return back("/schedules")

    @r.get("/preferences")
    def preferences(request: Request) -> Response:
        prefs = actions.module(PREFS)
        found = []
        if prefs is not None:
            with engine.connect() as conn:
                found = prefs.list_preferences(conn)
        return page(request, "preferences.html", prefs=found, available=prefs is not None)

    @r.post("/preferences/{pref_id}/{what}")
    def change(request: Request, pref_id: int, what: str) -> Response:
        prefs = actions.module(PREFS)
        fn = getattr(prefs, what, None) if what in ("pin", "unpin", "delete") else None
        if fn is None:
            flash(request, f"Cannot {what} preferences in this build.")
            return back("/preferences")
        try:
            with engine.begin() as conn:
                fn(conn, pref_id)
            flash(request, f"Preference {pref_id}: {what} done.")
        except ThreadlineError as exc:
            flash(request, str(exc))
        return back("/preferences")

    return r
