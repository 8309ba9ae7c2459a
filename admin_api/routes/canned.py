"""Canned replies (定型文) over the API: everyone reads them (filled for a conversation), coordinators
and admins keep them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from admin_api.deps import CurrentStaff, RuntimeDep, SessionDep, TeamStaff
from db.models import CannedReply
from knowledge.input import Input
from zaitaku_desk import canned
from zaitaku_desk.canned import CannedError

router = APIRouter(tags=["canned replies"])


class CannedBody(Input):
    code: str = Field(pattern=canned.CODE, description="the short code staff type as /code (no spaces)")
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=2000,
                      description="the reply; {利用者名} {拠点名} {担当者名} are filled when it is used")


class CannedOut(BaseModel):
    id: int
    code: str
    title: str
    body: str
    updated_at: datetime


class CannedFilled(BaseModel):
    code: str
    title: str
    text: str = Field(description="the body with its placeholders filled for the conversation")


def _out(row: CannedReply) -> CannedOut:
    return CannedOut(id=row.id, code=row.code, title=row.title, body=row.body, updated_at=row.updated_at)


def _refused(exc: CannedError) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}])


@router.get("/canned", response_model=list[CannedOut], summary="Every canned reply, by code")
def list_canned(session: SessionDep, _: CurrentStaff) -> list[CannedOut]:
    return [_out(row) for row in canned.listing(session)]


@router.post("/canned", response_model=CannedOut, status_code=201, summary="Add a canned reply (coordinators, admins)")
def add_canned(body: CannedBody, session: SessionDep, staff: TeamStaff) -> CannedOut:
    try:
        row = canned.save(session, staff, body.code, body.title, body.body)
    except CannedError as exc:
        raise _refused(exc) from None
    session.commit()
    return _out(row)


@router.put("/canned/{canned_id}", response_model=CannedOut, summary="Change a canned reply (coordinators, admins)")
def change_canned(canned_id: int, body: CannedBody, session: SessionDep, staff: TeamStaff) -> CannedOut:
    if session.get(CannedReply, canned_id) is None:
        raise HTTPException(404, f"定型文 #{canned_id} が見つかりません。")
    try:
        row = canned.save(session, staff, body.code, body.title, body.body, canned_id)
    except CannedError as exc:
        raise _refused(exc) from None
    session.commit()
    return _out(row)


@router.delete("/canned/{canned_id}", status_code=204, summary="Remove a canned reply (coordinators, admins)")
def remove_canned(canned_id: int, session: SessionDep, staff: TeamStaff) -> None:
    try:
        canned.remove(session, staff, canned_id)
    except CannedError as exc:
        raise HTTPException(404, str(exc)) from None
    session.commit()


@router.get("/conversations/{conversation_id}/canned", response_model=list[CannedFilled],
            summary="Every canned reply filled for this conversation and the staff member asking")
def filled_for(conversation_id: int, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep) -> list[CannedFilled]:
    return [CannedFilled(code=row.code, title=row.title, text=text)
            for row, text in canned.for_conversation(session, conversation_id, staff, runtime.settings.hub_name)]
