"""The queue and the staff acts: claim (with a race), reply through the outbox to LINE, notes, resolve,
return to bot, reassign and snooze, and who may do what to a conversation someone owns."""

from __future__ import annotations

import re
import threading
from contextlib import closing
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import AuditLog, Contact, Conversation, utcnow
from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, field_errors, handed_off
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, wait_until


@pytest.fixture(scope="module")
def desk_env() -> dict[str, str]:
    return {"EMERGENCY_REMINDER_MINUTES": "0.03"}  # the timers look every second (snoozes run out)


def _pushes_to(line: FakeLinePlatform, user: str) -> list[str]:
    return [m.get("text", "") for d in line.delivered if d.kind == "push" and d.to == user for m in d.messages]


def _actions(db: Database, conversation_id: int) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditLog.action).where(
            AuditLog.target_type == "conversation", AuditLog.target_id == str(conversation_id)).order_by(AuditLog.id)))


def test_every_queue_and_conversation_route_needs_a_token(api: Api) -> None:
    for method, path in (("GET", "/queue"), ("GET", "/conversations/1"), ("POST", "/conversations/1/claim"),
                         ("POST", "/conversations/1/reply"), ("POST", "/conversations/1/notes"),
                         ("POST", "/conversations/1/resolve"), ("POST", "/conversations/1/return"),
                         ("POST", "/conversations/1/reassign")):
        assert api.request(method, path).status_code == 401, path


def test_the_queue_shows_hand_offs_with_both_status_words_and_waiting_time(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    _, normal = handed_off(desk, database)
    _, emergency = handed_off(desk, database, "父が息をしていない")
    queue = api.get("/queue", staff["msw"]).json()
    by_id = {item["id"]: item for item in queue}
    assert by_id[normal]["status"] == "waiting"
    assert (by_id[normal]["status_label"], by_id[normal]["helpdesk_status"]) == ("対応待ち", "pending")
    assert by_id[normal]["waiting_seconds"] >= 0
    assert (by_id[normal]["preview"], by_id[normal]["channel_label"]) == ("人と話したい", "LINE")
    assert by_id[emergency]["preview"] == "父が息をしていない"
    assert queue[0]["urgency"] == "emergency"  # emergencies first
    only_emergencies = api.get("/queue", staff["msw"], params={"urgency": "emergency"}).json()
    assert emergency in {i["id"] for i in only_emergencies} and normal not in {i["id"] for i in only_emergencies}
    nurse_queue = api.get("/queue", staff["msw"], params={"role": "nurse"}).json()
    assert all(i["needed_role"] == "nurse" for i in nurse_queue) and emergency in {i["id"] for i in nurse_queue}
    assert normal not in {i["id"] for i in api.get("/queue", staff["msw"], params={"status": "bot"}).json()}
    assert "status" in field_errors(api.get("/queue", staff["msw"], params={"status": "open"}))
    assert "urgency" in field_errors(api.get("/queue", staff["msw"], params={"urgency": "high"}))


def test_an_emergency_is_never_cut_off_by_the_queue_limit(desk: DeskServer, database: Database, api: Api,
                                                          staff: dict[str, Member]) -> None:
    """More open conversations than the page holds, the newest of them an emergency: it still comes first,
    in the API (limit 200 by default) and in the console's queue (500)."""
    with database.session() as session:
        contacts = [Contact(channel="web", external_id=f"queue-limit-{n}") for n in range(520)]
        session.add_all(contacts)
        session.flush()
        session.add_all(Conversation(contact_id=c.id, channel="web", status="waiting", needed_role="any",
                                     handed_off_at=utcnow()) for c in contacts[:-1])
        newest = Conversation(contact_id=contacts[-1].id, channel="web", status="waiting", needed_role="nurse",
                              urgency="emergency", handed_off_at=utcnow())
        session.add(newest)
        session.flush()
        emergency = newest.id
    try:
        for params in ({}, {"limit": 5}):
            queue = api.get("/queue", staff["nurse"], params=params).json()
            urgent = [item["urgency"] == "emergency" for item in queue]
            assert emergency in {item["id"] for item in queue} and urgent == sorted(urgent, reverse=True)
        with closing(console_login(desk, staff["nurse"])) as client:
            assert f"/admin/conversations/{emergency}" in client.get("/admin/queue/rows").text
    finally:  # out of the way of the module's other tests
        with database.session() as session:
            for conversation in session.scalars(select(Conversation).join(Contact).where(
                    Contact.external_id.like("queue-limit-%"))):
                conversation.status = "resolved"


def test_two_staff_claiming_at_once_leave_one_owner(desk: DeskServer, database: Database, api: Api,
                                                    staff: dict[str, Member], line: FakeLinePlatform) -> None:
    for _round in range(3):
        _, conversation_id = handed_off(desk, database)
        barrier = threading.Barrier(2)
        results: dict[str, int] = {}

        def take(role: str, cid: int = conversation_id, barrier: threading.Barrier = barrier,
                 results: dict[str, int] = results) -> None:
            barrier.wait()
            results[role] = api.post(f"/conversations/{cid}/claim", staff[role]).status_code

        threads = [threading.Thread(target=take, args=(role,)) for role in ("nurse", "msw")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results.values()) == [200, 409]
        winner = next(role for role, code in results.items() if code == 200)
        with database.session() as session:
            conversation = session.get(Conversation, conversation_id)
            assert (conversation.status, conversation.assignee_id) == ("human", staff[winner].id)
        assert _actions(database, conversation_id).count("conversation.claim") == 1


def test_the_owner_replies_and_the_resident_gets_it_on_line(desk: DeskServer, database: Database, api: Api,
                                                            staff: dict[str, Member], line: FakeLinePlatform) -> None:
    user, conversation_id = handed_off(desk, database)
    nurse, msw = staff["nurse"], staff["msw"]
    not_owner = api.post(f"/conversations/{conversation_id}/reply", nurse, json={"text": "こんにちは"})
    assert not_owner.status_code == 409 and "対応する" in not_owner.json()["detail"]
    claimed = api.post(f"/conversations/{conversation_id}/claim", nurse)
    assert claimed.status_code == 200 and claimed.json()["status"] == "human"
    again = api.post(f"/conversations/{conversation_id}/claim", nurse).json()
    assert again["changed"] is False
    assert api.post(f"/conversations/{conversation_id}/claim", msw).status_code == 409
    assert api.post(f"/conversations/{conversation_id}/reply", msw, json={"text": "横から"}).status_code == 409
    response = api.post(f"/conversations/{conversation_id}/reply", nurse, json={"text": "看護師の佐藤です。状況を教えてください。"})
    assert response.status_code == 202
    pushed = wait_until(lambda: [t for t in _pushes_to(line, user) if "状況を教えてください" in t], timeout=8)
    assert "佐藤 花子" in pushed[0] and "看護師" in pushed[0]
    assert not [t for t in _pushes_to(line, user) if "横から" in t]
    detail = api.get(f"/conversations/{conversation_id}", msw).json()
    assert detail["first_staff_response_at"] is not None
    assert any(line_["sender_kind"] == "staff" and line_["direction"] == "out" for line_ in detail["transcript"])
    assert "conversation.reply" in _actions(database, conversation_id)


def test_an_invalid_reply_or_note_names_the_field(desk: DeskServer, database: Database, api: Api,
                                                  staff: dict[str, Member], line: FakeLinePlatform) -> None:
    _, conversation_id = handed_off(desk, database)
    nurse = staff["nurse"]
    assert field_errors(api.post(f"/conversations/{conversation_id}/reply", nurse, json={"text": ""})) == ["text"]
    assert field_errors(api.post(f"/conversations/{conversation_id}/reply", nurse, json={"text": "  "})) == ["text"]
    assert field_errors(api.post(f"/conversations/{conversation_id}/notes", nurse, json={})) == ["text"]
    assert field_errors(api.post(f"/conversations/{conversation_id}/notes", nurse,
                                 json={"text": "あ" * 5001})) == ["text"]
    assert field_errors(api.post(f"/conversations/{conversation_id}/reassign", nurse,
                                 json={"staff_id": "someone"})) == ["staff_id"]
    assert field_errors(api.post(f"/conversations/{conversation_id}/reassign", nurse,
                                 json={"staff_id": 999999})) == ["staff_id"]
    assert api.get("/conversations/999999", nurse).status_code == 404
    assert api.post("/conversations/999999/claim", nurse).status_code == 404


def test_a_private_note_stays_with_staff(desk: DeskServer, database: Database, api: Api,
                                         staff: dict[str, Member], line: FakeLinePlatform) -> None:
    user, conversation_id = handed_off(desk, database)
    line.wait_for_deliveries(1)
    before = len(line.delivered)
    response = api.post(f"/conversations/{conversation_id}/notes", staff["msw"],
                        json={"text": "<b>家族</b>は同居。ケアマネ未定。"})
    assert response.status_code == 201
    notes = [m for m in api.get(f"/conversations/{conversation_id}", staff["nurse"]).json()["transcript"]
             if m["kind"] == "note"]
    assert notes[0]["text"] == "<b>家族</b>は同居。ケアマネ未定。" and notes[0]["direction"] == "internal"
    assert notes[0]["staff_id"] == staff["msw"].id
    assert len(line.delivered) == before and not _pushes_to(line, user)
    assert "conversation.note" in _actions(database, conversation_id)


def test_resolve_asks_the_satisfaction_question_and_return_gives_it_to_the_bot(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    user, resolved_id = handed_off(desk, database)
    assert api.post(f"/conversations/{resolved_id}/claim", staff["nurse"]).status_code == 200
    response = api.post(f"/conversations/{resolved_id}/resolve", staff["nurse"])
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    wait_until(lambda: [t for t in _pushes_to(line, user) if "ご相談は役に立ちましたか" in t], timeout=8)
    again = api.post(f"/conversations/{resolved_id}/resolve", staff["nurse"])
    assert again.status_code == 409
    assert api.post(f"/conversations/{resolved_id}/claim", staff["msw"]).status_code == 409

    _, returned_id = handed_off(desk, database)
    assert api.post(f"/conversations/{returned_id}/claim", staff["msw"]).status_code == 200
    back = api.post(f"/conversations/{returned_id}/return", staff["msw"])
    assert back.status_code == 200 and back.json()["status"] == "bot"
    with database.session() as session:
        conversation = session.get(Conversation, returned_id)
        assert (conversation.status, conversation.assignee_id) == ("bot", None)
    assert api.post(f"/conversations/{returned_id}/return", staff["msw"]).status_code == 409
    assert _actions(database, returned_id) == ["conversation.claim", "conversation.return_to_bot"]


def test_an_emergency_closed_gets_a_caring_word_not_a_survey(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    user, conversation_id = handed_off(desk, database, "母が倒れて呼びかけても反応がない")
    assert api.post(f"/conversations/{conversation_id}/claim", staff["nurse"]).status_code == 200
    assert api.post(f"/conversations/{conversation_id}/resolve", staff["nurse"]).status_code == 200
    closing = wait_until(lambda: [t for t in _pushes_to(line, user) if "その後、ご様子はいかがですか" in t], timeout=8)
    assert "119番" in closing[0]
    assert not [t for t in _pushes_to(line, user) if "役に立ちましたか" in t]


def test_reassign_makes_another_staff_member_the_owner(desk: DeskServer, database: Database, api: Api,
                                                       staff: dict[str, Member], line: FakeLinePlatform) -> None:
    user, conversation_id = handed_off(desk, database)
    assert api.post(f"/conversations/{conversation_id}/claim", staff["nurse"]).status_code == 200
    response = api.post(f"/conversations/{conversation_id}/reassign", staff["coordinator"],
                        json={"staff_id": staff["msw"].id})
    assert response.status_code == 200 and "鈴木 一郎" in response.json()["message"]
    with database.session() as session:
        assert session.get(Conversation, conversation_id).assignee_id == staff["msw"].id
    assert api.post(f"/conversations/{conversation_id}/reply", staff["nurse"], json={"text": "前任"}).status_code == 409
    assert api.post(f"/conversations/{conversation_id}/reply", staff["msw"],
                    json={"text": "MSWの鈴木が引き継ぎました。"}).status_code == 202
    wait_until(lambda: [t for t in _pushes_to(line, user) if "引き継ぎました" in t], timeout=8)
    mine = api.get("/queue", staff["msw"], params={"mine": "true"}).json()
    assert conversation_id in {i["id"] for i in mine}
    assert "conversation.reassign" in _actions(database, conversation_id)


def _status(db: Database, conversation_id: int) -> tuple[str, int | None]:
    with db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        return conversation.status, conversation.assignee_id


def test_only_the_owner_or_a_coordinator_closes_returns_snoozes_or_reassigns_it(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member]) -> None:
    _, conversation_id = handed_off(desk, database)
    nurse, msw, coordinator = staff["nurse"], staff["msw"], staff["coordinator"]
    assert api.post(f"/conversations/{conversation_id}/claim", msw).status_code == 200
    later = (utcnow() + timedelta(hours=1)).isoformat()
    for act, body in (("resolve", None), ("return", None), ("snooze", {"until": later}),
                      ("reassign", {"staff_id": nurse.id})):
        refused = api.post(f"/conversations/{conversation_id}/{act}", nurse, json=body)
        assert refused.status_code == 409 and "担当" in refused.json()["detail"], (act, refused.text)
        assert _status(database, conversation_id) == ("human", msw.id)
    # Set aside (保留), it is still the MSW's: nobody else takes it or closes it meanwhile.
    assert api.post(f"/conversations/{conversation_id}/snooze", msw, json={"until": later}).status_code == 200
    for act in ("claim", "resolve"):
        refused = api.post(f"/conversations/{conversation_id}/{act}", nurse)
        assert refused.status_code == 409 and "鈴木" in refused.json()["detail"], (act, refused.text)
    assert _status(database, conversation_id) == ("snoozed", msw.id)
    moved = api.post(f"/conversations/{conversation_id}/reassign", coordinator, json={"staff_id": nurse.id})
    assert moved.status_code == 200 and _status(database, conversation_id) == ("human", nurse.id)
    assert api.post(f"/conversations/{conversation_id}/resolve", nurse).status_code == 200
    assert _actions(database, conversation_id)[-2:] == ["conversation.reassign", "conversation.resolve"]


def test_snooze_sets_a_conversation_aside_until_its_time_or_until_the_resident_writes(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    user, conversation_id = handed_off(desk, database)
    nurse = staff["nurse"]
    path = f"/conversations/{conversation_id}/snooze"
    assert api.post(path, nurse, json={"until": (utcnow() - timedelta(minutes=1)).isoformat()}).status_code == 409
    too_long = api.post(path, nurse, json={"until": (utcnow() + timedelta(days=31)).isoformat()})
    assert too_long.status_code == 409 and "30日以内" in too_long.json()["detail"]
    assert field_errors(api.post(path, nurse, json={"until": "2030-01-01T09:00:00"})) == ["until"]  # no zone

    # Unowned: back to the queue when its time comes.
    snoozed = api.post(path, nurse, json={"until": (utcnow() + timedelta(seconds=1)).isoformat()})
    assert snoozed.status_code == 200 and _status(database, conversation_id) == ("snoozed", None)
    assert conversation_id in {i["id"] for i in api.get("/queue", nurse, params={"status": "snoozed"}).json()}
    wait_until(lambda: _status(database, conversation_id) == ("waiting", None), timeout=8)

    # Owned: back to its owner, early when the resident writes.
    assert api.post(f"/conversations/{conversation_id}/claim", nurse).status_code == 200
    assert api.post(path, nurse, json={"until": (utcnow() + timedelta(hours=3)).isoformat()}).status_code == 200
    desk.post_line(line_body("message-text", user=user, text="すみません、追加で聞きたいことがあります"))
    wait_until(lambda: _status(database, conversation_id) == ("human", nurse.id), timeout=8)
    actions = _actions(database, conversation_id)
    assert actions.count("conversation.snooze") == 2 and "conversation.wake" in actions


def test_each_status_has_its_tab_and_a_resolved_conversation_stays_reachable(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    _, cid = handed_off(desk, database, "退院後の生活のことで話したいです")
    nurse = staff["nurse"]
    with closing(console_login(desk, nurse)) as client:
        assert f'data-id="{cid}"' in client.get("/admin/").text  # 対応待ち, the default tab
        assert api.post(f"/conversations/{cid}/claim", nurse).status_code == 200
        assert f'data-id="{cid}"' not in client.get("/admin/").text
        assert f'data-id="{cid}"' in client.get("/admin/", params={"tab": "human"}).text
        assert api.post(f"/conversations/{cid}/resolve", nurse).status_code == 200
        closed = client.get("/admin/queue/rows", params={"tab": "resolved"}).text
        assert f'data-id="{cid}"' in closed and "解決済み" in closed
        assert re.search(r'data-id="(\d+)"', closed).group(1) == str(cid)  # the latest closed on top


def test_the_conversation_page_offers_only_the_acts_that_apply_now(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    _, cid = handed_off(desk, database, "介護保険の更新のことで相談したいです")
    nurse = staff["nurse"]
    with closing(console_login(desk, nurse)) as client:
        def page() -> str:
            return client.get(f"/admin/conversations/{cid}").text
        waiting = page()
        assert 'value="claim"' in waiting and '<textarea id="reply" name="text" rows="4" maxlength="5000" disabled>' in waiting
        assert "<dd>LINE</dd>" in waiting
        assert api.post(f"/conversations/{cid}/claim", nurse).status_code == 200
        owned = page()
        assert 'value="claim"' not in owned and 'value="resolve"' in owned
        assert '<textarea id="reply" name="text" rows="4" maxlength="5000">' in owned  # the owner writes
        # The newest message is last, right above the reply box.
        assert owned.index("介護保険の更新のことで相談したいです") < owned.index('id="reply"')
        assert api.post(f"/conversations/{cid}/resolve", nurse).status_code == 200
        closed = page()
        assert not any(f'value="{act}"' in closed for act in ("claim", "resolve", "return"))


def test_the_queue_filters_by_owner_and_finds_words_in_messages(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    _, mine = handed_off(desk, database, "ぬか漬けの先生に相談したいです")
    _, other = handed_off(desk, database, "人と話したいです、急ぎではありません")
    nurse = staff["nurse"]
    assert api.post(f"/conversations/{mine}/claim", nurse).status_code == 200
    found = {item["id"] for item in api.get("/queue", nurse, params={"q": "ぬか漬け"}).json()}
    assert mine in found and other not in found
    with closing(console_login(desk, nurse)) as client:
        rows = client.get("/admin/queue/rows", params={"tab": "human", "mine": "true"}).text
        assert f'data-id="{mine}"' in rows
        rows = client.get("/admin/queue/rows", params={"tab": "waiting", "q": "ぬか漬け"}).text
        assert f'data-id="{mine}"' not in rows and f'data-id="{other}"' not in rows  # claimed, and not these words
        rows = client.get("/admin/queue/rows", params={"tab": "waiting", "q": "急ぎではありません"}).text
        assert f'data-id="{other}"' in rows
    assert api.get("/queue", nurse, params={"q": "あ" * 101}).status_code == 422
