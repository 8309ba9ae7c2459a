"""The staff side: admin API under /admin/api, the console under /admin, the try-out page at /try."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from admin_api import console_knowledge, console_reports, console_team
from admin_api.console import Console, build_console
from admin_api.routes import canned, contacts, conversations, duty, faq, queue, reports, resources, staff
from admin_api.tryout import build_tryout
from zaitaku_desk.runtime import Runtime


class Problem(BaseModel):
    detail: str | list[dict[str, Any]]


# What every API route may answer besides its success.
ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A body that cannot be read at all"},
    401: {"model": Problem, "description": "No token, or a token that is not valid"},
    403: {"model": Problem, "description": "The staff member's role may not do this"},
    404: {"model": Problem, "description": "What the path names does not exist"},
    409: {"model": Problem, "description": "The state does not allow it (taken, resolved, someone else's)"},
    422: {"model": Problem, "description": "A value that is not allowed: the list names each field and why "
                                           "(or one sentence, for a request that is wrong as a whole)"},
}


def build_router(runtime: Runtime, console: Console) -> APIRouter:
    """Every staff route, mounted by the app (the runtime is reached through app.state)."""
    api = APIRouter(prefix="/admin/api", responses=ANSWERS)
    for module in (staff, queue, conversations, contacts, faq, resources, reports, duty, canned):
        api.include_router(module.router)
    router = APIRouter()
    router.include_router(api)
    for pages in (build_console(console), console_knowledge.build(console), console_reports.build(console),
                  console_team.build(console)):
        router.include_router(pages)
    router.include_router(build_tryout(runtime))
    return router
