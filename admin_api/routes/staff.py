"""Staff accounts and their API tokens (admins), and who am I (everyone)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin_api.deps import AdminStaff, CurrentStaff, SessionDep, actor
from bot.roles import Role
from db.models import Staff
from knowledge.input import Input
from zaitaku_desk import staff as accounts

router = APIRouter(tags=["staff"])
SLACK_USER = r"^[UW][A-Z0-9]{2,31}$"  # a Slack member ID, e.g. U0123ABCD
SLACK_TAKEN = "このSlackユーザーはすでに別のスタッフに登録されています。"


class StaffOut(BaseModel):
    id: int
    name: str
    role: str
    slack_user_id: str | None
    active: bool
    has_token: bool


class StaffWithToken(StaffOut):
    token: str = Field(description="The API token; shown only this once (stored as a hash)")


class StaffCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    slack_user_id: str | None = Field(default=None, max_length=32, pattern=SLACK_USER)


class StaffUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    slack_user_id: str | None = Field(default=None, max_length=32, pattern=SLACK_USER)
    active: bool | None = None


def _out(staff: Staff) -> StaffOut:
    return StaffOut(id=staff.id, name=staff.name, role=staff.role, slack_user_id=staff.slack_user_id,
                    active=staff.active, has_token=staff.token_hash is not None)


def _get(session: SessionDep, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"スタッフ #{staff_id} が見つかりません。")
    return staff


@router.get("/me", response_model=StaffOut, summary="The staff member behind the token")
def me(staff: CurrentStaff) -> StaffOut:
    return _out(staff)


@router.get("/staff", response_model=list[StaffOut], summary="All staff accounts (admin)")
def list_staff(session: SessionDep, _: AdminStaff) -> list[StaffOut]:
    return [_out(s) for s in session.scalars(select(Staff).order_by(Staff.id))]


@router.post("/staff", response_model=StaffWithToken, status_code=201,
             summary="Create a staff account and its first token (admin); the token is shown once")
def create_staff(body: StaffCreate, session: SessionDep, admin: AdminStaff) -> StaffWithToken:
    try:
        staff, token = accounts.add_staff(session, body.name, body.role, body.slack_user_id, actor(admin))
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, SLACK_TAKEN) from None
    session.commit()
    return StaffWithToken(**_out(staff).model_dump(), token=token)


@router.patch("/staff/{staff_id}", response_model=StaffOut, summary="Change name, role, Slack user or active (admin)")
def update_staff(staff_id: int, body: StaffUpdate, session: SessionDep, admin: AdminStaff) -> StaffOut:
    staff = _get(session, staff_id)
    try:
        accounts.update_staff(session, staff, body.model_dump(exclude_unset=True), actor(admin))
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, SLACK_TAKEN) from None
    except accounts.StaffError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return _out(staff)


@router.post("/staff/{staff_id}/token", response_model=StaffWithToken,
             summary="Issue a new token, replacing the old one (admin); shown once")
def rotate_token(staff_id: int, session: SessionDep, admin: AdminStaff) -> StaffWithToken:
    staff = _get(session, staff_id)
    token = accounts.issue_token(session, staff, actor(admin))
    session.commit()
    return StaffWithToken(**_out(staff).model_dump(), token=token)


@router.delete("/staff/{staff_id}/token", response_model=StaffOut, summary="Revoke the staff member's token (admin)")
def revoke_token(staff_id: int, session: SessionDep, admin: AdminStaff) -> StaffOut:
    staff = _get(session, staff_id)
    try:
        accounts.revoke_token(session, staff, actor(admin))
    except accounts.StaffError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return _out(staff)
