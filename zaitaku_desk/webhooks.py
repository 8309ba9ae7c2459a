"""Channel webhooks: verify against the raw bytes, store each event once, answer 200 at once."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.line import WebhookError
from zaitaku_desk.pipeline import store_events
from zaitaku_desk.runtime import Runtime

log = logging.getLogger(__name__)


def webhook_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post("/webhooks/line", summary="LINE Messaging API webhook")
    async def line_webhook(request: Request) -> JSONResponse:
        with runtime.acks.request():
            return await _line(request)

    async def _line(request: Request) -> JSONResponse:
        channel = runtime.line
        if channel is None:
            return _refuse(503, "LINE channel is not configured (set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN)")
        try:
            body = await _read_body(request, runtime.settings.max_body_bytes)
            channel.verify(body, request.headers.get("x-line-signature"))
            _require_json(request)
            events = channel.events(body)
        except WebhookError as exc:
            log.info("LINE webhook refused: %s %s", exc.status, exc.reason)
            return _refuse(exc.status, exc.reason)
        new = await runtime.run_db(store_events, runtime.db, channel.name, events)
        if new:
            runtime.wake()
        return JSONResponse({"ok": True, "events": len(events), "new": new})

    if runtime.slack is not None:
        from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

        from adapters.slack import build_bolt

        settings = runtime.settings
        slack = AsyncSlackRequestHandler(build_bolt(runtime.slack, settings.slack_signing_secret or "",
                                                    settings.slack_command, runtime))

        @router.post("/webhooks/slack", summary="Slack events, slash commands and interactivity")
        async def slack_webhook(request: Request) -> Any:
            declared = request.headers.get("content-length", "0")
            if declared.isdigit() and int(declared) > runtime.settings.max_body_bytes:
                return _refuse(413, f"body is larger than {runtime.settings.max_body_bytes} bytes")
            return await slack.handle(request)
    else:
        @router.post("/webhooks/slack", summary="Slack (off: credentials not set)")
        async def slack_off() -> JSONResponse:
            return _refuse(503, "Slack is not configured (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)")

    return router


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise WebhookError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise WebhookError(413, f"body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookError(413, f"body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _require_json(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise WebhookError(415, f"Content-Type must be application/json, not {kind or 'missing'}")


def _refuse(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
