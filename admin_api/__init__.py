"""The staff side: admin API under /admin/api, the console under /admin, the try-out page at /try."""

from __future__ import annotations

from fastapi import APIRouter

from admin_api import console_knowledge, console_reports
from admin_api.console import Console, build_console
from admin_api.routes import contacts, conversations, faq, queue, reports, resources, staff
from admin_api.tryout import build_tryout
from zaitaku_desk.runtime import Runtime


def build_router(runtime: Runtime) -> APIRouter:
    """Every staff route, mounted by the app (the runtime is reached through app.state)."""
    api = APIRouter(prefix="/admin/api")
    for module in (staff, queue, conversations, contacts, faq, resources, reports):
        api.include_router(module.router)
    router = APIRouter()
    router.include_router(api)
    console = Console(runtime)
    for pages in (build_console(console), console_knowledge.build(console), console_reports.build(console)):
        router.include_router(pages)
    router.include_router(build_tryout(runtime))
    return router
