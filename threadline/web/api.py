"""The JSON API (the same session, or ``Authorization: Bearer TOKEN``). Its OpenAPI schema
is served at /api/openapi.json and browsable at /api/docs, behind the same sign-in."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import Engine

from threadline.connectors.connections import list_connections
from threadline.context.ask import ask
from threadline.context.clients import list_clients
from threadline.context.people_query import list_people
from threadline.context.weeks import parse_week
from threadline.errors import ThreadlineError
from threadline.produce import drafts
from threadline.web import actions
from threadline.web.config import WebSettings
from threadline.web.draft_view import sources
from threadline.web.timeline_data import as_json, week_timeline
from threadline.web.views.connections import describe, start_sync
from threadline.web.views.queue import summary, waiting


class Edit(BaseModel):
    markdown: str


class Reason(BaseModel):
    reason: str = ""


class Approve(BaseModel):
    deliver: list[str] = []
    """Destinations (email:…, slack:#…, notion:…, file:…); default: the schedule's."""
    force: bool = False
    """Approve even with claims the verifier flagged (after checking them)."""


class Done(BaseModel):
    message: str
    draft_id: int | None = None


def _source(cs: Any) -> dict[str, Any]:
    s = cs.source
    return {"n": cs.n, "id": s.id, "platform": s.platform, "container": s.container,
            "author": s.author, "occurred_at": s.occurred_at, "title": s.title,
            "snippet": cs.snippet, "permalink": cs.url}


def _fail(exc: ThreadlineError) -> HTTPException:
    code = 404 if "no draft" in str(exc).lower() else 409
    return HTTPException(status_code=code, detail=str(exc))


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(prefix="/api", tags=["threadline"])

    @r.get("/drafts", summary="Drafts waiting for review")
    def list_waiting() -> list[dict[str, Any]]:
        return waiting(engine)

    @r.get("/drafts/{draft_id}", summary="One draft: Markdown, sources, verification report")
    def get_draft(draft_id: int) -> dict[str, Any]:
        try:
            with engine.connect() as conn:
                stored = drafts.get(conn, draft_id)
                info = summary(conn, stored)
        except ThreadlineError as exc:
            raise _fail(exc) from exc
        return {**info, "markdown": actions.markdown_of(stored),
                "report": stored.draft.report.model_dump(mode="json"),
                "sources": [_source(s) for s in sources(stored)],
                "deliveries": actions.deliveries_of(engine, draft_id)}

    @r.get("/drafts/{draft_id}/sources/{n}", summary="The source behind citation [n]")
    def get_source(draft_id: int, n: int) -> dict[str, Any]:
        try:
            with engine.connect() as conn:
                stored = drafts.get(conn, draft_id)
        except ThreadlineError as exc:
            raise _fail(exc) from exc
        found = next((s for s in sources(stored) if s.n == n), None)
        if found is None:
            raise HTTPException(404, f"draft #{draft_id} has no citation [{n}]")
        return _source(found)

    @r.post("/drafts/{draft_id}/edit", summary="Save an edit (recorded for learning)")
    def edit(draft_id: int, body: Edit) -> Done:
        try:
            saved = actions.save_edit(engine, draft_id, body.markdown, settings.now())
        except ThreadlineError as exc:
            raise _fail(exc) from exc
        return Done(message="saved" if saved else "nothing changed", draft_id=draft_id)

    @r.post("/drafts/{draft_id}/approve", summary="Approve (and queue its deliveries)")
    def approve(draft_id: int, body: Approve | None = None) -> Done:
        body = body or Approve()
        try:
            return Done(message=actions.approve(engine, draft_id, settings.now(), body.deliver,
                                                body.force), draft_id=draft_id)
        except ThreadlineError as exc:
            raise _fail(exc) from exc

    @r.post("/drafts/{draft_id}/reject", summary="Reject, with a reason")
    def reject(draft_id: int, body: Reason) -> Done:
        try:
            return Done(message=actions.reject(engine, draft_id, body.reason, settings.now()),
                        draft_id=draft_id)
        except ThreadlineError as exc:
            raise _fail(exc) from exc

    @r.post("/drafts/{draft_id}/send-self", summary="Send the draft to yourself")
    def send_self(draft_id: int) -> Done:
        try:
            message = actions.send_to_self(engine, draft_id, settings.now(),
                                           settings.self_address)
        except actions.NotAvailable as exc:
            raise HTTPException(501, str(exc)) from exc
        except ThreadlineError as exc:
            raise _fail(exc) from exc
        return Done(message=message, draft_id=draft_id)

    @r.post("/drafts/{draft_id}/regenerate", summary="Produce the draft again")
    def regenerate(draft_id: int) -> Done:
        try:
            new_id, message = actions.regenerate(engine, draft_id, settings.now())
        except ThreadlineError as exc:
            raise _fail(exc) from exc
        return Done(message=message, draft_id=new_id)

    @r.get("/timeline", summary="A client's week: storyline lanes and changes")
    def timeline(client: str, week: str) -> dict[str, Any]:
        try:
            wk = parse_week(week, today=settings.now().date())
            with engine.connect() as conn:
                return as_json(week_timeline(conn, client, wk))
        except ThreadlineError as exc:
            raise HTTPException(400, str(exc)) from exc

    @r.get("/connections", summary="Connections and their health (never their secrets)")
    def connections() -> list[dict[str, Any]]:
        now = settings.now()
        return [describe(c, now) for c in list_connections(engine)]

    @r.post("/connections/{connection_id}/sync", summary="Start one sync pass")
    def sync(connection_id: int) -> Done:
        if connection_id not in {c.id for c in list_connections(engine)}:
            raise HTTPException(404, f"no connection {connection_id}")
        started = start_sync(engine, connection_id)
        return Done(message="started" if started else "already running")

    @r.get("/clients", summary="Clients with item counts and rules")
    def clients() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return [asdict(c) for c in list_clients(conn)]

    @r.get("/people", summary="People across platforms")
    def people(q: str | None = None) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return [p.model_dump() for p in list_people(conn, q)]

    @r.get("/schedules", summary="Schedules")
    def schedules() -> list[dict[str, Any]]:
        from threadline.autonomy.schedules import list_schedules

        with engine.connect() as conn:
            return [{"id": s.id, "recipe": s.recipe, "client": s.client, "kind": s.kind,
                     "rule": s.rule, "timezone": s.timezone, "deliver": s.deliver,
                     "auto_send": s.auto_send, "paused": s.paused}
                    for s in list_schedules(conn)]

    @r.get("/preferences", summary="Learned preferences")
    def preferences() -> list[dict[str, Any]]:
        from threadline.produce.preferences import list_preferences

        with engine.connect() as conn:
            return [p.model_dump(mode="json") for p in list_preferences(conn)]

    @r.get("/ask", summary="A cited answer from the store")
    def ask_json(q: str, client: str | None = None) -> dict[str, Any]:
        try:
            with engine.connect() as conn:
                return ask(conn, q, client_name=client, today=settings.now().date()).as_json()
        except ThreadlineError as exc:
            raise HTTPException(400, str(exc)) from exc

    return r
