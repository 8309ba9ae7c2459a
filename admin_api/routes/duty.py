"""The duty rota (当番) over the API: anyone reads it, coordinators and admins change it."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_api.deps import CurrentStaff, RuntimeDep, SessionDep, TeamStaff, actor
from db.models import Staff, utcnow
from knowledge.input import Input
from zaitaku_desk import duty
from zaitaku_desk.duty import DutyCalendar, DutyError

router = APIRouter(prefix="/duty", tags=["duty"])


class OnDuty(BaseModel):
    id: int
    name: str
    role: str


class DutyDay(BaseModel):
    day: int = Field(description="0–6: Monday–Sunday, 7: public holidays and the desk's closures")
    label: str
    people: list[OnDuty]


class DutyOverrideOut(BaseModel):
    on: date
    people: list[OnDuty]


class DutyNow(BaseModel):
    desk_open: bool
    duty_date: date
    people: list[OnDuty] = Field(description="who is called now, in order (nobody while the desk is open)")


class DutyOut(BaseModel):
    weekly: list[DutyDay]
    overrides: list[DutyOverrideOut]
    now: DutyNow


class WeeklyBody(Input):
    days: dict[int, list[int]] = Field(description="day column (0–7) → staff ids in calling order (at most 3)")


class OverrideBody(Input):
    staff_ids: list[int] = Field(max_length=duty.POSITIONS,
                                 description="who is on duty that date, in calling order; empty: the weekly rota")


def _people(staff: list[Staff]) -> list[OnDuty]:
    return [OnDuty(id=s.id, name=s.name, role=s.role) for s in staff]


def rota(session: Session, calendar: DutyCalendar) -> DutyOut:
    """The rota as the API and the console show it: the grid, the overrides from today on, and now."""
    now = utcnow()
    names = {s.id: s for s in session.scalars(select(Staff))}
    grid = duty.weekly(session)
    today = calendar.duty_date(now)
    return DutyOut(
        weekly=[DutyDay(day=day, label=duty.DAY_NAMES[day],
                        people=_people([names[grid[day, p]] for p in range(1, duty.POSITIONS + 1) if (day, p) in grid]))
                for day in range(duty.HOLIDAY + 1)],
        overrides=[DutyOverrideOut(on=on, people=_people(people)) for on, people in duty.overrides(session, today).items()],
        now=DutyNow(desk_open=calendar.hours.is_open(now), duty_date=today,
                    people=_people(duty.on_duty(session, calendar, now))))


def _refused(exc: DutyError, field: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", field], "msg": str(exc), "type": "value_error"}])


@router.get("", response_model=DutyOut, summary="The weekly rota, dated overrides, and who is on duty now")
def get_duty(session: SessionDep, runtime: RuntimeDep, _: CurrentStaff) -> DutyOut:
    return rota(session, runtime.duty)


@router.put("/weekly", response_model=DutyOut, summary="Replace the weekly rota (coordinators and admins)")
def put_weekly(body: WeeklyBody, session: SessionDep, runtime: RuntimeDep, staff: TeamStaff) -> DutyOut:
    try:
        duty.set_weekly(session, body.days, actor(staff))
    except DutyError as exc:
        raise _refused(exc, "days") from None
    session.commit()
    return rota(session, runtime.duty)


@router.put("/overrides/{on}", response_model=DutyOut,
            summary="Who is on duty on one date instead of the weekly rota; an empty list removes the override")
def put_override(on: date, body: OverrideBody, session: SessionDep, runtime: RuntimeDep,
                 staff: TeamStaff) -> DutyOut:
    try:
        duty.set_override(session, on, body.staff_ids, actor(staff))
    except DutyError as exc:
        raise _refused(exc, "staff_ids") from None
    session.commit()
    return rota(session, runtime.duty)
