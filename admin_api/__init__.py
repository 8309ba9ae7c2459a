"""The staff side: admin API under /admin/api and the console under /admin (issue: staff console)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter


def build_router(runtime: Any) -> APIRouter:
    """Every staff route, mounted by the app. Empty until the console issue lands."""
    return APIRouter()
