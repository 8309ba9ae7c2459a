"""FAQ editing (the bot answers with the new text at once), retiring, export, and the unanswered list."""

from __future__ import annotations

import yaml
from sqlalchemy import select

from db.models import AuditLog, FaqEntry, UnansweredQuestion
from db.session import Database
from tests.admin_api.conftest import Api, Member, field_errors
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until

ENTRY = {"id": "resident.admin_api_test", "audience": "resident",
         "question": "ゆずの里デイサービスの見学はできますか？",
         "paraphrases": ["ゆずの里デイサービスを見学したい"],
         "answer": "ゆずの里デイサービスの見学は平日午後に受け付けています。{hub_name}までご連絡ください。",
         "source": "general", "tags": ["テスト"]}


def _audited(db: Database, action: str, target: str) -> bool:
    with db.session() as session:
        return session.scalars(select(AuditLog).where(AuditLog.action == action, AuditLog.target_id == target)
                               ).first() is not None


def test_knowledge_changes_need_a_coordinator_or_admin(api: Api, staff: dict[str, Member]) -> None:
    assert api.get("/faq").status_code == 401
    assert api.get("/faq", staff["nurse"]).status_code == 200  # everyone reads
    for role in ("nurse", "msw"):
        assert api.post("/faq", staff[role], json=ENTRY).status_code == 403
        assert api.request("PUT", "/faq/resident.x", staff[role], json=ENTRY).status_code == 403
        assert api.post("/faq/resident.x/retire", staff[role]).status_code == 403
        assert api.get("/faq/export", staff[role]).status_code == 403
        assert api.post("/unanswered/1/make-faq", staff[role], json={"paraphrase_of": "x"}).status_code == 403


def test_an_invalid_entry_names_the_field(api: Api, staff: dict[str, Member]) -> None:
    c = staff["coordinator"]
    assert field_errors(api.post("/faq", c, json={**ENTRY, "id": "Bad Id"})) == ["id"]
    assert field_errors(api.post("/faq", c, json={**ENTRY, "audience": "doctor"})) == ["audience"]
    assert field_errors(api.post("/faq", c, json={**ENTRY, "answer": "  "})) == ["answer"]
    assert field_errors(api.post("/faq", c, json={**ENTRY, "answer": "{secret}を見て"})) == ["answer"]
    assert field_errors(api.post("/faq", c, json={k: v for k, v in ENTRY.items() if k != "source"})) == ["source"]
    assert api.get("/faq/resident.nothing_here", c).status_code == 404


def test_a_new_entry_is_answered_by_the_bot_at_once_then_edited_and_retired(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    c = staff["coordinator"]
    created = api.post("/faq", c, json=ENTRY)
    assert created.status_code == 201 and created.json()["active"] is True
    assert api.post("/faq", c, json=ENTRY).status_code == 409
    assert _audited(database, "faq.create", ENTRY["id"])

    user = new_user()
    desk.post_line(line_body("message-text", user=user, text=ENTRY["question"]))
    wait_until(lambda: any("平日午後に受け付けています" in t for t in line.texts()), timeout=8)

    edited = api.request("PUT", f"/faq/{ENTRY['id']}", staff["admin"],
                         json={**{k: v for k, v in ENTRY.items() if k != "id"},
                               "answer": "ゆずの里デイサービスの見学は土曜の午前です。"})
    assert edited.status_code == 200 and edited.json()["answer"].endswith("土曜の午前です。")
    assert _audited(database, "faq.update", ENTRY["id"])
    line.reset()
    desk.post_line(line_body("message-text", user=user, text=ENTRY["question"]))
    wait_until(lambda: any("土曜の午前です" in t for t in line.texts()), timeout=8)

    exported = yaml.safe_load(api.get("/faq/export", c).content.decode("utf-8"))
    assert any(e["id"] == ENTRY["id"] and e["answer"].endswith("土曜の午前です。") for e in exported["entries"])

    retired = api.post(f"/faq/{ENTRY['id']}/retire", c)
    assert retired.status_code == 200 and retired.json()["active"] is False
    assert ENTRY["id"] not in {e["id"] for e in api.get("/faq", c).json()}
    assert ENTRY["id"] in {e["id"] for e in api.get("/faq", c, params={"include_retired": "true"}).json()}
    assert _audited(database, "faq.retire", ENTRY["id"])


def test_an_unanswered_question_becomes_a_faq_entry_or_a_paraphrase_in_one_step(
        database: Database, api: Api, staff: dict[str, Member]) -> None:
    with database.session() as session:
        some_faq = session.scalars(select(FaqEntry.id).where(FaqEntry.active).order_by(FaqEntry.id)).first()
        first = UnansweredQuestion(text="庭の柿の木の剪定を頼める？", reason="no_match",
                                   candidates=[{"faq_id": some_faq, "score": 0.41}])
        second = UnansweredQuestion(text="往診の先生の名前を教えて", reason="unhelpful", candidates=[])
        session.add_all([first, second])
        session.flush()
        first_id, second_id = first.id, second.id
    c = staff["coordinator"]
    listed = {q["id"]: q for q in api.get("/unanswered", staff["nurse"]).json()}
    assert listed[first_id]["candidates"][0]["faq_id"] == some_faq
    assert listed[first_id]["candidates"][0]["question"]
    neither = api.post(f"/unanswered/{first_id}/make-faq", c, json={})
    assert field_errors(neither) == ["body"] and "paraphrase_of" in neither.json()["detail"][0]["msg"]
    assert field_errors(api.post(f"/unanswered/{first_id}/make-faq", c,
                                 json={"paraphrase_of": "resident.nothing_here"})) == ["paraphrase_of"]

    added = api.post(f"/unanswered/{first_id}/make-faq", c, json={"paraphrase_of": some_faq})
    assert added.status_code == 200 and "庭の柿の木の剪定を頼める？" in added.json()["paraphrases"]
    assert api.post(f"/unanswered/{first_id}/make-faq", c, json={"paraphrase_of": some_faq}).status_code == 409

    new_entry = {**ENTRY, "id": "resident.doctor_names", "question": "往診医の名前を知りたい",
                 "answer": "担当の医師名は{hub_name}にお問い合わせください。", "paraphrases": []}
    made = api.post(f"/unanswered/{second_id}/make-faq", c, json={"new_entry": new_entry})
    assert made.status_code == 200 and made.json()["paraphrases"] == ["往診の先生の名前を教えて"]
    remaining = {q["id"] for q in api.get("/unanswered", c).json()}
    assert not remaining & {first_id, second_id}
    handled = {q["id"]: q for q in api.get("/unanswered", c, params={"include_handled": "true"}).json()}
    assert handled[second_id]["handled_faq_id"] == "resident.doctor_names"
    assert _audited(database, "unanswered.handle", str(second_id))
    assert api.post("/unanswered/999999/make-faq", c, json={"paraphrase_of": some_faq}).status_code == 404


def test_a_question_that_is_not_knowledge_is_dismissed(database: Database, api: Api,
                                                        staff: dict[str, Member]) -> None:
    with database.session() as session:
        question = UnansweredQuestion(text="テストです", reason="no_match", candidates=[])
        session.add(question)
        session.flush()
        question_id = question.id
    assert api.post(f"/unanswered/{question_id}/dismiss", staff["nurse"]).status_code == 403
    assert api.post(f"/unanswered/{question_id}/dismiss", staff["coordinator"]).status_code == 204
    assert api.post(f"/unanswered/{question_id}/dismiss", staff["coordinator"]).status_code == 409
    assert question_id not in {q["id"] for q in api.get("/unanswered", staff["nurse"]).json()}
    handled = {q["id"]: q for q in api.get("/unanswered", staff["nurse"], params={"include_handled": "true"}).json()}
    assert handled[question_id]["handled_at"] and handled[question_id]["handled_faq_id"] is None
    assert _audited(database, "unanswered.dismiss", str(question_id))
    assert api.post("/unanswered/999999/dismiss", staff["admin"]).status_code == 404


def test_an_unhelpful_answer_is_listed_with_how_sure_the_bot_was(
        desk: DeskServer, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    user, question = new_user(), "訪問看護ってどうやって頼むの？"
    desk.post_line(line_body("message-text", user=user, text=question))
    buttons = [item["action"] for item in line.wait_for_deliveries(1)[0].messages[-1]["quickReply"]["items"]]
    desk.press(user, next(b["data"] for b in buttons if "value=no" in b["data"]))
    listed = wait_until(lambda: next((q for q in api.get("/unanswered", staff["nurse"]).json()
                                      if q["text"] == question and q["reason"] == "unhelpful"), None), timeout=8)
    answered = listed["candidates"][0]
    assert answered["faq_id"] == "resident.visiting_nurse" and answered["score"] > 0.5  # not 0.00 any more
