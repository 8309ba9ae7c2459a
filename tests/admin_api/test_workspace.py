"""The staff workspace around one conversation: labels and the queue's label filter, a snooze until a
time with its reason said again at wake-up, the contact's earlier conversations with their outcomes, and
the transcript exported for the care record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, csrf_of, field_errors, handed_off
from tests.support import DeskServer, line_body, wait_until

TOKYO = ZoneInfo("Asia/Tokyo")  # the desk's TIMEZONE


def test_labels_go_on_and_off_and_the_queue_filters_by_them(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    _, labelled = handed_off(desk, database, "母の退院後の生活について相談したい")
    _, other = handed_off(desk, database)
    nurse = staff["nurse"]
    assert api.post(f"/conversations/{labelled}/labels", nurse, json={"label": "要訪問"}).json()["labels"] == ["要訪問"]
    assert api.post(f"/conversations/{labelled}/labels", nurse, json={"label": " 要訪問 "}).json()["labels"] == ["要訪問"]
    assert field_errors(api.post(f"/conversations/{labelled}/labels", nurse, json={"label": "x" * 21})) == ["label"]
    assert api.post("/conversations/999999/labels", nurse, json={"label": "a"}).status_code == 404

    filtered = api.get("/queue", nurse, params={"label": "要訪問"}).json()
    assert [row["id"] for row in filtered] == [labelled] and filtered[0]["labels"] == ["要訪問"]
    assert {"label": "要訪問", "conversations": 1} in api.get("/labels", nurse).json()
    # In the console: a label put on by form, and the queue's label filter.
    console = console_login(desk, staff["msw"])
    page = console.get(f"/admin/conversations/{other}")
    console.post(f"/admin/conversations/{other}/label", data={"csrf": csrf_of(page.text), "label": "ケアマネ連絡済"})
    queue = console.get("/admin/", params={"label": "ケアマネ連絡済"}).text
    assert f'data-id="{other}"' in queue and f'data-id="{labelled}"' not in queue
    assert '<option value="要訪問"' in queue  # the filter offers the labels in use
    console.post(f"/admin/conversations/{other}/unlabel", data={"csrf": csrf_of(page.text), "label": "ケアマネ連絡済"})
    assert api.get(f"/conversations/{other}", nurse).json()["labels"] == []
    log = [line["text"] for line in api.get(f"/conversations/{other}", nurse).json()["transcript"]]
    assert "鈴木 一郎さんがラベル「ケアマネ連絡済」を付けました。" in log and "鈴木 一郎さんがラベル「ケアマネ連絡済」を外しました。" in log
    console.close()


def test_a_snooze_until_a_time_wakes_back_to_its_owner_with_its_reason(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    _, conversation_id = handed_off(desk, database)
    nurse = staff["nurse"]
    assert api.post(f"/conversations/{conversation_id}/claim", nurse).status_code == 200
    until = datetime.now(UTC) + timedelta(seconds=2)
    snoozed = api.post(f"/conversations/{conversation_id}/snooze", nurse,
                       json={"until": until.isoformat(), "reason": "ケアマネからの折り返し待ち"})
    assert snoozed.json()["status"] == "snoozed"
    seen = api.get(f"/conversations/{conversation_id}", nurse).json()
    assert seen["snooze_reason"] == "ケアマネからの折り返し待ち" and seen["status"] == "snoozed"
    assert f'data-id="{conversation_id}"' in console_login(desk, nurse).get("/admin/", params={"tab": "snoozed"}).text
    woken = wait_until(lambda: (c := api.get(f"/conversations/{conversation_id}", nurse).json())["status"] == "human"
                       and c, timeout=15)
    assert woken["snooze_reason"] is None and woken["assignee_id"] == nurse.id
    log = [line["text"] for line in woken["transcript"]]
    assert any(t.startswith("佐藤 花子さん: 保留にしました。") and "ケアマネからの折り返し待ち" in t for t in log)
    assert any(t.startswith("保留の期限になりました。") and "ケアマネからの折り返し待ち" in t for t in log)


def test_the_console_snoozes_until_a_typed_time_or_tomorrow_at_nine(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    _, conversation_id = handed_off(desk, database)
    console = console_login(desk, staff["msw"])
    page = console.get(f"/admin/conversations/{conversation_id}")
    csrf = csrf_of(page.text)
    console.post(f"/admin/conversations/{conversation_id}/claim", data={"csrf": csrf})
    done = console.post(f"/admin/conversations/{conversation_id}/snooze", follow_redirects=True,
                        data={"csrf": csrf, "minutes": "tomorrow9", "until": "", "reason": "家族の帰宅待ち"})
    local = datetime.now(TOKYO)
    morning = (local + timedelta(days=0 if local.hour < 6 else 1)).date()  # the coming morning
    assert "保留にしました" in done.text and f"{morning.isoformat()} 09:00 まで（理由: 家族の帰宅待ち）" in done.text
    console.post(f"/admin/conversations/{conversation_id}/claim", data={"csrf": csrf})
    # A time typed in the console is the hub's local time.
    day = (local + timedelta(days=2)).date()
    console.post(f"/admin/conversations/{conversation_id}/snooze", data={"csrf": csrf, "until": f"{day}T10:30"})
    until = api.get(f"/conversations/{conversation_id}", staff["msw"]).json()["snoozed_until"]
    assert datetime.fromisoformat(until) == datetime(day.year, day.month, day.day, 10, 30, tzinfo=TOKYO)
    console.post(f"/admin/conversations/{conversation_id}/claim", data={"csrf": csrf})
    typed = console.post(f"/admin/conversations/{conversation_id}/snooze", follow_redirects=True,
                         data={"csrf": csrf, "minutes": "30", "until": "2099-01-01T10:00"})
    assert "30日以内" in typed.text  # the typed time wins over the length, and is checked
    wrong = console.post(f"/admin/conversations/{conversation_id}/snooze", follow_redirects=True,
                         data={"csrf": csrf, "until": "あした"})
    assert "再開する日時を正しく入力してください" in wrong.text
    console.close()


def test_the_contact_panel_lists_earlier_conversations_with_their_outcome(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    user, first = handed_off(desk, database)
    nurse = staff["nurse"]
    api.post(f"/conversations/{first}/claim", nurse)
    assert api.post(f"/conversations/{first}/resolve", nurse).status_code == 200
    desk.post_line(line_body("message-text", user=user, text="また相談したいので人と話したい"))
    second = wait_until(lambda: next((row["id"] for row in api.get("/queue", nurse).json()
                                      if row["id"] > first and row["preview"] and "また相談" in row["preview"]), None),
                        timeout=8)
    contact_id = api.get(f"/conversations/{second}", nurse).json()["contact_id"]
    history = api.get(f"/contacts/{contact_id}", nurse).json()["conversations"]
    assert [(c["id"], c["outcome"]) for c in history] == [(second, "対応待ち"), (first, "解決（佐藤 花子）")]
    page = console_login(desk, nurse).get(f"/admin/conversations/{second}").text
    assert "これまでの相談" in page and f'href="/admin/conversations/{first}"' in page and "解決（佐藤 花子）" in page


def test_a_transcript_exports_as_text_for_the_care_record(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    _, conversation_id = handed_off(desk, database, "父の褥瘡のことで看護師さんと話したい")
    nurse = staff["nurse"]
    api.post(f"/conversations/{conversation_id}/claim", nurse)
    api.post(f"/conversations/{conversation_id}/notes", nurse, json={"text": "訪問看護ステーションに確認する"})
    exported = api.get(f"/conversations/{conversation_id}/transcript.txt", nurse)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/plain")
    assert f'conversation-{conversation_id}.txt' in exported.headers["content-disposition"]
    text = exported.text
    assert f"相談番号: #{conversation_id}" in text and "担当: 佐藤 花子" in text
    assert "相談者: 父の褥瘡のことで看護師さんと話したい" in text
    assert "【メモ】佐藤 花子: 訪問看護ステーションに確認する" in text
    assert "【記録】佐藤 花子さんが対応を始めました。" in text
    assert text.index("相談者: 父の褥瘡") < text.index("【メモ】佐藤")  # in the order it happened
    console = console_login(desk, staff["msw"])
    assert console.get(f"/admin/conversations/{conversation_id}/transcript.txt").text.count("【メモ】佐藤") == 1
    assert console.get("/admin/conversations/999999/transcript.txt").status_code == 404
    console.close()
