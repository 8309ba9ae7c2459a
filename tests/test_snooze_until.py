"""When a snooze set in the console ends: a typed time is the hub's local time unless it names its zone,
「明日9時」 is the coming morning (after midnight, that is still today's 9:00), a length counts from now."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from starlette.datastructures import FormData

from admin_api.console import Form, snooze_until
from zaitaku_desk.handoff import HandoffError

TOKYO = ZoneInfo("Asia/Tokyo")


def until(now_local: str, **fields: str) -> datetime:
    now = datetime.fromisoformat(now_local).replace(tzinfo=TOKYO).astimezone(UTC)
    return snooze_until(Form(FormData(fields)), TOKYO, now).astimezone(TOKYO)


@pytest.mark.parametrize(("now", "expected"), [
    ("2026-12-07T14:00", "2026-12-08T09:00"),  # afternoon: tomorrow
    ("2026-12-07T23:50", "2026-12-08T09:00"),
    ("2026-12-08T00:30", "2026-12-08T09:00"),  # after midnight: the coming morning, not the next day's
    ("2026-12-08T06:10", "2026-12-09T09:00"),
])
def test_tomorrow_at_nine_is_the_coming_morning(now: str, expected: str) -> None:
    assert until(now, minutes="tomorrow9") == datetime.fromisoformat(expected).replace(tzinfo=TOKYO)


def test_a_typed_time_is_local_unless_it_names_its_zone_and_a_length_counts_from_now() -> None:
    assert until("2026-12-07T14:00", until="2026-12-09T10:30", minutes="30") == \
        datetime(2026, 12, 9, 10, 30, tzinfo=TOKYO)
    assert until("2026-12-07T14:00", until="2026-12-09T10:30+00:00") == datetime(2026, 12, 9, 19, 30, tzinfo=TOKYO)
    assert until("2026-12-07T14:00", minutes="180") == datetime(2026, 12, 7, 17, 0, tzinfo=TOKYO)
    for wrong in ({"until": "あした"}, {"minutes": "99999"}, {"minutes": ""}):
        with pytest.raises(HandoffError):
            until("2026-12-07T14:00", **wrong)
