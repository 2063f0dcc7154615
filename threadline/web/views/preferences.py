"""Learned preferences: each with the edits it came from; pin, unpin and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from starlette.responses import Response

from threadline.errors import ThreadlineError
from threadline.produce import preferences as prefs
from threadline.produce.learn import evidence_details
from threadline.web.config import WebSettings
from threadline.web.session import flash
from threadline.web.templating import back, page

ACTIONS = {"pin": (prefs.pin, "pinned: learning will not change it"),
           "unpin": (prefs.unpin, "unpinned: learning may refine it again"),
           "delete": (prefs.delete, "deleted: it is no longer applied, and the same edits "
                      "will not bring it back")}


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/preferences")
    def preferences(request: Request) -> Response:
        with engine.connect() as conn:
            found = prefs.list_preferences(conn)
            evidence = evidence_details(conn, found)
        return page(request, "preferences.html", prefs=found, evidence=evidence,
                    available=True)

    @r.post("/preferences/{pref_id}/{what}")
    def change(request: Request, pref_id: int, what: str) -> Response:
        if what not in ACTIONS:
            flash(request, f"{what!r} is not something a preference can do: pin, unpin or "
                  "delete.")
            return back("/preferences")
        fn, done = ACTIONS[what]
        try:
            with engine.begin() as conn:
                fn(conn, pref_id)
            flash(request, f"Preference #{pref_id} {done}.")
        except ThreadlineError as exc:
            flash(request, str(exc))
        return back("/preferences")

    return r
