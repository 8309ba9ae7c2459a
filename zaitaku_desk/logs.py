"""Logs as JSON lines, each with the id of the request it belongs to (X-Request-ID, echoed back).

What is logged are ids, statuses and reasons; never what a resident or staff member wrote (SQL
parameters are hidden by the engine, Bolt's refused bodies are not logged).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Our own ids: this process's random prefix and a counter (unique without a system call per request).
_PREFIX = os.urandom(4).hex()
_COUNTER = itertools.count(1)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if (request_id := REQUEST_ID.get()) is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: int, json_lines: bool) -> None:
    handler = logging.StreamHandler()
    if json_lines:
        formatter = JsonLines()
        formatter.converter = __import__("time").gmtime
        handler.setFormatter(formatter)
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


class RequestIds:
    """ASGI middleware: each HTTP request gets an id (the caller's X-Request-ID if it is a plain token),
    set for every log line while it runs and returned in the response's X-Request-ID."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GIVEN_ID.fullmatch(given) else f"{_PREFIX}{next(_COUNTER):08x}"
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
