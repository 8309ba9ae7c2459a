"""Channel webhooks: verify against the raw bytes, store each event once, answer 200 at once."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.line import WebhookError, not_json
from zaitaku_desk.metrics import WEBHOOKS
from zaitaku_desk.runtime import Runtime

log = logging.getLogger(__name__)


def webhook_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post("/webhooks/line", summary="LINE Messaging API webhook")
    async def line_webhook(request: Request) -> JSONResponse:
        with runtime.acks.request():
            response = await _line(request)
        WEBHOOKS.labels("line", str(response.status_code)).inc()
        return response

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
        new = await runtime.store(channel.name, events)
        return JSONResponse({"ok": True, "events": len(events), "new": new})

    if runtime.slack is not None:
        from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response

        from adapters.slack import build_bolt

        settings = runtime.settings
        bolt = build_bolt(runtime.slack, settings.slack_signing_secret or "", settings.slack_command, runtime)

        @router.post("/webhooks/slack", summary="Slack events, slash commands and interactivity")
        async def slack_webhook(request: Request) -> Any:
            with runtime.acks.request():
                response = await _slack(request)
            WEBHOOKS.labels("slack", str(response.status_code)).inc()
            return response

        async def _slack(request: Request) -> Any:
            try:
                body = await _read_body(request, settings.max_body_bytes)
                _check_slack(request, body)
                bolt_request = to_async_bolt_request(request, body)
            except WebhookError as exc:
                log.info("Slack webhook refused: %s %s", exc.status, exc.reason)
                return _refuse(exc.status, exc.reason)
            except ValueError:  # a body Bolt cannot read (the form or JSON it declares is not there)
                log.info("Slack webhook refused: 400 unreadable body")
                return _refuse(400, "the body is not the form or JSON its Content-Type declares")
            return to_starlette_response(await bolt.async_dispatch(bolt_request))
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


SLACK_KINDS = ("application/x-www-form-urlencoded", "application/json")


def _check_slack(request: Request, body: bytes) -> None:
    """What Bolt assumes before it checks the signature: a form or JSON body in UTF-8, and a numeric
    timestamp. Anything else is refused here, before any of it is parsed or logged."""
    kind = _content_type(request)
    if kind not in SLACK_KINDS:
        raise WebhookError(415, f"Content-Type must be one of {', '.join(SLACK_KINDS)}, not {kind or 'missing'}")
    if not request.headers.get("x-slack-request-timestamp", "").isdigit():
        raise WebhookError(401, "X-Slack-Request-Timestamp is missing or not a number")
    try:
        text = body.decode("utf-8")
        if kind == "application/json":
            data = json.loads(text, parse_constant=not_json)
        else:
            form = parse_qs(text)
            data = json.loads(form["payload"][0], parse_constant=not_json) if "payload" in form else {}
    except UnicodeDecodeError:
        raise WebhookError(400, "the body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise WebhookError(400, "the body is not the form or JSON its Content-Type declares") from None
    problem = _slack_shape_problem(data)
    if problem:
        raise WebhookError(400, problem)


_SLACK_OBJECTS = ("event", "team", "container", "message", "enterprise", "view", "authed_user")
_SLACK_EVENT_STRINGS = ("type", "user", "text", "channel", "ts", "thread_ts", "channel_type", "subtype", "bot_id")


def _slack_shape_problem(data: Any) -> str | None:
    """Why a Slack body is not shaped as Slack sends them (Bolt reads these fields before any listener)."""
    if not isinstance(data, dict):
        return "the body is not a JSON object"
    for key in _SLACK_OBJECTS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"'{key}' is not an object"
    for key in ("user", "channel"):
        if data.get(key) is not None and not isinstance(data[key], dict | str):
            return f"'{key}' is neither an object nor a string"
    for key in ("actions", "authorizations"):
        if data.get(key) is not None and not (isinstance(data[key], list)
                                              and all(isinstance(item, dict) for item in data[key])):
            return f"'{key}' is not a list of objects"
    event = data.get("event") or {}
    for key in _SLACK_EVENT_STRINGS:
        if event.get(key) is not None and not isinstance(event[key], str):
            return f"'event.{key}' is not a string"
    return None


def _content_type(request: Request) -> str:
    """The media type the request declares, without parameters (charset…), lower-case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _require_json(request: Request) -> None:
    kind = _content_type(request)
    if kind != "application/json":
        raise WebhookError(415, f"Content-Type must be application/json, not {kind or 'missing'}")


def _refuse(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
