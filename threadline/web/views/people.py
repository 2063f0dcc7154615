"""People: identities, suggestions, merge and split."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import Engine
from starlette.responses import Response

from threadline.context.people import merge, split
from threadline.context.people_query import PeopleError, list_people, show_person, suggestions
from threadline.errors import ThreadlineError
from threadline.web.config import WebSettings
from threadline.web.session import flash
from threadline.web.templating import back, page


def router(engine: Engine, settings: WebSettings) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/people")
    def people(request: Request, q: str | None = None) -> Response:
        with engine.connect() as conn:
            found = list_people(conn, q or None)
            maybe = suggestions(conn)[:20]
        return page(request, "people.html", people=found, q=q or "", suggestions=maybe)

    @r.get("/people/{person_id}")
    def person(request: Request, person_id: int) -> Response:
        try:
            with engine.connect() as conn:
                detail = show_person(conn, str(person_id))
        except PeopleError as exc:
            return page(request, "error.html", status_code=404, message=str(exc))
        return page(request, "person.html", p=detail)

    @r.post("/people/merge")
    def merge_people(request: Request, a: Annotated[str, Form()] = "",
                     b: Annotated[str, Form()] = "") -> Response:
        try:
            with engine.begin() as conn:
                pid = merge(conn, a.strip(), b.strip(), settings.now())
            flash(request, f"Merged {a} and {b} into person #{pid}.")
            return back(f"/people/{pid}")
        except ThreadlineError as exc:
            flash(request, str(exc))
            return back("/people")

    @r.post("/people/split")
    def split_identity(request: Request, identity: Annotated[str, Form()] = "") -> Response:
        try:
            with engine.begin() as conn:
                pid = split(conn, identity.strip(), settings.now())
            flash(request, f"Split {identity} into person #{pid}.")
            return back(f"/people/{pid}")
        except ThreadlineError as exc:
            flash(request, str(exc))
            return back("/people")

    return r
