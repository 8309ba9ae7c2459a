"""The staff console under /admin: server-rendered pages, a little JS of our own for the live queue.

Login takes an API token and opens a console session: the HttpOnly, SameSite=Strict cookie holds the
session's random secret (never the token; the database keeps only its hash); logout ends it, and a new
or revoked token ends all of the staff member's sessions. Every form carries a CSRF token that must
match a second cookie (double submit). Resident text is always escaped
(Jinja2 autoescape); nothing a resident writes is ever rendered as HTML. The acts are the same
functions the API and Slack use (zaitaku_desk.handoff, admin_api.routes.*).

This module holds what every page needs (`Console`) and the queue and conversation pages; the
knowledge editors are in console_knowledge.py, the report in console_reports.py.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, pass_environment, select_autoescape
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from admin_api.deps import staff_session
from admin_api.live import QueueWatch
from admin_api.routes.conversations import transcript_download
from admin_api.routes.queue import QUEUE_TABS, QueueItem, queue_items, status_counts
from bot.conversation import HELPDESK_LABELS
from bot.roles import KNOWLEDGE_ROLES, REPORT_ROLES
from bot.roles import LABELS as ROLE_LABELS
from db.models import Staff, utcnow
from db.session import without_nul
from zaitaku_desk import canned, handoff
from zaitaku_desk.handoff import CHANNEL_LABELS, SENDER_LABELS
from zaitaku_desk.runtime import Runtime
from zaitaku_desk.staff import close_console_session, console_staff, open_console_session, staff_by_token
from zaitaku_desk.transcript import transcript_text

HERE = Path(__file__).parent
STATIC = HERE / "static"
# 保留の長さ（分）, and 「明日9時」
SNOOZE_CHOICES = {"30": "30分", "60": "1時間", "180": "3時間", "tomorrow9": "明日9時に再開", "1440": "1日", "4320": "3日"}
SNOOZE_MAX_MINUTES = max(int(minutes) for minutes in SNOOZE_CHOICES if minutes.isdigit())
QUEUE_PAGE, QUEUE_MAX = 100, 500  # queue rows shown at first, and at most
SESSION_COOKIE = "zd_session"
CSRF_COOKIE = "zd_csrf"
T = TypeVar("T")



@pass_environment
def local_time(env: Environment, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment (UTC; naive from SQLite) in the hub's timezone."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(env.globals["ZONE"]).strftime(fmt)


templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
templates.filters["local"] = local_time
templates.globals.update(ZONE=UTC, ROLE_LABELS=ROLE_LABELS, SENDER_LABELS=SENDER_LABELS, HELPDESK_LABELS=HELPDESK_LABELS,
                         KNOWLEDGE_ROLES=KNOWLEDGE_ROLES, REPORT_ROLES=REPORT_ROLES, SNOOZE_CHOICES=SNOOZE_CHOICES)

# Japanese for pydantic's error types, shown beside the field; our own validators already speak Japanese.
FIELD_MESSAGES = {
    "missing": "入力してください。", "string_too_short": "入力してください。",
    "string_too_long": "{max_length}文字以内で入力してください。",
    "string_pattern_mismatch": "形式が正しくありません。", "literal_error": "選択肢から選んでください。",
    "float_parsing": "数値で入力してください。", "int_parsing": "整数で入力してください。",
    "greater_than_equal": "{ge:g}以上で入力してください。", "less_than_equal": "{le:g}以下で入力してください。",
    "too_long": "{max_length}件までです。",
}


class Form:
    """A posted form's text fields (urlencoded or multipart; uploads are read by deps.read_upload)."""

    def __init__(self, data: FormData) -> None:
        self.data = data

    def get(self, name: str, default: str = "") -> str:
        """The field's text, NUL removed (see knowledge.input.Input)."""
        value = self.data.get(name, default)
        return without_nul(value) if isinstance(value, str) else default

    def getlist(self, name: str) -> list[str]:
        return [without_nul(v) for v in self.data.getlist(name) if isinstance(v, str)]

    def integer(self, name: str) -> int | None:
        """The field as a whole number (an id), or None when empty or not one."""
        value = self.get(name).strip()
        return int(value) if value.isdigit() and len(value) < 10 else None

    def optional(self, name: str) -> str | None:
        """The field's text, or None when left empty."""
        return self.get(name).strip() or None

    def lines(self, name: str) -> list[str]:
        return [line.strip() for line in self.get(name).splitlines() if line.strip()]


def field_errors(exc: ValidationError | HTTPException) -> tuple[dict[str, str], str | None]:
    """(field → Japanese message, a message for the whole form) from a validation or an act's refusal."""
    if isinstance(exc, HTTPException) and not isinstance(exc.detail, list):
        return {}, str(exc.detail)
    errors = exc.errors() if isinstance(exc, ValidationError) else exc.detail
    fields: dict[str, str] = {}
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part not in ("body", "query")]
        name = str(loc[0]) if loc else "__all__"
        template = FIELD_MESSAGES.get(error.get("type", ""))
        message = template.format(**error.get("ctx", {})) if template else \
            str(error.get("msg", "")).removeprefix("Value error, ")
        fields.setdefault(name, message)
    return fields, fields.pop("__all__", None)


class Refused(Exception):
    """Raised by the console's dependencies with the page to show instead (login, 403 for the role, an
    expired form); server.app answers with it."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class Console:
    """What every console page needs: rendering, the staff member behind the cookie, forms, acts."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.zone = ZoneInfo(runtime.settings.timezone)
        templates.globals["ZONE"] = self.zone

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = templates.get_template(name).render(csrf=csrf, path=request.url.path, **context)
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        if request.cookies.get(CSRF_COOKIE) != csrf:
            self.set_cookie(response, CSRF_COOKIE, csrf)
        return response

    def set_cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(name, value, httponly=True, samesite="strict", path="/admin",
                            secure=self.runtime.settings.admin_cookie_secure)

    def token_staff(self, token: str) -> Staff | None:
        with self.runtime.db.session() as session:
            return staff_by_token(session, token)

    async def current(self, request: Request) -> Staff | None:
        def find(secret: str | None) -> Staff | None:
            with self.runtime.db.session() as session:
                return console_staff(session, secret)
        return await self.runtime.run_db(find, request.cookies.get(SESSION_COOKIE))

    async def allow(self, request: Request, roles: Iterable[str] | None = None) -> Staff | Response:
        """The logged-in staff member, or the response to send instead (login page, or 403 for the role)."""
        staff = await self.current(request)
        if staff is None:
            return RedirectResponse("/admin/login", status_code=303)
        if roles is not None and staff.role not in roles:
            labels = "・".join(ROLE_LABELS[r] for r in roles)
            return self.render(request, "error.html", 403, staff=staff,
                               message=f"このページは{labels}だけが使えます。")
        return staff

    async def form(self, request: Request) -> Form | None:
        """The posted form, or None when its CSRF token does not match the cookie."""
        form = Form(await request.form())
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, form.get("csrf")):
            return None
        return form

    async def posted(self, request: Request, roles: Iterable[str] | None = None) -> tuple[Staff, Form] | Response:
        """The staff member and their form, or the response instead (login, 403 for the role, or an
        expired form when the CSRF token does not match)."""
        staff = await self.allow(request, roles)
        if isinstance(staff, Response):
            return staff
        form = await self.form(request)
        return (staff, form) if form is not None else self.expired(request)

    def expired(self, request: Request) -> HTMLResponse:
        return self.render(request, "error.html", 403, message="フォームの有効期限が切れました。ページを読み込み直してください。")

    async def act(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(session, *args) in a worker thread, in one staff session (committed unless it raises)."""
        def run() -> T:
            with staff_session(self.runtime) as session:
                return fn(session, *args)
        return await self.runtime.run_db(run)

    @staticmethod
    def back(url: str, done: str | None = None, error: str | None = None) -> RedirectResponse:
        """Post/redirect/get, with the outcome shown once on the page."""
        if done or error:
            url += ("&" if "?" in url else "?") + ("done=" + quote(done) if done else "error=" + quote(error or ""))
        return RedirectResponse(url, status_code=303)


def _page_size(shown: int) -> int:
    """How many rows the queue shows: a page at first, more on 「さらに表示」, at most QUEUE_MAX."""
    return max(QUEUE_PAGE, min(shown, QUEUE_MAX))


def _paged(rows: list[QueueItem], shown: int, **filters: Any) -> dict[str, Any]:
    """The rows to show, the next page's size when there are more (emergencies are always first), and
    the filters as a query string for the links."""
    size = _page_size(shown)
    more = len(rows) > size and size < QUEUE_MAX
    query = urlencode({k: ("true" if v is True else v) for k, v in filters.items() if v})
    return {"rows": rows[:size], "more": size + QUEUE_PAGE if more else None, "shown": size, "query": query}


def snooze_until(form: Form, zone: ZoneInfo, now: datetime) -> datetime:
    """When a snooze ends, from the console's form: a date and time typed (the hub's local time), 「明日9時」,
    or a length chosen."""
    typed, choice = form.get("until").strip(), form.get("minutes")
    if typed:
        try:
            moment = datetime.fromisoformat(typed)
        except ValueError:
            raise handoff.HandoffError("再開する日時を正しく入力してください。") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)
    if choice == "tomorrow9":  # the coming morning: after midnight but before 6, that is still today's 9:00
        local = now.astimezone(zone)
        day = local.date() + timedelta(days=0 if local.hour < 6 else 1)
        return datetime.combine(day, time(9), zone).astimezone(UTC)
    if not choice.isdigit() or not 0 < int(choice) <= SNOOZE_MAX_MINUTES:
        raise handoff.HandoffError("保留の長さを選んでください。")
    return now + timedelta(minutes=int(choice))


def _staff_of(roles: Iterable[str] | None) -> Any:
    async def logged_in(request: Request) -> Staff:
        staff = await request.app.state.console.allow(request, roles)
        if isinstance(staff, Response):
            raise Refused(staff)
        return staff
    return Depends(logged_in)


def _posted_by(roles: Iterable[str] | None) -> Any:
    async def posted(request: Request) -> tuple[Staff, Form]:
        result = await request.app.state.console.posted(request, roles)
        if isinstance(result, Response):
            raise Refused(result)
        return result
    return Depends(posted)


# The console's guards, as FastAPI dependencies: the logged-in staff member (of the roles), and with a
# posted form whose CSRF token matches; otherwise the login page, a 403 or an expired form.
ConsoleStaff = Annotated[Staff, _staff_of(None)]
KnowledgeEditor = Annotated[Staff, _staff_of(KNOWLEDGE_ROLES)]
ReportReader = Annotated[Staff, _staff_of(REPORT_ROLES)]
PostedForm = Annotated[tuple[Staff, Form], _posted_by(None)]
PostedKnowledgeForm = Annotated[tuple[Staff, Form], _posted_by(KNOWLEDGE_ROLES)]


def build_console(console: Console) -> APIRouter:
    """The queue, the conversation pages and login; the knowledge editors and the report are built
    beside it (admin_api.build_router), and /admin/static is served by StaticFiles (server.app)."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    runtime = console.runtime
    render = console.render

    @router.get("/login")
    async def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await console.form(request)
        if form is None:
            return console.expired(request)
        token = form.get("token").strip()
        staff = await runtime.run_db(console.token_staff, token) if token else None
        if staff is None:
            return render(request, "login.html", 401, error="トークンが正しくないか、無効になっています。")

        def open_session() -> str:
            with runtime.db.session() as session:
                return open_console_session(session, staff, runtime.settings.admin_session_hours)
        response = RedirectResponse("/admin/", status_code=303)
        console.set_cookie(response, SESSION_COOKIE, await runtime.run_db(open_session))
        console.set_cookie(response, CSRF_COOKIE, secrets.token_urlsafe(24))
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if await console.form(request) is None:
            return console.expired(request)

        def close() -> None:
            with runtime.db.session() as session:
                close_console_session(session, request.cookies.get(SESSION_COOKIE))
        await runtime.run_db(close)
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    def queue_rows(staff: Staff, tab: str, role: str, urgency: str, mine: bool, q: str,
                   label: str, shown: int) -> list[QueueItem]:
        with runtime.db.session() as session:
            return queue_items(session, [tab if tab in QUEUE_TABS else "waiting"], role or None, urgency or None,
                               staff.id if mine else None, limit=_page_size(shown) + 1,
                               search=q.strip()[:100] or None, label=label or None)

    def queue_frame() -> dict[str, Any]:
        """The tabs' counts and the labels to filter by."""
        with runtime.db.session() as session:
            counts = status_counts(session)
            return {"tabs": {tab: counts.get(tab, 0) for tab in QUEUE_TABS},
                    "labels": [label for label, _ in handoff.labels_in_use(session)]}

    @router.get("/")
    async def queue_page(request: Request, staff: ConsoleStaff, tab: str = "waiting", role: str = "",
                         urgency: str = "", mine: bool = False, q: str = "", label: str = "",
                         shown: int = QUEUE_PAGE) -> Response:
        tab = tab if tab in QUEUE_TABS else "waiting"
        rows = await runtime.run_db(queue_rows, staff, tab, role, urgency, mine, q, label, shown)
        return render(request, "queue.html", staff=staff, tab=tab, TAB_NAMES=QUEUE_TABS, role=role,
                      urgency=urgency, mine=mine, q=q, label=label,
                      **_paged(rows, shown, tab=tab, role=role, urgency=urgency, mine=mine, q=q, label=label),
                      **await runtime.run_db(queue_frame))

    @router.get("/queue/rows")
    async def queue_fragment(request: Request, tab: str = "waiting", role: str = "", urgency: str = "",
                             mine: bool = False, q: str = "", label: str = "", shown: int = QUEUE_PAGE) -> Response:
        """The queue's table body, fetched again by static/console.js when the queue changes."""
        staff = await console.current(request)
        if staff is None:
            return Response(status_code=401)
        rows = await runtime.run_db(queue_rows, staff, tab, role, urgency, mine, q, label, shown)
        return render(request, "queue_rows.html",
                      **_paged(rows, shown, tab=tab, role=role, urgency=urgency, mine=mine, q=q, label=label))

    watch = QueueWatch(runtime)

    @router.get("/queue/events")
    async def queue_events(request: Request) -> Response:
        """The queue's changes as server-sent events (admin_api.live); 401 without a login."""
        if await console.current(request) is None:
            return Response(status_code=401)

        async def still_logged_in() -> bool:
            return await console.current(request) is not None
        return StreamingResponse(watch.stream(still_logged_in), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def conversation_view(conversation_id: int, staff: Staff) -> dict[str, Any] | None:
        with runtime.db.session() as session:
            try:
                seen = handoff.record(session, conversation_id)
            except handoff.ConversationNotFound:
                return None
            conversation, contact, assignee, messages = seen.conversation, seen.contact, seen.assignee, seen.messages
            everyone = list(session.scalars(select(Staff).order_by(Staff.id)))
            staff_names = {s.id: s.name for s in everyone}
            past = [p for p in handoff.history(session, conversation.contact_id, limit=11) if p.id != conversation_id]
            others = [s for s in everyone if s.active]
            labels = handoff.labels_on(session, conversation_id)
            known = [label for label, _ in handoff.labels_in_use(session) if label not in labels]
            filled = [{"code": row.code, "title": row.title, "text": text} for row, text in
                      canned.for_conversation(session, conversation_id, staff, runtime.settings.hub_name)]
            return {"c": conversation, "contact": contact, "assignee": assignee, "messages": messages,
                    "canned": filled, "labels": labels, "known_labels": known,
                    "staff_names": staff_names, "past": past, "others": others,
                    "label": HELPDESK_LABELS[conversation.status][0]}

    @router.get("/conversations/{conversation_id}")
    async def conversation_page(request: Request, staff: ConsoleStaff, conversation_id: int, done: str | None = None,
                                error: str | None = None, use: str = "") -> Response:
        """`use`: a canned reply's code, its filled text put in the reply box (without script)."""
        view = await runtime.run_db(conversation_view, conversation_id, staff)
        if view is None:
            return render(request, "error.html", 404, staff=staff, message=f"相談 #{conversation_id} が見つかりません。")
        mine = view["assignee"] is not None and view["assignee"].id == staff.id and view["c"].status == "human"
        draft = next((c["text"] for c in view["canned"] if c["code"] == use), "")
        return render(request, "conversation.html", staff=staff, done=done, error=error, mine=mine, draft=draft,
                      CHANNEL_LABELS=CHANNEL_LABELS, **view)

    @router.get("/conversations/{conversation_id}/transcript.txt")
    async def conversation_export(staff: ConsoleStaff, conversation_id: int) -> Response:
        try:
            text = await console.act(transcript_text, conversation_id, console.zone, runtime.settings.hub_name, staff)
        except handoff.ConversationNotFound as exc:
            return Response(str(exc), status_code=404)
        return transcript_download(conversation_id, text)

    @router.post("/conversations/{conversation_id}/{act}")
    async def conversation_act(request: Request, posted: PostedForm, conversation_id: int, act: str) -> Response:
        staff, form = posted
        text = form.get("text")

        def run(session: Session) -> str:
            channels = runtime.channels
            if act == "claim":
                return handoff.claim(session, conversation_id, staff, channels).message
            if act == "resolve":
                return handoff.resolve(session, conversation_id, staff, channels).message
            if act == "return":
                return handoff.return_to_bot(session, conversation_id, staff, channels).message
            if act == "snooze":
                return handoff.snooze(session, conversation_id, staff, snooze_until(form, console.zone, utcnow()),
                                      channels, form.get("reason")).message
            if act == "label":
                handoff.add_label(session, conversation_id, staff, form.get("label"))
                return "ラベルを付けました。"
            if act == "unlabel":
                handoff.remove_label(session, conversation_id, staff, form.get("label"))
                return "ラベルを外しました。"
            if act == "reassign":
                chosen = form.integer("staff_id")
                to = session.get(Staff, chosen) if chosen is not None else None
                if to is None:
                    raise handoff.HandoffError("担当者を選んでください。")
                return handoff.reassign(session, conversation_id, staff, to, channels).message
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

        page = f"/admin/conversations/{conversation_id}"
        try:
            message = await console.act(run)
        except handoff.HandoffError as exc:
            return console.back(page, error=str(exc))
        runtime.wake_outbox()
        return console.back(page, done=message)

    return router
