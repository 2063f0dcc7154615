"""The review queue: drafts waiting, one draft with its sources, and the review actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import Engine, select
from starlette.responses import Response

from threadline.errors import ThreadlineError
from threadline.produce import drafts
from threadline.web import actions
from threadline.web.config import WebSettings
from threadline.web.draft_view import body_html, sources
from threadline.web.session import flash
from threadline.web.templating import back, page

WAITING = ("draft",)


def waiting(engine: Engine) -> list[dict[str, Any]]:
    """Drafts waiting for review, newest first, through the autonomy queue when present."""
    listed = actions.function(actions.QUEUE, "list_pending")
    with engine.connect() as conn:
        if listed is not None:
            found = actions.call(listed, engine)
            ids = [d if isinstance(d, int) else getattr(d, "id", None) for d in found]
            rows = [drafts.get(conn, i) for i in ids if isinstance(i, int)]
        else:
            rows = drafts.list_drafts(conn, status="draft")
        return [summary(conn, d) for d in rows]


def summary(conn: Any, d: drafts.StoredDraft) -> dict[str, Any]:
    from threadline.store.autonomy_schema import schedule, schedule_run

    report = d.draft.report
    run = conn.execute(select(schedule.c.rule, schedule.c.deliver)
                       .join(schedule_run, schedule_run.c.schedule_id == schedule.c.id)
                       .where(schedule_run.c.draft_id == d.id)).first()
    return {"id": d.id, "title": d.draft.title, "recipe": d.recipe, "client": d.client,
            "slot": d.slot, "status": d.status, "created_at": d.created_at,
            "kept": report.kept, "flagged": report.flagged, "dropped": report.dropped,
            "edited": d.edited_markdown is not None,
            "schedule": run.rule if run else None,
            "deliver": list(run.deliver or []) if run else []}


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/")
    def home() -> Response:
        return back("/queue")

    @r.get("/queue")
    def queue(request: Request) -> Response:
        with engine.connect() as conn:
            recent = [summary(conn, d) for d in drafts.list_drafts(conn)
                      if d.status in ("approved", "sent", "rejected")][:10]
        return page(request, "queue.html", waiting=waiting(engine), recent=recent)

    @r.get("/drafts/{draft_id}")
    def show(request: Request, draft_id: int) -> Response:
        try:
            with engine.connect() as conn:
                stored = drafts.get(conn, draft_id)
                info = summary(conn, stored)
        except drafts.DraftError as exc:
            return page(request, "error.html", status_code=404, message=str(exc))
        return page(request, "draft.html", d=stored, info=info, body=body_html(stored),
                    sources=sources(stored), markdown=actions.markdown_of(stored),
                    report=stored.draft.report, deliveries=actions.deliveries_of(engine, draft_id),
                    can_send_self=actions.function(actions.QUEUE, "send_to_self") is not None)

    def act(request: Request, draft_id: int, what: str, reason: str = "",
            deliver: str = "", force: bool = False) -> Response:
        now = settings.now()
        target = f"/drafts/{draft_id}"
        try:
            if what == "approve":
                targets = [t.strip() for t in deliver.replace("\n", ",").split(",") if t.strip()]
                flash(request, actions.approve(engine, draft_id, now, targets, force))
            elif what == "reject":
                flash(request, actions.reject(engine, draft_id, reason, now))
            elif what == "send-self":
                flash(request, actions.send_to_self(engine, draft_id, now,
                                                    settings.self_address))
            elif what == "regenerate":
                new_id, message = actions.regenerate(engine, draft_id, now)
                flash(request, message)
                target = f"/drafts/{new_id}"
        except ThreadlineError as exc:
            flash(request, str(exc))
        return back(target)

    @r.post("/drafts/{draft_id}/approve")
    def approve(request: Request, draft_id: int, deliver: Annotated[str, Form()] = "",
                force: Annotated[bool, Form()] = False) -> Response:
        return act(request, draft_id, "approve", deliver=deliver, force=force)

    @r.post("/drafts/{draft_id}/reject")
    def reject(request: Request, draft_id: int,
               reason: Annotated[str, Form()] = "") -> Response:
        return act(request, draft_id, "reject", reason)

    @r.post("/drafts/{draft_id}/send-self")
    def send_self(request: Request, draft_id: int) -> Response:
        return act(request, draft_id, "send-self")

    @r.post("/drafts/{draft_id}/regenerate")
    def regenerate(request: Request, draft_id: int) -> Response:
        return act(request, draft_id, "regenerate")

    @r.post("/drafts/{draft_id}/edit")
    def edit(request: Request, draft_id: int,
             markdown: Annotated[str, Form()] = "") -> Response:
        try:
            saved = actions.save_edit(engine, draft_id, markdown, settings.now())
            flash(request, "Saved your edit." if saved else "Nothing changed.")
        except ThreadlineError as exc:
            flash(request, str(exc))
        return back(f"/drafts/{draft_id}")

    return r
