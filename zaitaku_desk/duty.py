"""The duty rota (当番): who is called outside business hours, and the calling.

A duty day runs from `changeover` (08:30 by default) to the same time next morning, so Friday's
night belongs to Friday. Its rota is the weekly grid's column for that weekday, or the holiday column
when the day is a public holiday or a closure of the desk's own calendar (bot.hours), unless the
coordinators set who is on duty on that very date (an override replaces the whole day).

While the desk is closed, an emergency, or a hand-off nobody has taken after `page_after`, is paged to
the first person on duty (a Slack DM when they have a Slack user, and the console), then to the next
after `escalate_after` while still nobody takes it. Taking it (claim) ends the calling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from adapters.base import Channel
from bot.hours import BusinessHours
from bot.roles import label as role_label
from db.models import Conversation, DutyOverride, DutySlot, Staff
from knowledge.store import audit
from zaitaku_desk.lifecycle import NOT_CALLED, STAFF_CHANNEL, announce, record_event

HOLIDAY = 7  # the grid's column for public holidays and the desk's closures
DAY_NAMES = ("月", "火", "水", "木", "金", "土", "日", "祝・休業日")
POSITIONS = 3  # how many people a day's rota calls, one after another


class DutyError(ValueError):
    """A rota that cannot be saved (Japanese message for the coordinator)."""


@dataclass(frozen=True)
class DutyCalendar:
    hours: BusinessHours
    changeover: time

    def duty_date(self, now: datetime) -> date:
        """The duty day `now` belongs to (the night after Friday's closing is Friday's)."""
        local = now.astimezone(self.hours.tz)
        return (local - timedelta(hours=self.changeover.hour, minutes=self.changeover.minute)).date()

    def column(self, day: date) -> int:
        return HOLIDAY if self.hours.closed_on(day) else day.weekday()


def rota_for(session: Session, calendar: DutyCalendar, day: date) -> list[Staff]:
    """Who is called on that duty day, in order (inactive accounts left out)."""
    overrides = session.execute(select(DutyOverride.position, DutyOverride.staff_id)
                                .where(DutyOverride.on == day).order_by(DutyOverride.position)).all()
    chosen = overrides or session.execute(select(DutySlot.position, DutySlot.staff_id)
                                          .where(DutySlot.day == calendar.column(day))
                                          .order_by(DutySlot.position)).all()
    people = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_([sid for _, sid in chosen]),
                                                                   Staff.active))}
    return [people[sid] for _, sid in chosen if sid in people]


def on_duty(session: Session, calendar: DutyCalendar, now: datetime) -> list[Staff]:
    """Who answers now outside hours, in calling order; nobody while the desk is open."""
    if calendar.hours.is_open(now):
        return []
    return rota_for(session, calendar, calendar.duty_date(now))


def weekly(session: Session) -> dict[tuple[int, int], int]:
    """The weekly grid: (day column, position) → staff id."""
    return {(row.day, row.position): row.staff_id for row in session.scalars(select(DutySlot))}


def set_weekly(session: Session, days: Mapping[int, Sequence[int]], actor: str) -> None:
    """Replace the weekly grid: each day column's people in calling order (a column left out: nobody)."""
    for day, people in days.items():
        if not 0 <= day <= HOLIDAY:
            raise DutyError(f"曜日の列は0〜{HOLIDAY}です（{HOLIDAY}は祝日・休業日）。")
        _check_day(session, people)
    session.execute(delete(DutySlot))
    for day, people in days.items():
        for position, staff_id in enumerate(people, start=1):
            session.add(DutySlot(day=day, position=position, staff_id=staff_id))
    audit(session, actor, "duty.weekly", "duty", "weekly", {str(day): list(people) for day, people in days.items()})


def overrides(session: Session, since: date) -> dict[date, list[Staff]]:
    """Dated overrides from `since` on, each date's people in calling order."""
    rows = session.execute(select(DutyOverride, Staff).join(Staff, Staff.id == DutyOverride.staff_id)
                           .where(DutyOverride.on >= since).order_by(DutyOverride.on, DutyOverride.position)).all()
    found: dict[date, list[Staff]] = {}
    for override, staff in rows:
        found.setdefault(override.on, []).append(staff)
    return found


def set_override(session: Session, day: date, staff_ids: Sequence[int], actor: str) -> None:
    """Who is on duty on `day`, in order, instead of the weekly grid; no one listed: the grid again."""
    _check_day(session, staff_ids)
    session.execute(delete(DutyOverride).where(DutyOverride.on == day))
    for position, staff_id in enumerate(staff_ids, start=1):
        session.add(DutyOverride(on=day, position=position, staff_id=staff_id))
    audit(session, actor, "duty.override", "duty", day.isoformat(), {"staff_ids": list(staff_ids)})


def page_due(session: Session, channels: Mapping[str, Channel], calendar: DutyCalendar, now: datetime,
             page_after: timedelta, escalate_after: timedelta) -> int:
    """Call the person on duty for what needs someone outside hours, then the next one while nobody
    takes it (after the last, the first again). While the desk is open, nobody is called and the
    calling of the night before is forgotten (its log stays in each conversation)."""
    chain = calling_order(session, calendar, now, channels)
    if not chain:
        session.execute(update(Conversation).where(Conversation.paged_at.is_not(None)).values(**NOT_CALLED)
                        .execution_options(synchronize_session=False))
        return 0
    needing = session.scalars(select(Conversation).where(Conversation.page_since.is_not(None),
                                                         Conversation.status.in_(("waiting", "human")))
                              .order_by(Conversation.id)).all()
    ids = [person.id for person in chain]
    paged = 0
    for conversation in needing:
        if conversation.paged_at is None or conversation.paged_staff_id not in ids:
            # Not called yet, or called from another day's rota: this rota's first person.
            since = now - (conversation.page_since or now)
            if conversation.urgency != "emergency" and since < page_after:
                continue
            position = 1
        elif now - conversation.paged_at >= escalate_after:
            position = (ids.index(conversation.paged_staff_id) + 1) % len(chain) + 1  # the next after them today
        else:
            continue
        # Taken by one process only: several workers run these timers.
        seen = Conversation.paged_at
        if session.execute(update(Conversation).where(
                Conversation.id == conversation.id, Conversation.page_since.is_not(None),
                seen.is_(None) if conversation.paged_at is None else seen == conversation.paged_at)
                .values(paged_at=now, paged_staff_id=ids[position - 1])
                .execution_options(synchronize_session=False)).rowcount != 1:
            continue
        _page(session, channels, conversation, chain[position - 1], position)
        paged += 1
    return paged


def reachable(person: Staff, channels: Mapping[str, Channel]) -> bool:
    """Whether a page reaches the person at night: by Slack DM when the desk has Slack (so they need a
    Slack user); without Slack, the console is the only way, and it is all there is."""
    return STAFF_CHANNEL not in channels or bool(person.slack_user_id)


def calling_order(session: Session, calendar: DutyCalendar, now: datetime,
                  channels: Mapping[str, Channel]) -> list[Staff]:
    """Who is called now, in order: those a page reaches first (reachable), in the rota's order, then
    the others (a page reaches them only in an open console)."""
    chain = on_duty(session, calendar, now)
    return [p for p in chain if reachable(p, channels)] + [p for p in chain if not reachable(p, channels)]


def first_on_duty(session: Session, calendar: DutyCalendar, now: datetime,
                  channels: Mapping[str, Channel]) -> str | None:
    """「看護師」: what the first person called is, for the resident's reply; None: no one a page reaches."""
    chain = calling_order(session, calendar, now, channels)
    return role_label(chain[0].role) if chain and reachable(chain[0], channels) else None


def _page(session: Session, channels: Mapping[str, Channel], conversation: Conversation, person: Staff,
          position: int) -> None:
    ways = ["管理画面"]
    if STAFF_CHANNEL in channels and reachable(person, channels):
        announce(session, channels, conversation.id, "page", person.slack_user_id,
                 urgent=conversation.urgency == "emergency")
        ways.insert(0, "SlackのDM")
    order = "" if position == 1 else f"（{position}番目の当番。前の当番が対応していないため）"
    record_event(session, conversation.id, f"当番の{person.name}さんに知らせました{order}: {'・'.join(ways)}。",
                 "timer", "page", {"staff_id": person.id, "position": position})


def _check_day(session: Session, staff_ids: Sequence[int]) -> None:
    """One day's people: at most POSITIONS, each once, each an active account."""
    if len(staff_ids) > POSITIONS:
        raise DutyError(f"1日の当番は{POSITIONS}人までです。")
    if len(set(staff_ids)) != len(staff_ids):
        raise DutyError("同じ日に同じ人が2回入っています。")
    known = set(session.scalars(select(Staff.id).where(Staff.id.in_(staff_ids), Staff.active)))
    missing = [sid for sid in staff_ids if sid not in known]
    if missing:
        raise DutyError(f"スタッフ #{missing[0]} は見つからないか、無効です。")
