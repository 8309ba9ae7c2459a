"""The console's team pages: staff accounts and their tokens (admins), the duty rota and the canned
replies (coordinators and admins). The acts are the ones the API uses (zaitaku_desk.staff, .duty, .canned)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin_api.console import Console, ConsoleStaff, Form, _posted_by, _staff_of, field_errors
from admin_api.routes.canned import CannedBody
from admin_api.routes.duty import rota
from admin_api.routes.staff import SLACK_TAKEN, StaffCreate, StaffUpdate
from bot.roles import LABELS as ROLE_LABELS
from bot.roles import TEAM_ROLES, Role
from db.models import Staff
from zaitaku_desk import canned, duty
from zaitaku_desk.staff import StaffError, add_staff, issue_token, revoke_token, update_staff

ADMIN = (Role.ADMIN,)
AdminPage = Annotated[Staff, _staff_of(ADMIN)]
PostedAdminForm = Annotated[tuple[Staff, Form], _posted_by(ADMIN)]
TeamPage = Annotated[Staff, _staff_of(TEAM_ROLES)]
PostedTeamForm = Annotated[tuple[Staff, Form], _posted_by(TEAM_ROLES)]
STAFF_ROLES = {str(role): ROLE_LABELS[role] for role in Role}


def build(console: Console) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)
    runtime = console.runtime

    # -- staff accounts (admins) -------------------------------------------------------------------

    def staff_rows(session: Session) -> list[Staff]:
        return list(session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.id)))

    async def staff_page(request: Request, staff: Staff, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("values", {"name": "", "role": "nurse", "slack_user_id": ""})
        context.setdefault("errors", {})
        return console.render(request, "staff.html", status_code, staff=staff, rows=await console.act(staff_rows),
                              STAFF_ROLES=STAFF_ROLES, **context)

    @router.get("/staff")
    async def staff_list(request: Request, staff: AdminPage, done: str | None = None,
                         error: str | None = None) -> Response:
        return await staff_page(request, staff, done=done, error=error)

    @router.post("/staff")
    async def staff_create(request: Request, posted: PostedAdminForm) -> Response:
        admin, form = posted
        values = {"name": form.get("name").strip(), "role": form.get("role"),
                  "slack_user_id": form.optional("slack_user_id")}
        try:
            body = StaffCreate(**values)
        except ValidationError as exc:
            errors, message = field_errors(exc)
            return await staff_page(request, admin, 422, values=values, errors=errors, error=message)

        def create(session: Session) -> tuple[Staff, str]:
            return add_staff(session, body.name, body.role, body.slack_user_id, f"staff:{admin.id}")
        try:
            created, token = await console.act(create)
        except IntegrityError:
            return await staff_page(request, admin, 409, values=values, errors={"slack_user_id": SLACK_TAKEN})
        return await staff_page(request, admin, issued={"name": created.name, "token": token},
                                done=f"{created.name}さんを登録しました。")

    @router.post("/staff/{staff_id}/{act}")
    async def staff_act(request: Request, posted: PostedAdminForm, staff_id: int, act: str) -> Response:
        admin, form = posted
        who = f"staff:{admin.id}"

        def run(session: Session) -> tuple[str, str | None]:
            member = session.get(Staff, staff_id)
            if member is None:
                raise LookupError(f"スタッフ #{staff_id} が見つかりません。")
            if act == "token":
                return member.name, issue_token(session, member, who)
            if act == "revoke":
                revoke_token(session, member, who)
                return member.name, None
            if act == "update":
                changes = StaffUpdate(name=form.get("name").strip(), role=form.get("role"),
                                      slack_user_id=form.optional("slack_user_id"),
                                      active=bool(form.get("active"))).model_dump(exclude_unset=True)
                update_staff(session, member, changes, who)
                return member.name, None
            raise LookupError("その操作はありません。")
        try:
            name, token = await console.act(run)
        except (LookupError, StaffError, IntegrityError, ValidationError) as exc:
            message = SLACK_TAKEN if isinstance(exc, IntegrityError) else \
                "・".join(field_errors(exc)[0].values()) if isinstance(exc, ValidationError) else str(exc)
            return console.back("/admin/staff", error=message)
        if token is not None:
            return await staff_page(request, admin, issued={"name": name, "token": token},
                                    done=f"{name}さんの新しいトークンを発行しました。以前のトークンは使えません。")
        return console.back("/admin/staff", done={"revoke": f"{name}さんのトークンを無効にしました。"}.get(
            act, f"{name}さんの登録を変更しました。"))

    # -- the duty rota (coordinators and admins change it; everyone may look) -----------------------

    def duty_view(session: Session) -> dict[str, Any]:
        active = list(session.scalars(select(Staff).where(Staff.active).order_by(Staff.id)))
        return {"rota": rota(session, runtime.duty), "grid": duty.weekly(session), "active": active}

    @router.get("/duty")
    async def duty_page(request: Request, staff: ConsoleStaff, done: str | None = None,
                        error: str | None = None) -> Response:
        return console.render(request, "duty.html", staff=staff, done=done, error=error,
                              DAY_NAMES=duty.DAY_NAMES, POSITIONS=range(1, duty.POSITIONS + 1),
                              may_edit=staff.role in TEAM_ROLES, changeover=runtime.settings.duty_day_starts,
                              **await console.act(duty_view))

    @router.post("/duty/weekly")
    async def duty_weekly(posted: PostedTeamForm) -> Response:
        staff, form = posted
        days = {day: [sid for p in range(1, duty.POSITIONS + 1) if (sid := form.integer(f"d{day}p{p}")) is not None]
                for day in range(duty.HOLIDAY + 1)}
        try:
            await console.act(duty.set_weekly, days, f"staff:{staff.id}")
        except duty.DutyError as exc:
            return console.back("/admin/duty", error=str(exc))
        return console.back("/admin/duty", done="週の当番表を保存しました。")

    @router.post("/duty/override")
    async def duty_override(posted: PostedTeamForm) -> Response:
        staff, form = posted
        try:
            on = date.fromisoformat(form.get("on"))
        except ValueError:
            return console.back("/admin/duty", error="日付を選んでください。")
        people = [sid for p in range(1, duty.POSITIONS + 1) if (sid := form.integer(f"p{p}")) is not None]
        try:
            await console.act(duty.set_override, on, people, f"staff:{staff.id}")
        except duty.DutyError as exc:
            return console.back("/admin/duty", error=str(exc))
        when = f"{on.month}月{on.day}日"
        return console.back("/admin/duty", done=f"{when}の当番を設定しました。" if people
                            else f"{when}は週の当番表に戻しました。")

    # -- canned replies (定型文) ----------------------------------------------------------------------

    @router.get("/canned")
    async def canned_page(request: Request, staff: ConsoleStaff, edit: int | None = None, done: str | None = None,
                          error: str | None = None) -> Response:
        rows = await console.act(canned.listing)
        editing = next((r for r in rows if r.id == edit), None)
        values = {"code": editing.code, "title": editing.title, "body": editing.body} if editing else \
            {"code": "", "title": "", "body": ""}
        return console.render(request, "canned.html", staff=staff, rows=rows, editing=editing, values=values,
                              errors={}, done=done, error=error, may_edit=staff.role in TEAM_ROLES,
                              PLACEHOLDERS=canned.PLACEHOLDERS)

    @router.post("/canned")
    async def canned_save(request: Request, posted: PostedTeamForm) -> Response:
        staff, form = posted
        canned_id = form.integer("id")
        values = {"code": form.get("code").strip(), "title": form.get("title").strip(), "body": form.get("body").strip()}
        try:
            body = CannedBody(**values)
            await console.act(canned.save, staff, body.code, body.title, body.body, canned_id)
        except (ValidationError, canned.CannedError) as exc:
            errors, message = field_errors(exc) if isinstance(exc, ValidationError) else ({}, str(exc))
            return console.render(request, "canned.html", 422, staff=staff, rows=await console.act(canned.listing),
                                  editing=None, values=values, edit_id=canned_id, errors=errors, error=message,
                                  may_edit=True, PLACEHOLDERS=canned.PLACEHOLDERS)
        return console.back("/admin/canned", done=f"定型文「{values['code']}」を保存しました。")

    @router.post("/canned/{canned_id}/delete")
    async def canned_delete(posted: PostedTeamForm, canned_id: int) -> Response:
        staff, _ = posted
        try:
            code = await console.act(canned.remove, staff, canned_id)
        except canned.CannedError as exc:
            return console.back("/admin/canned", error=str(exc))
        return console.back("/admin/canned", done=f"定型文「{code}」を削除しました。")

    return router

