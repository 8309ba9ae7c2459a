"""Business hours with Japanese public holidays and dated closures."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.hours import BusinessHours, HoursError

HOURS = BusinessHours.parse("mon-fri 08:30-17:15; sat 09:00-12:00", "12-29..01-03,2026-08-14", "Asia/Tokyo")


@pytest.mark.parametrize(("moment", "is_open"), [
    ("2026-11-24T10:00:00+09:00", True),   # Tuesday
    ("2026-11-24T08:29:00+09:00", False),  # before opening
    ("2026-11-24T17:15:00+09:00", False),  # closing time is closed
    ("2026-11-28T11:00:00+09:00", True),   # Saturday morning
    ("2026-11-29T11:00:00+09:00", False),  # Sunday
    ("2026-11-23T10:00:00+09:00", False),  # 勤労感謝の日 (public holiday, a Monday)
    ("2026-12-30T10:00:00+09:00", False),  # 年末年始
    ("2027-01-04T10:00:00+09:00", True),
    ("2026-08-14T10:00:00+09:00", False),  # a dated closure
])
def test_open_or_closed(moment: str, is_open: bool) -> None:
    assert HOURS.is_open(datetime.fromisoformat(moment)) is is_open


def test_next_opening_skips_holidays_and_the_new_year() -> None:
    opening = HOURS.next_opening(datetime.fromisoformat("2026-12-28T18:00:00+09:00"))
    assert opening is not None and opening.isoformat() == "2027-01-04T08:30:00+09:00"


def test_describe_is_japanese() -> None:
    assert HOURS.describe().startswith("平日 8:30〜17:15、土 9:00〜12:00")


@pytest.mark.parametrize("spec", ["weekdays 9-5", "mon-fri 17:00-09:00", "xyz 09:00-10:00"])
def test_bad_hours_are_a_clear_error(spec: str) -> None:
    with pytest.raises(HoursError):
        BusinessHours.parse(spec, "", "Asia/Tokyo")
