"""The try-out page (/try): chat as a resident through the same core, over adapters/web.py.

Each browser gets an anonymous session id in an HttpOnly cookie; messages are stored as inbound
events and processed by the pipeline like LINE's, and the page polls for the recorded replies.
Setting `try_page_enabled` switches it off (404).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections import deque
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import Field
from sqlalchemy import select

from admin_api.console import templates
from bot import replies
from db.models import Contact, Conversation, Message, OutboxMessage
from knowledge.input import Input
from zaitaku_desk.runtime import Runtime

COOKIE = "zd_try"
WHO = {"contact": "あなた", "bot": "ボット", "staff": "スタッフ", "system": "お知らせ"}


class TryMessage(Input):
    """What the person typed (`text`), or a button they pressed (`postback`, with the button's text as
    `text`: what they appear to have said)."""

    text: str | None = Field(default=None, min_length=1, max_length=5000)
    postback: str | None = Field(default=None, min_length=1, max_length=300)


class RateLimiter:
    """At most `limit` requests per key in any minute (in this process): the public page cannot be
    used to flood the database or the staff queue."""

    WINDOW = 60.0

    def __init__(self) -> None:
        self.seen: dict[str, deque[float]] = {}

    def wait(self, key: str, limit: int) -> int:
        """0 when the request may go ahead (and it is counted); else the seconds to wait."""
        now = time.monotonic()
        recent = self.seen.setdefault(key, deque())
        while recent and recent[0] <= now - self.WINDOW:
            recent.popleft()
        if len(recent) >= limit:
            return max(1, int(recent[0] + self.WINDOW - now) + 1)
        recent.append(now)
        if len(self.seen) > 10_000:  # forget keys that have gone quiet
            self.seen = {k: v for k, v in self.seen.items() if v and v[-1] > now - self.WINDOW}
        return 0


def build_tryout(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/try", tags=["try"], include_in_schema=False)
    limiter = RateLimiter()
    per_session, per_client = runtime.settings.try_messages_per_minute, runtime.settings.try_messages_per_minute * 3

    def enabled() -> None:
        if not runtime.settings.try_page_enabled:
            raise HTTPException(404, "お試しページは無効です。")

    def session_of(request: Request) -> str | None:
        value = request.cookies.get(COOKIE)
        return value if value and value.startswith("try-") and len(value) < 80 else None

    @router.get("")
    async def page(request: Request) -> HTMLResponse:
        enabled()
        desk = runtime.desk
        greeting = replies.greeting(runtime.settings.hub_name, desk.hub["desk_hours"], desk.starters)
        starters = [{"label": q.label, "text": q.text, "data": q.data} for q in greeting.quick_replies]
        html = templates.get_template("try.html").render(hub_name=runtime.settings.hub_name, greeting=greeting.text,
                                                         starters=json.dumps(starters, ensure_ascii=False))
        response = HTMLResponse(html)
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        if session_of(request) is None:
            response.set_cookie(COOKIE, "try-" + secrets.token_urlsafe(18), httponly=True, samesite="strict",
                                path="/try")
        return response

    @router.post("/messages", status_code=202)
    async def send(request: Request, body: TryMessage) -> dict[str, str]:
        enabled()
        session = session_of(request)
        if session is None:
            raise HTTPException(400, "お試しページを読み込み直してください。")
        if body.text is None and body.postback is None:
            raise HTTPException(422, [{"loc": ["body", "text"], "msg": "text か postback が必要です",
                                       "type": "value_error"}])
        client = request.client.host if request.client else "?"
        wait = limiter.wait(f"session:{session}", per_session) or limiter.wait(f"client:{client}", per_client)
        if wait:
            raise HTTPException(429, "短い間に送信が多すぎます。少し待ってからお試しください。",
                                headers={"Retry-After": str(wait)})
        raw = {"session": session, "kind": "postback" if body.postback is not None else "text",
               "text": body.text, "postback": body.postback, "at": time.time()}
        await runtime.store("web", [(uuid.uuid4().hex, raw)])
        return {"status": "accepted"}

    @router.get("/messages")
    async def read(request: Request) -> JSONResponse:
        enabled()
        session = session_of(request)
        if session is None:
            return JSONResponse({"messages": [], "quick_replies": []})

        def load() -> dict[str, Any]:
            with runtime.db.session() as db:
                ids = select(Conversation.id).join(Contact, Contact.id == Conversation.contact_id).where(
                    Contact.channel == "web", Contact.external_id == session)
                rows = db.scalars(select(Message).where(Message.conversation_id.in_(ids),
                                                        Message.direction != "internal")
                                  .order_by(Message.created_at, Message.id)).all()
                last = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "web",
                                                              OutboxMessage.target == session)
                                  .order_by(OutboxMessage.id.desc())).first()
                return {"messages": [{"id": m.id, "who": WHO.get(m.sender_kind, m.sender_kind),
                                      "mine": m.direction == "in", "text": m.text or "",
                                      "display": (m.payload or {}).get("display") if m.direction == "out" else None}
                                     for m in rows
                                     if m.kind in ("text", "postback") or m.direction == "out"],
                        "quick_replies": (last.payload.get("quick_replies") or []) if last else []}

        return JSONResponse(await runtime.run_db(load), headers={"Cache-Control": "no-store"})

    return router
