"""Canned replies (定型文): kept by coordinators, filled for the conversation and the staff member, put in
the reply box by code, and sent like any reply."""

from __future__ import annotations

import html
import re

from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, csrf_of, field_errors, handed_off
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, wait_until

BODY = "{利用者名}さん、{拠点名}の{担当者名}です。明日の午前中にお電話します。"


def test_coordinators_keep_canned_replies_and_mistakes_are_named(api: Api, staff: dict[str, Member]) -> None:
    assert api.post("/canned", staff["nurse"], json={"code": "x", "title": "x", "body": "x"}).status_code == 403
    created = api.post("/canned", staff["coordinator"], json={"code": "電話", "title": "折り返しの電話", "body": BODY})
    assert created.status_code == 201, created.text
    assert field_errors(api.post("/canned", staff["admin"], json={"code": "電話", "title": "t", "body": "b"})) == ["code"]
    assert field_errors(api.post("/canned", staff["admin"], json={"code": "a b", "title": "t", "body": "b"})) == ["code"]
    unknown = api.post("/canned", staff["admin"], json={"code": "ok", "title": "t", "body": "{利用者} 様"})
    assert field_errors(unknown) == ["body"] and "{利用者名}" in unknown.json()["detail"][0]["msg"]
    canned_id = created.json()["id"]
    changed = api.request("PUT", f"/canned/{canned_id}", staff["admin"],
                          json={"code": "電話", "title": "折り返し", "body": BODY})
    assert changed.status_code == 200 and changed.json()["title"] == "折り返し"
    assert [c["code"] for c in api.get("/canned", staff["msw"]).json()] == ["電話"]


def test_a_canned_reply_is_filled_for_the_conversation_and_reaches_the_resident(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api, line: FakeLinePlatform) -> None:
    _, conversation_id = handed_off(desk, database)
    name = api.get(f"/conversations/{conversation_id}", staff["nurse"]).json()["contact_name"]
    filled = {c["code"]: c["text"] for c in api.get(f"/conversations/{conversation_id}/canned", staff["nurse"]).json()}
    expected = BODY.replace("{利用者名}", name if not name.startswith("相談者 #") else "ご相談者") \
        .replace("{拠点名}", "須高地域 在宅医療・介護連携相談窓口（サンプル）").replace("{担当者名}", "佐藤 花子")
    assert filled["電話"] == expected

    console = console_login(desk, staff["nurse"])
    page = console.get(f"/admin/conversations/{conversation_id}")
    assert 'id="use"' not in page.text  # not theirs yet: no reply box to fill
    console.post(f"/admin/conversations/{conversation_id}/claim", data={"csrf": csrf_of(page.text)})
    page = console.get(f"/admin/conversations/{conversation_id}", params={"use": "電話"})
    box = html.unescape(re.search(r'<textarea id="reply"[^>]*>([^<]*)</textarea>', page.text).group(1))
    assert box == expected and 'id="canned-data"' in page.text
    sent = console.post(f"/admin/conversations/{conversation_id}/reply", data={"csrf": csrf_of(page.text), "text": box},
                        follow_redirects=True)
    assert "返信を送信しました" in sent.text
    wait_until(lambda: any("明日の午前中にお電話します" in t and "佐藤 花子" in t for t in line.texts()), timeout=8)
    console.close()


def test_the_console_canned_page_adds_edits_and_deletes(desk: DeskServer, staff: dict[str, Member]) -> None:
    nurse = console_login(desk, staff["nurse"])
    page = nurse.get("/admin/canned")
    assert page.status_code == 200 and "定型文を追加" not in page.text
    assert nurse.post("/admin/canned", data={"csrf": csrf_of(page.text), "code": "x"}).status_code == 403
    nurse.close()
    coordinator = console_login(desk, staff["coordinator"])
    csrf = csrf_of(coordinator.get("/admin/canned").text)
    bad = coordinator.post("/admin/canned", data={"csrf": csrf, "code": "hours", "title": "受付時間", "body": "{日時}"})
    assert bad.status_code == 422 and "{日時} は使えません" in bad.text
    saved = coordinator.post("/admin/canned", data={"csrf": csrf, "code": "hours", "title": "受付時間",
                                                    "body": "{拠点名}の受付は平日です。"}, follow_redirects=True)
    assert "定型文「hours」を保存しました" in saved.text and "/hours" in saved.text
    hours_id = re.search(r'data-code="hours" data-id="(\d+)"', saved.text).group(1)
    editing = coordinator.get(f"/admin/canned?edit={hours_id}").text
    assert "定型文を編集" in editing and f'name="id" value="{hours_id}"' in editing
    gone = coordinator.post(f"/admin/canned/{hours_id}/delete", data={"csrf": csrf}, follow_redirects=True)
    assert "定型文「hours」を削除しました" in gone.text and "/hours" not in gone.text
    coordinator.close()
