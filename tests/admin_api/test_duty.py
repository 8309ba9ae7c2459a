"""The duty rota (当番): who is called outside hours, the resident told truly who knows, the person on
duty paged by Slack DM and in the console, the next one when nobody takes it, and the calling stopped by
a claim. The desk here is always closed: every date is a closure, so the rota's holiday column applies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from time import sleep

import pytest

from bot.hours import BusinessHours
from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, csrf_of, field_errors, handed_off
from tests.fakes.line_platform import FakeLinePlatform
from tests.fakes.slack_platform import FakeSlackPlatform
from tests.support import SLACK_BOT_TOKEN, DeskServer, line_body, wait_until
from zaitaku_desk.duty import HOLIDAY, DutyCalendar
from zaitaku_desk.staff import create_staff

NIGHT_NURSE, NIGHT_MSW = "U0DUTYNURSE", "U0DUTYMSW"


@pytest.fixture(scope="module")
def desk_env(fake_slack: FakeSlackPlatform) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_SIGNING_SECRET": "duty-secret", "SLACK_API_BASE_URL": fake_slack.url,
            "SLACK_STAFF_CHANNEL": "C0STAFFDUTY", "BUSINESS_HOURS": "mon 00:00-00:01", "CLOSED_DATES": "01-01..12-31",
            "EMERGENCY_REMINDER_MINUTES": "60", "HANDOFF_REMINDER_MINUTES": "60",
            "DUTY_PAGE_AFTER_MINUTES": "0.05", "DUTY_ESCALATE_MINUTES": "0.1"}


@pytest.fixture(scope="module")
def night(database: Database) -> dict[str, Member]:
    nurse = create_staff(database, "夜勤 看護", "nurse", NIGHT_NURSE)
    msw = create_staff(database, "夜勤 相談", "msw", NIGHT_MSW)
    return {"nurse": Member(*nurse, "夜勤 看護", "nurse"), "msw": Member(*msw, "夜勤 相談", "msw")}


def dms(slack: FakeSlackPlatform, user: str, conversation_id: int) -> list[str]:
    """What the desk sent to the user's DM about the conversation (posted to the user's id, as Slack allows)."""
    return [text for call in slack.calls_to("chat.postMessage") if call.ok and call.args.get("channel") == user
            and f"相談 #{conversation_id}、" in (text := str(call.args.get("text")))]


def transcript(api: Api, who: Member, conversation_id: int) -> list[str]:
    return [line["text"] for line in api.get(f"/conversations/{conversation_id}", who).json()["transcript"]]


def test_the_duty_day_runs_from_the_changeover_and_holidays_have_their_own_column() -> None:
    calendar = DutyCalendar(BusinessHours.parse("mon-fri 08:30-17:15", "12-29..01-03", "Asia/Tokyo"), time(8, 30))
    friday_night, saturday_dawn = datetime(2026, 12, 4, 14, tzinfo=UTC), datetime(2026, 12, 4, 23, tzinfo=UTC)
    assert calendar.duty_date(friday_night) == calendar.duty_date(saturday_dawn) == date(2026, 12, 4)  # 23:00, 08:00 JST
    assert calendar.duty_date(datetime(2026, 12, 4, 23, 31, tzinfo=UTC)) == date(2026, 12, 5)  # Saturday 08:31
    assert calendar.column(date(2026, 12, 4)) == 4 and calendar.column(date(2026, 12, 6)) == 6
    assert calendar.column(date(2027, 1, 11)) == HOLIDAY  # 成人の日
    assert calendar.column(date(2026, 12, 30)) == HOLIDAY  # the desk's own year-end closure


def rota(api: Api, coordinator: Member, *people: Member) -> dict:
    """The weekly rota set to `people` on every day (this desk is always closed: the holiday column
    applies), and no dated override for today."""
    today = api.get("/duty", coordinator).json()["now"]["duty_date"]
    api.request("PUT", f"/duty/overrides/{today}", coordinator, json={"staff_ids": []})
    saved = api.request("PUT", "/duty/weekly", coordinator,
                        json={"days": {str(day): [p.id for p in people] for day in range(HOLIDAY + 1)}})
    assert saved.status_code == 200, saved.text
    return saved.json()


def test_nobody_on_duty_the_resident_is_told_so_and_given_the_24_hour_lines(
        desk: DeskServer, database: Database, line: FakeLinePlatform, staff: dict[str, Member], api: Api) -> None:
    now = rota(api, staff["coordinator"])["now"]
    assert now["desk_open"] is False and now["people"] == []
    handed_off(desk, database, "父が息をしていない")
    reply = wait_until(lambda: next((t for t in line.texts() if "今すぐ119番" in t), None), timeout=8)
    assert "当番の担当者もいません" in reply and "24時間の連絡先" in reply and "当番の看護師に" not in reply


def test_only_coordinators_and_admins_set_the_rota_and_bad_staff_are_named(
        api: Api, staff: dict[str, Member], night: dict[str, Member]) -> None:
    assert api.request("PUT", "/duty/weekly", staff["nurse"], json={"days": {}}).status_code == 403
    assert field_errors(api.request("PUT", "/duty/weekly", staff["coordinator"],
                                    json={"days": {str(HOLIDAY): [999_999]}})) == ["days"]
    assert field_errors(api.request("PUT", "/duty/weekly", staff["coordinator"],
                                    json={"days": {"9": [night["nurse"].id]}})) == ["days"]
    assert field_errors(api.request("PUT", "/duty/weekly", staff["coordinator"],
                                    json={"days": {"1": [night["nurse"].id, night["nurse"].id]}})) == ["days"]
    assert field_errors(api.request("PUT", "/duty/overrides/2026-12-24", staff["admin"],
                                    json={"staff_ids": [1, 1]})) == ["staff_ids"]


def test_an_emergency_pages_the_person_on_duty_then_the_next_until_someone_takes_it(
        desk: DeskServer, database: Database, line: FakeLinePlatform, slack: FakeSlackPlatform,
        staff: dict[str, Member], night: dict[str, Member], api: Api) -> None:
    saved = rota(api, staff["coordinator"], night["nurse"], night["msw"])
    assert [p["name"] for p in saved["now"]["people"]] == ["夜勤 看護", "夜勤 相談"]

    _, conversation_id = handed_off(desk, database, "母が倒れて意識がない")
    reply = wait_until(lambda: next((t for t in line.texts() if "今すぐ119番" in t), None), timeout=8)
    assert "当番の看護師にもこの相談を知らせました" in reply
    first = wait_until(lambda: dms(slack, NIGHT_NURSE, conversation_id), timeout=12)
    assert "緊急" in first[0] and "対応する" in first[0]
    # In the console too: the queue row says whom the rota is calling.
    rows = console_login(desk, night["nurse"]).get("/admin/queue/rows").text
    assert f'data-id="{conversation_id}"' in rows and "を呼び出し中" in rows
    # Nobody takes it: the next on the rota is called, and the conversation's log says so.
    wait_until(lambda: dms(slack, NIGHT_MSW, conversation_id), timeout=20)
    log = transcript(api, staff["nurse"], conversation_id)
    assert any("当番の夜勤 看護さんに知らせました" in t for t in log)
    assert any("当番の夜勤 相談さんに知らせました（2番目の当番" in t for t in log)

    assert api.post(f"/conversations/{conversation_id}/claim", night["msw"]).status_code == 200
    slack.reset()
    _, quiet = handed_off(desk, database)  # an ordinary hand-off: paged too, after a while
    assert "引き継ぎ" in wait_until(lambda: dms(slack, NIGHT_NURSE, quiet), timeout=15)[0]
    assert dms(slack, NIGHT_NURSE, conversation_id) == dms(slack, NIGHT_MSW, conversation_id) == []  # taken: quiet


def test_an_emergency_in_a_conversation_someone_owns_pages_the_person_on_duty_who_may_take_it_over(
        desk: DeskServer, database: Database, line: FakeLinePlatform, slack: FakeSlackPlatform,
        staff: dict[str, Member], night: dict[str, Member], api: Api) -> None:
    rota(api, staff["coordinator"], night["msw"], night["nurse"])
    user, conversation_id = handed_off(desk, database)
    assert api.post(f"/conversations/{conversation_id}/claim", staff["nurse"]).status_code == 200
    slack.reset()
    desk.post_line(line_body("message-text", user=user, text="父が急に息をしなくなりました"))
    reply = wait_until(lambda: next((t for t in line.texts() if "今すぐ119番" in t), None), timeout=8)
    assert "当番のMSWにもこの相談を知らせました" in reply
    page = wait_until(lambda: dms(slack, NIGHT_MSW, conversation_id), timeout=12)[0]
    assert "緊急" in page and "担当の佐藤 花子さんがまだ返信していません" in page
    # Another message while the calling goes on does not start it again: the next call is the next person.
    desk.post_line(line_body("message-text", user=user, text="まだ息をしていません"))
    wait_until(lambda: dms(slack, NIGHT_NURSE, conversation_id), timeout=20)
    assert len(dms(slack, NIGHT_MSW, conversation_id)) == 1
    # Only the person being called may take it over from an owner who does not answer; then it stops.
    assert api.post(f"/conversations/{conversation_id}/claim", night["msw"]).status_code == 409
    assert api.post(f"/conversations/{conversation_id}/claim", night["nurse"]).status_code == 200
    slack.reset()
    sleep(8)  # past the escalation time
    assert dms(slack, NIGHT_MSW, conversation_id) == dms(slack, NIGHT_NURSE, conversation_id) == []


def test_a_dated_override_replaces_the_week_for_that_day(
        desk: DeskServer, database: Database, line: FakeLinePlatform, staff: dict[str, Member],
        night: dict[str, Member], api: Api) -> None:
    rota(api, staff["coordinator"], night["nurse"])
    today = api.get("/duty", staff["nurse"]).json()["now"]["duty_date"]
    changed = api.request("PUT", f"/duty/overrides/{today}", staff["admin"], json={"staff_ids": [night["msw"].id]})
    assert changed.status_code == 200 and [p["name"] for p in changed.json()["now"]["people"]] == ["夜勤 相談"]
    handed_off(desk, database, "夫が息をしていません")
    reply = wait_until(lambda: next((t for t in line.texts() if "今すぐ119番" in t), None), timeout=8)
    assert "当番のMSWにもこの相談を知らせました" in reply
    back = api.request("PUT", f"/duty/overrides/{today}", staff["admin"], json={"staff_ids": []})
    assert back.json()["overrides"] == [] and back.json()["now"]["people"][0]["name"] == "夜勤 看護"


def test_the_console_duty_page_shows_the_rota_and_lets_coordinators_change_it(
        desk: DeskServer, staff: dict[str, Member], night: dict[str, Member], api: Api) -> None:
    nurse = console_login(desk, staff["nurse"])
    page = nurse.get("/admin/duty")
    assert page.status_code == 200 and "週の当番表" in page.text and "当番表を保存" not in page.text
    assert nurse.post("/admin/duty/weekly", data={"csrf": csrf_of(page.text)}).status_code == 403
    coordinator = console_login(desk, staff["coordinator"])
    page = coordinator.get("/admin/duty")
    saved = coordinator.post("/admin/duty/weekly", follow_redirects=True, data={
        "csrf": csrf_of(page.text), f"d{HOLIDAY}p1": str(night["msw"].id), f"d{HOLIDAY}p2": str(night["nurse"].id),
        "d5p1": str(night["nurse"].id)})
    assert "週の当番表を保存しました" in saved.text and "今の当番" in saved.text
    assert [p["name"] for p in api.get("/duty", staff["msw"]).json()["now"]["people"]] == ["夜勤 相談", "夜勤 看護"]
    dated = coordinator.post("/admin/duty/override", follow_redirects=True, data={
        "csrf": csrf_of(page.text), "on": "2099-12-24", "p1": str(night["nurse"].id)})
    assert "12月24日の当番を設定しました" in dated.text and "2099-12-24" in dated.text
    bad = coordinator.post("/admin/duty/override", follow_redirects=True, data={"csrf": csrf_of(page.text), "on": "x"})
    assert "日付を選んでください" in bad.text
    nurse.close()
    coordinator.close()
