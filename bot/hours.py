"""Business hours: weekly opening times, Japanese public holidays and dated closures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_LABELS = ["月", "火", "水", "木", "金", "土", "日"]
_RANGE = re.compile(r"^\s*(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*$")


class HoursError(ValueError):
    pass


@dataclass(frozen=True)
class BusinessHours:
    weekly: dict[int, tuple[time, time]]  # weekday → (open, close)
    closed_dates: tuple[str, ...]  # "MM-DD..MM-DD" every year, or "YYYY-MM-DD"
    tz: ZoneInfo
    observe_public_holidays: bool = True

    @classmethod
    def parse(cls, spec: str, closed: str, tz: str, observe_public_holidays: bool = True) -> BusinessHours:
        weekly: dict[int, tuple[time, time]] = {}
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            m = _RANGE.match(part)
            if not m or m.group(1) not in DAYS or (m.group(2) and m.group(2) not in DAYS):
                raise HoursError(f"cannot read business hours {part!r}; expected e.g. 'mon-fri 08:30-17:15'")
            first = DAYS.index(m.group(1))
            last = DAYS.index(m.group(2) or m.group(1))
            opens, closes = time(int(m.group(3)), int(m.group(4))), time(int(m.group(5)), int(m.group(6)))
            if closes <= opens:
                raise HoursError(f"closing time must be after opening time in {part!r}")
            for day in range(first, last + 1):
                weekly[day] = (opens, closes)
        dates = tuple(filter(None, (d.strip() for d in closed.split(","))))
        return cls(weekly, dates, ZoneInfo(tz), observe_public_holidays)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        span = self._span(local.date())
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, now: datetime) -> datetime | None:
        """The next time the desk opens after `now` (within 60 days)."""
        local = now.astimezone(self.tz)
        for offset in range(0, 60):
            day = local.date() + timedelta(days=offset)
            span = self._span(day)
            if span is None:
                continue
            opening = datetime.combine(day, span[0], self.tz)
            if opening > local:
                return opening
        return None

    def describe(self) -> str:
        """「平日 8:30〜17:15（土日祝・年末年始は休み）」-style text for replies."""
        groups: list[str] = []
        days = sorted(self.weekly)
        i = 0
        while i < len(days):
            j = i
            while j + 1 < len(days) and days[j + 1] == days[j] + 1 and self.weekly[days[j + 1]] == self.weekly[days[i]]:
                j += 1
            opens, closes = self.weekly[days[i]]
            label = "平日" if (days[i], days[j]) == (0, 4) else (
                DAY_LABELS[days[i]] if i == j else f"{DAY_LABELS[days[i]]}〜{DAY_LABELS[days[j]]}")
            groups.append(f"{label} {opens.hour}:{opens.minute:02d}〜{closes.hour}:{closes.minute:02d}")
            i = j + 1
        closed = "祝日・年末年始は休み" if self.observe_public_holidays else "年末年始は休み"
        return "、".join(groups) + f"（{closed}）"

    def _span(self, day: date) -> tuple[time, time] | None:
        if self.closed_on(day):
            return None
        return self.weekly.get(day.weekday())

    def closed_on(self, day: date) -> bool:
        """A public holiday (when observed) or one of the dated closures."""
        if self.observe_public_holidays and day in holidays.Japan(years=day.year):
            return True
        md = day.strftime("%m-%d")
        for rule in self.closed_dates:
            if ".." in rule:
                start, end = rule.split("..", 1)
                inside = start <= md <= end if start <= end else (md >= start or md <= end)
                if inside:
                    return True
            elif rule == day.isoformat() or rule == md:
                return True
        return False


def format_opening(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """「明日（11月24日 月曜）8:30」 style."""
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    when = {0: "本日", 1: "明日"}.get(days, "")
    stamp = f"{local.month}月{local.day}日（{DAY_LABELS[local.weekday()]}）{local.hour}:{local.minute:02d}"
    return f"{when}{stamp}" if not when else f"{when} {stamp}"
