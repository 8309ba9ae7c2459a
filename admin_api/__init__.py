"""The staff side: admin API under /admin/api, the console under /admin, the try-out page at /try."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from admin_api.console import build_console
from admin_api.routes import contacts, conversations, faq, queue, reports, resources, staff
from admin_api.tryout import build_tryout


def build_router(runtime: Any) -> APIRouter:
    """Every staff route, mounted by the app (the runtime is reached through app.state)."""
    api = APIRouter(prefix="/admin/api")
    for module in (staff, queue, conversations, contacts, faq, resources, reports):
        api.include_router(module.router)
    router = APIRouter()
    router.include_router(api)
    router.include_router(build_console(runtime))
    router.include_router(build_tryout(runtime))
    return router
