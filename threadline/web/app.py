"""create_app(engine, settings): the FastAPI app, its guard, pages, API and static files."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from threadline.web import api, auth, users
from threadline.web.config import WebSettings
from threadline.web.guard import Guard
from threadline.web.templating import HERE
from threadline.web.views import (
    ask,
    clients,
    connections,
    people,
    preferences,
    queue,
    schedules,
    timeline,
)

PAGES = (queue, timeline, connections, clients, people, schedules, preferences, ask)
# swagger-ui-dist 5 (Apache-2.0, LICENSE alongside), copied from its npm package.
SWAGGER = "/static/swagger"


def create_app(engine: Engine, web_settings: WebSettings | None = None) -> FastAPI:
    config = web_settings or WebSettings()
    users.dummy_hash()  # before the first sign-in, so an unknown name costs what a known one does
    # The schema and docs are served by routes of our own, behind the sign-in.
    app = FastAPI(title="Threadline", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(Guard, engine=engine, settings=config)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    routers = [auth.router(engine, config), *(m.router(engine, config) for m in PAGES),
               api.router(engine, config)]
    for router in routers:
        app.include_router(router)
    app.state.routers = routers

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        # Served from our own static files, not a CDN: Threadline runs offline. The
        # validator badge would call validator.swagger.io, so it is off.
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json", title="Threadline API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})

    return app


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route, for tests that must cover each one (the guard's)."""
    found: list[tuple[str, str]] = []
    candidates = [*app.routes, *(r for router in app.state.routers for r in router.routes)]
    for route in candidates:
        if isinstance(route, Route):
            found += [(method, route.path) for method in sorted(route.methods or [])]
    return sorted(set(found))
