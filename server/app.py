"""The one FastAPI application: channel webhooks, health, and (later) the admin API and console."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount

from admin_api import build_router
from admin_api.console import STATIC, Console, Refused
from db.migrate import is_current
from zaitaku_desk import __version__, handoff
from zaitaku_desk.logs import RequestIds
from zaitaku_desk.metrics import REGISTRY, DatabaseCollector
from zaitaku_desk.runtime import Runtime
from zaitaku_desk.settings import Settings, get_settings
from zaitaku_desk.webhooks import webhook_router

log = logging.getLogger(__name__)
PAGES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))


def api_reference(schema: dict[str, Any]) -> str:
    """/docs as one HTML page: each operation with its parameters, body and answers."""
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {})
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append({
                "id": op.get("operationId", ""), "method": method, "path": path, "summary": op.get("summary", ""),
                "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                "type": _type_of(p.get("schema", {}))} for p in op.get("parameters", [])],
                "body": ", ".join(f"{kind}: {_type_of(c.get('schema', {}))}" for kind, c in body.items()),
                "responses": [(code, r.get("description", "")) for code, r in op.get("responses", {}).items()]})
    return PAGES.get_template("docs.html").render(schema=schema, by_tag=by_tag)


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type_of(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list[{_type_of(schema.get('items', {}))}]"
    return str(schema.get("enum") or schema.get("type") or "any")


def allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    """Every method some route of `app` takes at the request's path, OPTIONS included."""
    methods = {"OPTIONS"}
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        trial = {**scope, "method": method}
        if any(isinstance(route, BaseRoute) and route.matches(trial)[0] == Match.FULL for route in app.router.routes):
            methods.add(method)
    return sorted(methods)


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.run_db(runtime.prepare)
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="zaitaku-desk", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="在宅医療・介護 相談デスク: LINE / Slack webhooks and the staff API")
    app.state.runtime = runtime
    app.include_router(webhook_router(runtime))
    app.state.console = Console(runtime)  # the console's guards find it here (admin_api.console)
    app.include_router(build_router(runtime, app.state.console))
    app.mount("/admin/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(RequestIds)

    @app.exception_handler(handoff.HandoffError)
    async def refused_act(_request: Request, exc: handoff.HandoffError) -> JSONResponse:
        """A staff act the conversation's state does not allow: 409 (404 when it does not exist)."""
        code = 404 if isinstance(exc, handoff.ConversationNotFound) else 409
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(Refused)
    async def console_refused(_request: Request, exc: Refused) -> Response:
        return exc.response

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
        """A value no column or date can hold (an id past 2³¹ on PostgreSQL or 2⁶³ on SQLite, the year
        9999): the request's fault, answered 422; nothing was written (the transaction rolls back)."""
        return JSONResponse({"detail": "値が大きすぎるか、範囲外です。"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI's answer, except that a method not allowed names every method the path takes (Starlette
        names only the first route's), and OPTIONS is answered with them."""
        mounted = any(isinstance(r, Mount) and request.url.path.startswith(r.path + "/") for r in app.router.routes)
        if exc.status_code != 405 or mounted:  # static files: Starlette's own answer
            return await http_exception_handler(request, exc)
        allowed = allowed_methods(app, request.scope)
        headers = {"Allow": ", ".join(allowed)}
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers=headers)

    database_metrics = CollectorRegistry()
    database_metrics.register(DatabaseCollector(runtime.db))

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics (counts and ages only; no text, no ids)",
             response_class=PlainTextResponse)
    async def prometheus_metrics(request: Request) -> PlainTextResponse:
        token = runtime.settings.metrics_token
        given = request.headers.get("authorization", "")
        if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return PlainTextResponse("METRICS_TOKEN is set: send it as a Bearer token\n", status_code=401)
        body = generate_latest(REGISTRY) + await runtime.run_db(generate_latest, database_metrics)
        return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        """The API reference from the OpenAPI schema, drawn here: the desk often runs on a closed
        hospital network where Swagger UI's CDN cannot be reached."""
        return HTMLResponse(api_reference(app.openapi()))

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        """No icon (browsers ask for one on every page; a 404 would show as an error in their console)."""
        return Response(status_code=204)

    @app.get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="The database is reachable and migrations are current")
    async def readyz() -> JSONResponse:
        def check() -> tuple[bool, str]:
            try:
                with runtime.db.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                if not is_current(runtime.db.engine):
                    return False, "database migrations are not current (run: zaitaku-desk db upgrade)"
                return True, "ok"
            except Exception as exc:  # any failure means not ready, with the reason
                return False, f"database unreachable: {type(exc).__name__}"
        ready, reason = await runtime.run_db(check)
        channels = {"line": runtime.settings.line_enabled, "slack": runtime.settings.slack_enabled}
        return JSONResponse({"status": "ready" if ready else "not ready", "reason": reason, "channels": channels},
                            status_code=200 if ready else 503)

    return app
