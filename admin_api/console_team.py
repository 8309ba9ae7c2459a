"""The console's team pages: staff accounts and their tokens (admins), the duty rota and the canned
replies (coordinators and admins). The acts are the ones the API uses (zaitaku_desk.staff, .duty, .canned)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin_api.console import Console, Form, _posted_by, _staff_of, field_errors
from admin_api.routes.staff import SLACK_TAKEN, StaffCreate, StaffUpdate
from bot.roles import LABELS as ROLE_LABELS
from bot.roles import Role
from db.models import Staff
from zaitaku_desk.staff import add_staff, issue_token, revoke_token, update_staff

ADMIN = (Role.ADMIN,)
AdminPage = Annotated[Staff, _staff_of(ADMIN)]
PostedAdminForm = Annotated[tuple[Staff, Form], _posted_by(ADMIN)]
STAFF_ROLES = {str(role): ROLE_LABELS[role] for role in Role}


def build(console: Console) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)

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
                if member.id == admin.id and (form.get("role") != "admin" or not form.get("active")):
                    raise LookupError("自分自身の管理者の役割は外せません（ほかの管理者に依頼してください）。")
                changes = StaffUpdate(name=form.get("name").strip(), role=form.get("role"),
                                      slack_user_id=form.optional("slack_user_id"),
                                      active=bool(form.get("active"))).model_dump(exclude_unset=True)
                update_staff(session, member, changes, who)
                return member.name, None
            raise LookupError("その操作はありません。")
        try:
            name, token = await console.act(run)
        except (LookupError, IntegrityError, ValidationError) as exc:
            message = SLACK_TAKEN if isinstance(exc, IntegrityError) else \
                "・".join(field_errors(exc)[0].values()) if isinstance(exc, ValidationError) else str(exc)
            return console.back("/admin/staff", error=message)
        if token is not None:
            return await staff_page(request, admin, issued={"name": name, "token": token},
                                    done=f"{name}さんの新しいトークンを発行しました。以前のトークンは使えません。")
        return console.back("/admin/staff", done={"revoke": f"{name}さんのトークンを無効にしました。"}.get(
            act, f"{name}さんの登録を変更しました。"))

    return router

