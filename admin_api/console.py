"""The staff console under /admin: server-rendered pages, a little JS of our own for the live queue.

Login takes an API token and keeps it in an HttpOnly, SameSite=Strict cookie; every form carries a
CSRF token that must match a second cookie (double submit). Resident text is always escaped
(Jinja2 autoescape); nothing a resident writes is ever rendered as HTML. The acts are the same
functions the API and Slack use (zaitaku_desk.handoff).
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from bot.conversation import HELPDESK_LABELS
from db.models import Contact, Conversation, Message, Staff, utcnow
from zaitaku_desk import handoff
from zaitaku_desk.staff import hash_token

HERE = Path(__file__).parent
SESSION_COOKIE = "zd_session"
CSRF_COOKIE = "zd_csrf"
ROLE_LABELS = {"nurse": "看護師", "msw": "MSW", "any": "どなたでも", "coordinator": "コーディネーター", "admin": "管理者"}
SENDER_LABELS = {"contact": "相談者", "bot": "ボット", "staff": "スタッフ", "system": "記録"}

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
templates.globals.update(ROLE_LABELS=ROLE_LABELS, SENDER_LABELS=SENDER_LABELS, HELPDESK_LABELS=HELPDESK_LABELS)


def build_console(runtime: Any) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = templates.get_template(name).render(csrf=csrf, **context)
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        if request.cookies.get(CSRF_COOKIE) != csrf:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/admin",
            secure=runtime.settings.admin_cookie_secure)
        return response

    def staff_of(token: str | None) -> Staff | None:
        if not token:
            return None
        with runtime.db.session() as session:
            return session.scalars(select(Staff).where(Staff.token_hash == hash_token(token), Staff.active)).first()

    async def current(request: Request) -> Staff | None:
        return await runtime.run_db(staff_of, request.cookies.get(SESSION_COOKIE))

    async def form_of(request: Request) -> dict[str, str] | None:
        """The posted form, or None when its CSRF token does not match the cookie."""
        raw = await request.body()
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True).items()}
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
            return None
        return form

    def to_login() -> RedirectResponse:
        return RedirectResponse("/admin/login", status_code=303)

    def forbidden(request: Request) -> HTMLResponse:
        return render(request, "error.html", 403, message="フォームの有効期限が切れました。ページを読み込み直してください。")

    @router.get("/login")
    async def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        token = form.get("token", "").strip()
        staff = await runtime.run_db(staff_of, token)
        if staff is None:
            return render(request, "login.html", 401, error="トークンが正しくないか、無効になっています。")
        response = RedirectResponse("/admin/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/admin",
            secure=runtime.settings.admin_cookie_secure)
        response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), httponly=True, samesite="strict", path="/admin",
            secure=runtime.settings.admin_cookie_secure)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if await form_of(request) is None:
            return forbidden(request)
        response = to_login()
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    def queue_rows(role: str | None, urgency: str | None) -> list[dict[str, Any]]:
        now = utcnow()
        with runtime.db.session() as session:
            query = select(Conversation, Contact, Staff).join(Contact, Contact.id == Conversation.contact_id) \
                .outerjoin(Staff, Staff.id == Conversation.assignee_id) \
                .where(Conversation.status.in_(("waiting", "human", "snoozed")))
            if role:
                query = query.where(Conversation.needed_role == role)
            if urgency:
                query = query.where(Conversation.urgency == urgency)
            rows = []
            for conversation, contact, assignee in session.execute(query.order_by(Conversation.id).limit(500)):
                since = conversation.handed_off_at or conversation.opened_at
                minutes = int((now - since).total_seconds() // 60)
                rows.append({"id": conversation.id, "status": conversation.status,
                             "label": "{} ({})".format(*HELPDESK_LABELS[conversation.status]),
                             "role": conversation.needed_role, "urgency": conversation.urgency,
                             "channel": conversation.channel, "waiting_minutes": minutes,
                             "contact": contact.display_name or f"相談者 #{contact.id}",
                             "assignee": assignee.name if assignee else None})
        rows.sort(key=lambda r: (r["urgency"] != "emergency", -r["waiting_minutes"], r["id"]))
        return rows

    @router.get("/")
    async def queue_page(request: Request, role: str | None = None, urgency: str | None = None) -> Response:
        staff = await current(request)
        if staff is None:
            return to_login()
        rows = await runtime.run_db(queue_rows, role, urgency)
        return render(request, "queue.html", staff=staff, rows=rows, role=role or "", urgency=urgency or "")

    @router.get("/queue/rows")
    async def queue_fragment(request: Request, role: str | None = None, urgency: str | None = None) -> Response:
        """The queue's table body, polled by static/console.js every few seconds."""
        if await current(request) is None:
            return Response(status_code=401)
        rows = await runtime.run_db(queue_rows, role, urgency)
        return render(request, "queue_rows.html", rows=rows)

    def conversation_view(conversation_id: int) -> dict[str, Any] | None:
        with runtime.db.session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            contact = session.get(Contact, conversation.contact_id)
            assignee = session.get(Staff, conversation.assignee_id) if conversation.assignee_id else None
            staff_names = {s.id: s.name for s in session.scalars(select(Staff))}
            messages = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                       .order_by(Message.created_at, Message.id)).all()
            past = session.scalars(select(Conversation).where(Conversation.contact_id == conversation.contact_id,
                                                              Conversation.id != conversation_id)
                                   .order_by(Conversation.id.desc()).limit(10)).all()
            others = [s for s in session.scalars(select(Staff).where(Staff.active).order_by(Staff.id))]
            return {"c": conversation, "contact": contact, "assignee": assignee, "messages": messages,
                    "staff_names": staff_names, "past": past, "others": others,
                    "label": "{} ({})".format(*HELPDESK_LABELS[conversation.status])}

    @router.get("/conversations/{conversation_id}")
    async def conversation_page(request: Request, conversation_id: int, done: str | None = None,
                                error: str | None = None) -> Response:
        staff = await current(request)
        if staff is None:
            return to_login()
        view = await runtime.run_db(conversation_view, conversation_id)
        if view is None:
            return render(request, "error.html", 404, message=f"相談 #{conversation_id} が見つかりません。")
        return render(request, "conversation.html", staff=staff, done=done, error=error, **view)

    @router.post("/conversations/{conversation_id}/{act}")
    async def conversation_act(request: Request, conversation_id: int, act: str) -> Response:
        staff = await current(request)
        if staff is None:
            return to_login()
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        text = form.get("text", "")

        def run() -> str:
            with runtime.db.session() as session:
                if act == "claim":
                    return handoff.claim(session, conversation_id, staff).message
                if act == "resolve":
                    return handoff.resolve(session, conversation_id, staff, runtime.channels).message
                if act == "return":
                    return handoff.return_to_bot(session, conversation_id, staff).message
                if act == "reassign":
                    to = session.get(Staff, int(form.get("staff_id") or 0))
                    if to is None:
                        raise handoff.HandoffError("担当者を選んでください。")
                    return handoff.reassign(session, conversation_id, staff, to).message
                if not text.strip():
                    raise handoff.HandoffError("本文を入力してください。")
                if len(text) > 5000:
                    raise handoff.HandoffError("本文が長すぎます（5000文字まで）。")
                if act == "reply":
                    handoff.staff_reply(session, conversation_id, staff, text, runtime.channels,
                                        runtime.settings.hub_name)
                    return "返信を送信しました。"
                if act == "note":
                    handoff.note(session, conversation_id, staff, text)
                    return "メモを残しました。"
                raise handoff.HandoffError("その操作はありません。")

        try:
            message = await runtime.run_db(run)
        except handoff.HandoffError as exc:
            return RedirectResponse(f"/admin/conversations/{conversation_id}?error={quote(str(exc))}", status_code=303)
        runtime.wake_outbox()
        return RedirectResponse(f"/admin/conversations/{conversation_id}?done={quote(message)}", status_code=303)

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        kinds = {"console.js": "text/javascript", "console.css": "text/css", "try.js": "text/javascript"}
        if name not in kinds:
            return Response(status_code=404)
        return Response((HERE / "static" / name).read_bytes(), media_type=f"{kinds[name]}; charset=utf-8")

    return router
