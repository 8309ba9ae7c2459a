"""The console's knowledge pages and report over real HTTP: field errors in Japanese and nothing saved
on bad input, roles, CSRF, and changes that the bot uses at once (seen at the fake LINE platform)."""

from __future__ import annotations

import csv
import io
import re
from contextlib import closing

import httpx
import yaml
from sqlalchemy import select

from db.models import AuditLog, FaqEntry, Resource, UnansweredQuestion, Vacancy
from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, csrf_of
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until

FAQ_FORM = {"id": "resident.console_made", "audience": "resident", "question": "家族会の集まりはいつですか？",
            "answer": "家族会は毎月第2木曜の午後に開いています（サンプル）。{hub_name}へどうぞ。",
            "source": "拠点の案内（サンプル）", "next_step": "", "paraphrases": "家族会はいつ\n介護者の集まりの日程",
            "quick_replies": "", "tags": "家族会"}
RESOURCE_FORM = {"name": "コンソール訪問看護（サンプル）", "type": "visiting_nurse", "municipality": "須坂市",
                 "address": "", "latitude": "36.65", "longitude": "138.31", "phone": "000-0000-9001",
                 "hours": "平日 9:00-17:00", "capabilities": ["suction", "terminal_care"], "accepting_new": "true",
                 "notes": "", "source": "staff", "sample": "1"}


def errors_of(html: str) -> dict[str, str]:
    """Field → message, as the page shows them beside the fields."""
    return dict(re.findall(r'<p class="field-error" id="e-([a-z_]+)">([^<]*)</p>', html))


def audited(db: Database, action: str, target: str) -> bool:
    with db.session() as session:
        return session.scalars(select(AuditLog).where(AuditLog.action == action,
                                                      AuditLog.target_id == target)).first() is not None


def test_nurses_read_the_knowledge_but_only_coordinators_change_it(desk: DeskServer, database: Database,
                                                                   staff: dict[str, Member]) -> None:
    with closing(console_login(desk, staff["nurse"])) as client:
        listed = client.get("/admin/faq", params={"audience": "resident", "q": "訪問看護"})
        assert listed.status_code == 200 and "resident.visiting_nurse" in listed.text
        assert "新しいFAQを作る" not in listed.text and "活動報告" not in listed.text
        entry = client.get("/admin/faq/resident.visiting_nurse")
        assert entry.status_code == 200 and "<fieldset disabled>" in entry.text
        assert client.get("/admin/faq/new").status_code == 403
        assert client.get("/admin/faq/export").status_code == 403
        assert client.get("/admin/resources/new").status_code == 403
        assert client.get("/admin/reports").status_code == 403
        refused = client.post("/admin/faq/save", data={**FAQ_FORM, "id": "resident.by_nurse",
                                                       "csrf": csrf_of(entry.text)})
        assert refused.status_code == 403 and "コーディネーター・管理者だけ" in refused.text
    with database.session() as session:
        assert session.get(FaqEntry, "resident.by_nurse") is None
    with httpx.Client(base_url=desk.url, timeout=10.0) as anonymous:
        assert anonymous.get("/admin/faq").headers["location"] == "/admin/login"


def test_a_new_faq_from_the_editor_is_answered_at_once_and_bad_fields_are_named(
        desk: DeskServer, database: Database, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    with closing(console_login(desk, staff["coordinator"])) as client:
        csrf = csrf_of(client.get("/admin/faq/new").text)
        assert client.post("/admin/faq/save", data=FAQ_FORM).status_code == 403  # no CSRF token
        bad = client.post("/admin/faq/save", data={**FAQ_FORM, "csrf": csrf, "id": "Bad Id", "question": "  ",
                                                   "answer": "{hub_fax}へ", "audience": "everyone"})
        assert bad.status_code == 422
        errors = errors_of(bad.text)
        assert set(errors) == {"id", "question", "answer", "audience"}
        assert errors["question"] == "空にはできません" and "hub_fax" in errors["answer"]
        assert errors["audience"] == "選択肢から選んでください。"
        assert "家族会はいつ" in bad.text  # what was typed is kept
        with database.session() as session:
            assert session.get(FaqEntry, "Bad Id") is None

        saved = client.post("/admin/faq/save", data={**FAQ_FORM, "csrf": csrf})
        assert saved.status_code == 303 and saved.headers["location"].startswith("/admin/faq/resident.console_made")
        again = client.post("/admin/faq/save", data={**FAQ_FORM, "csrf": csrf})
        assert again.status_code == 422 and "すでにあります" in errors_of(again.text)["id"]
        assert audited(database, "faq.create", FAQ_FORM["id"])

        user = new_user()
        desk.post_line(line_body("message-text", user=user, text="家族会はいつ"))
        wait_until(lambda: any("第2木曜の午後" in t for t in line.texts()), timeout=8)

        edit = client.post("/admin/faq/save", data={**FAQ_FORM, "csrf": csrf, "original_id": FAQ_FORM["id"],
                                                    "answer": "家族会は毎月第3金曜の午前です（サンプル）。"},
                           follow_redirects=True)
        assert "保存しました" in edit.text and "第3金曜" in edit.text
        line.reset()
        desk.post_line(line_body("message-text", user=new_user(), text="家族会はいつ"))
        wait_until(lambda: any("第3金曜の午前" in t for t in line.texts()), timeout=8)

        retired = client.post(f"/admin/faq/{FAQ_FORM['id']}/retire", data={"csrf": csrf}, follow_redirects=True)
        assert "使用を停止しました" in retired.text and "使用停止中" in retired.text
        assert FAQ_FORM["id"] not in client.get("/admin/faq").text
        assert FAQ_FORM["id"] in client.get("/admin/faq", params={"retired": "true"}).text
        exported = yaml.safe_load(client.get("/admin/faq/export").content)
        assert FAQ_FORM["id"] not in {e["id"] for e in exported["entries"]} and len(exported["entries"]) >= 72


def test_resources_are_added_edited_retired_and_short_stay_beds_updated(
        desk: DeskServer, database: Database, staff: dict[str, Member]) -> None:
    with closing(console_login(desk, staff["admin"])) as client:
        csrf = csrf_of(client.get("/admin/resources/new").text)
        bad = client.post("/admin/resources/save", data={**RESOURCE_FORM, "csrf": csrf, "name": "",
                                                         "latitude": "北緯36", "longitude": "200",
                                                         "phone": "電話してね", "type": "",
                                                         "capabilities": ["telepathy"]})
        assert bad.status_code == 422
        errors = errors_of(bad.text)
        assert set(errors) == {"name", "latitude", "longitude", "phone", "type", "capabilities"}
        assert errors["latitude"] == "数値で入力してください。" and errors["longitude"] == "180以下で入力してください。"
        assert "数字とハイフン" in errors["phone"]

        saved = client.post("/admin/resources/save", data={**RESOURCE_FORM, "csrf": csrf})
        assert saved.status_code == 303
        resource_id = saved.headers["location"].split("/")[-1].split("?")[0]
        with database.session() as session:
            row = session.get(Resource, resource_id)
            assert (row.name, row.capabilities, row.accepting_new, row.sample) == (
                RESOURCE_FORM["name"], ["suction", "terminal_care"], True, True)
        listed = client.get("/admin/resources", params={"type": "visiting_nurse", "municipality": "須坂市"})
        assert RESOURCE_FORM["name"] in listed.text

        changed = client.post("/admin/resources/save", data={**RESOURCE_FORM, "csrf": csrf, "original_id": resource_id,
                                                             "accepting_new": "false", "phone": "000-0000-9002"},
                              follow_redirects=True)
        assert "保存しました" in changed.text and "000-0000-9002" in changed.text
        with database.session() as session:
            entry = session.scalars(select(AuditLog).where(AuditLog.action == "resource.update",
                                                           AuditLog.target_id == resource_id)).one()
            assert entry.detail["before"] == {"phone": "000-0000-9001", "accepting_new": True}

        client.post(f"/admin/resources/{resource_id}/retire", data={"csrf": csrf})
        assert RESOURCE_FORM["name"] not in client.get("/admin/resources").text
        client.post(f"/admin/resources/{resource_id}/reinstate", data={"csrf": csrf})
        assert RESOURCE_FORM["name"] in client.get("/admin/resources").text
        assert audited(database, "resource.retire", resource_id) and audited(database, "resource.reinstate", resource_id)

        with database.session() as session:
            short_stay = session.scalars(select(Resource.id).where(Resource.type == "short_stay")).first()
        page = client.get(f"/admin/resources/{short_stay}")
        assert "空床を更新する" in page.text
        refused = client.post(f"/admin/resources/{short_stay}/vacancy", data={"csrf": csrf, "beds": "-1"},
                              follow_redirects=True)
        assert "0〜999の整数" in refused.text
        updated = client.post(f"/admin/resources/{short_stay}/vacancy", data={"csrf": csrf, "beds": "3"},
                              follow_redirects=True)
        assert "3 床" in updated.text
        with database.session() as session:
            assert session.get(Vacancy, short_stay).available_beds == 3
        exported = client.get("/admin/resources/export")
        assert exported.content.startswith(b"\xef\xbb\xbf") and RESOURCE_FORM["name"] in exported.text


def test_unanswered_questions_become_paraphrases_or_new_entries_or_are_dismissed(
        desk: DeskServer, database: Database, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    odd = "<b>ふわふわ</b>のやつの手続き"
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text=odd))

    def recorded() -> UnansweredQuestion | None:
        with database.session() as session:
            return session.scalars(select(UnansweredQuestion).where(UnansweredQuestion.text == odd)).first()
    question = wait_until(recorded, timeout=8)
    with database.session() as session:
        others = [UnansweredQuestion(text=text, reason="unhelpful", candidates=[])
                  for text in ("往診医の名前を知りたい", "テスト送信です")]
        session.add_all(others)
        session.flush()
        new_id, dismiss_id = others[0].id, others[1].id

    with closing(console_login(desk, staff["coordinator"])) as client:
        page = client.get("/admin/unanswered")
        assert "&lt;b&gt;ふわふわ&lt;/b&gt;" in page.text and "<b>ふわふわ" not in page.text
        csrf = csrf_of(page.text)
        unknown = client.post(f"/admin/unanswered/{question.id}/paraphrase",
                              data={"csrf": csrf, "faq_id": "resident.nothing_here"}, follow_redirects=True)
        assert "FAQ が見つかりません" in unknown.text
        added = client.post(f"/admin/unanswered/{question.id}/paraphrase",
                            data={"csrf": csrf, "faq_id": "resident.visiting_nurse"}, follow_redirects=True)
        assert "言い換えに追加しました" in added.text
        line.reset()
        desk.post_line(line_body("message-text", user=new_user(), text=odd))
        wait_until(lambda: any("訪問看護指示書" in t for t in line.texts()), timeout=8)

        form = client.get("/admin/faq/new", params={"unanswered": new_id})
        assert "未回答の質問 #" in form.text and 'value="往診医の名前を知りたい"' in form.text
        made = client.post("/admin/faq/save", data={
            **FAQ_FORM, "csrf": csrf, "unanswered": str(new_id), "id": "resident.doctor_names_console",
            "question": "往診医の名前を知りたい", "answer": "担当の医師名は{hub_name}にお問い合わせください。",
            "paraphrases": ""})
        assert made.status_code == 303
        client.post(f"/admin/unanswered/{dismiss_id}/dismiss", data={"csrf": csrf})
        remaining = client.get("/admin/unanswered").text
        assert f'data-id="{new_id}"' not in remaining and f'data-id="{dismiss_id}"' not in remaining
        handled = client.get("/admin/unanswered", params={"handled": "true"}).text
        assert "（対象外）" in handled and "resident.doctor_names_console" in handled
    assert audited(database, "unanswered.dismiss", str(dismiss_id))
    with database.session() as session:
        assert session.get(UnansweredQuestion, new_id).handled_faq_id == "resident.doctor_names_console"


def test_the_report_page_shows_the_figures_with_charts_and_the_csv(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    with closing(console_login(desk, staff["coordinator"])) as client:
        page = client.get("/admin/reports")  # this fiscal year by default
        assert page.status_code == 200 and "活動報告" in page.text
        start = re.search(r'name="from" value="(\d{4})-04-01"', page.text)
        assert start, "the default period starts on 1 April"
        period = {"from": "2000-01-01", "to": "2099-12-31"}
        page = client.get("/admin/reports", params=period)
        figures = api.get("/reports", staff["coordinator"], params=period).json()
        shown = re.search(r'id="fig-consultations">(\d+)<', page.text)
        assert shown and int(shown.group(1)) == figures["consultations"] > 0
        assert page.text.count('class="bar"') >= len(figures["by_channel"]) + len(figures["by_month"])
        assert "月別の相談件数" in page.text and "<svg" in page.text

        bad = client.get("/admin/reports", params={"from": "2020-04-30", "to": "2020-04-01"})
        assert bad.status_code == 422 and "終了日が開始日より前です" in bad.text
        unreadable = client.get("/admin/reports", params={"from": "4月1日"})
        assert unreadable.status_code == 422 and "YYYY-MM-DD" in unreadable.text

        exported = client.get("/admin/reports.csv", params=period)
        assert exported.content.startswith(b"\xef\xbb\xbf")
        rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(exported.content.decode("utf-8-sig")))}
        assert rows[("相談件数", "合計")] == str(figures["consultations"])
