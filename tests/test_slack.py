"""Slack end to end: signed Slack bodies to the running desk, Web API calls at the fake Slack platform.

Care managers search and ask with the slash command, @mentions and DMs; hub staff take over a LINE
resident's conversation from its staff thread, and their replies reach the resident's LINE.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from sqlalchemy import select

from db.models import AuditLog, Contact, Conversation, OutboxMessage, Resource, Vacancy
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.fakes.slack_platform import (
    FakeSlackPlatform,
    block_actions_body,
    event_callback,
    signed_headers,
    slash_command_body,
)
from tests.support import SLACK_BOT_TOKEN, DeskServer, line_body, new_user, wait_until
from zaitaku_desk.staff import create_staff

SIGNING_SECRET = "test-slack-signing-secret"
BOT_TOKEN = SLACK_BOT_TOKEN
STAFF_CHANNEL = "C0STAFF001"


@pytest.fixture(scope="module")
def desk_env(fake_slack: FakeSlackPlatform) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_BASE_URL": fake_slack.url,
            "SLACK_STAFF_CHANNEL": STAFF_CHANNEL, "EMERGENCY_REMINDER_MINUTES": "0.03", "HANDOFF_REMINDER_MINUTES": "60"}


@pytest.fixture(scope="module")
def nurse(database: Database) -> str:
    user = "U0NURSE01"
    create_staff(database, "佐藤", "nurse", user)
    return user


@pytest.fixture(scope="module")
def msw(database: Database) -> str:
    user = "U0MSW0001"
    create_staff(database, "鈴木", "msw", user)
    return user


def post_slack(desk: DeskServer, body: bytes | dict, *, content_type: str | None = None, secret: str = SIGNING_SECRET,
               **header_options: object) -> httpx.Response:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    kind = content_type or ("application/json" if isinstance(body, dict) else "application/x-www-form-urlencoded")
    headers = signed_headers(secret, raw, kind, **header_options)  # type: ignore[arg-type]
    return httpx.post(f"{desk.url}/webhooks/slack", content=raw, headers=headers, timeout=10.0)


def all_text(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def conversation_of(db: Database, user: str) -> Conversation:
    with db.session() as session:
        return session.scalars(select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
                               .where(Contact.external_id == user).order_by(Conversation.id.desc())).first()


def threaded(db: Database, user: str) -> Conversation | None:
    """The resident's conversation once its staff thread exists."""
    conversation = conversation_of(db, user)
    return conversation if conversation is not None and conversation.staff_thread_ts else None


def staff_parent(slack: FakeSlackPlatform, conversation_id: int, timeout: float = 8.0) -> dict:
    def find() -> dict | None:
        for call in slack.calls_to("chat.postMessage"):
            if call.args.get("channel") == STAFF_CHANNEL and not call.args.get("thread_ts") \
                    and f"相談 #{conversation_id}" in all_text(call.args):
                return call.args
        return None
    return wait_until(find, timeout=timeout)


def click(desk: DeskServer, action: str, conversation_id: int, user: str, slack: FakeSlackPlatform) -> None:
    body = block_actions_body(action, str(conversation_id), user_id=user, channel_id=STAFF_CHANNEL,
                              message_ts="1700000000.000100")
    assert post_slack(desk, body).status_code == 200


def thread_reply(desk: DeskServer, conversation: Conversation, user: str, text: str) -> None:
    ts = f"{time.time():.6f}"
    event = {"type": "message", "channel": STAFF_CHANNEL, "user": user, "text": text, "ts": ts,
             "thread_ts": conversation.staff_thread_ts, "channel_type": "channel"}
    assert post_slack(desk, event_callback(event)).status_code == 200


# -- the request side --------------------------------------------------------------------------------

def test_url_verification_and_signatures(desk: DeskServer) -> None:
    body = {"token": "x", "challenge": "challenge-" + uuid.uuid4().hex, "type": "url_verification"}
    response = post_slack(desk, body)
    assert response.status_code == 200 and response.json()["challenge"] == body["challenge"]
    assert post_slack(desk, body, secret="wrong-secret").status_code == 401
    assert post_slack(desk, body, timestamp=int(time.time()) - 600).status_code == 401


def test_an_empty_slash_command_shows_the_help(desk: DeskServer, slack: FakeSlackPlatform) -> None:
    response = post_slack(desk, slash_command_body(""))
    assert response.status_code == 200 and "使い方" in all_text(response.json())


def test_the_slash_command_finds_resources_as_block_kit(desk: DeskServer, slack: FakeSlackPlatform) -> None:
    response = post_slack(desk, slash_command_body("須坂 訪看 人工呼吸器"))
    payload = response.json()
    text = all_text(payload)
    assert any(block["type"] == "section" for block in payload["blocks"])
    assert "訪問看護" in text and "須坂市" in text and "サンプル" in text and "人工呼吸器" in text


def test_the_slash_command_answers_a_practice_question_with_its_source(desk: DeskServer) -> None:
    text = all_text(post_slack(desk, slash_command_body("訪問看護ってどうやって頼むの？")).json())
    assert "出典" in text


def test_the_slash_command_gives_the_check_without_buttons_nobody_could_answer(desk: DeskServer) -> None:
    answer = post_slack(desk, slash_command_body("母がトイレで立ち上がれなくなりました")).json()
    assert "念のため確認させてください" in all_text(answer) and "119番" in all_text(answer)
    assert "redflag" not in all_text(answer)


def test_long_result_lists_come_a_page_at_a_time(desk: DeskServer, slack: FakeSlackPlatform) -> None:
    first = post_slack(desk, slash_command_body("訪問看護ステーションを探しています")).json()
    more = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == "resources_more"]
    assert more, "more than five stations: a もっと見る button"
    names = {b["text"]["text"].split("*")[1] for b in first["blocks"] if b["type"] == "section" and "*" in b["text"]["text"]}
    body = block_actions_body("resources_more", more[0]["value"], user_id="U0CM00001", channel_id="C0CM00001",
                              message_ts="1700000000.000200")
    assert post_slack(desk, body).status_code == 200
    page = wait_until(lambda: slack.calls_to("chat.postEphemeral"))
    second = {b["text"]["text"].split("*")[1] for b in page[0].args["blocks"]
              if b["type"] == "section" and "*" in b["text"]["text"]}
    assert second and not (second & names)


def test_a_mention_is_answered_in_its_thread_once_despite_retries(desk: DeskServer, slack: FakeSlackPlatform) -> None:
    event = {"type": "app_mention", "user": "U0CM00001", "text": "<@UBOT000001> 小布施町 ショート 空き",
             "ts": f"{time.time():.6f}", "channel": "C0CM00001"}
    body = event_callback(event)
    assert post_slack(desk, body).status_code == 200
    assert post_slack(desk, body, retry_num=1, retry_reason="http_timeout").status_code == 200
    def posts() -> list:
        return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == "C0CM00001"]
    wait_until(lambda: len(posts()) >= 1)
    time.sleep(0.8)
    posts = posts()
    assert len(posts) == 1
    assert posts[0].args["thread_ts"] == event["ts"]
    assert "空き" in all_text(posts[0].args) and "時点" in all_text(posts[0].args)


def test_a_direct_message_is_answered(desk: DeskServer, slack: FakeSlackPlatform) -> None:
    event = {"type": "message", "channel_type": "im", "user": "U0CM00002", "text": "在支診 看取り 高山村",
             "ts": f"{time.time():.6f}", "channel": "D0CM00002"}
    post_slack(desk, event_callback(event))
    answer = wait_until(lambda: [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == "D0CM00002"])
    assert "高山村" in all_text(answer[0].args)


def test_an_acute_direct_message_gets_the_check_as_buttons_and_a_press_brings_119(
        desk: DeskServer, slack: FakeSlackPlatform) -> None:
    event = {"type": "message", "channel_type": "im", "user": "U0CM00003", "text": "母がトイレで立ち上がれなくなりました",
             "ts": f"{time.time():.6f}", "channel": "D0CM00003"}
    post_slack(desk, event_callback(event))
    posts = wait_until(lambda: [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == "D0CM00003"])
    buttons = [element for block in json.loads(json.dumps(posts[0].args["blocks"])) if block["type"] == "actions"
               for element in block["elements"]]
    assert [b["value"] for b in buttons][-1] == "action=redflag&answer=none"
    assert all(b["action_id"].startswith("redflag_") for b in buttons)
    press = block_actions_body(buttons[1]["action_id"], buttons[1]["value"], user_id="U0CM00003",
                               channel_id="D0CM00003", message_ts=posts[0].args.get("ts", "1700000000.000200"),
                               button_text=buttons[1]["text"]["text"])
    assert post_slack(desk, press).status_code == 200
    assert post_slack(desk, press).status_code == 200  # a retried press is answered once
    answers = wait_until(lambda: [c for c in slack.calls_to("chat.postMessage")
                                  if c.args.get("channel") == "D0CM00003" and "119番" in all_text(c.args)
                                  and "🚑" in all_text(c.args)])
    time.sleep(0.5)
    assert len([c for c in slack.calls_to("chat.postMessage")
                if c.args.get("channel") == "D0CM00003" and "🚑" in all_text(c.args)]) == len(answers) == 1


def test_only_registered_staff_update_a_vacancy_and_it_is_audited(
        desk: DeskServer, database: Database, nurse: str) -> None:
    refused = post_slack(desk, slash_command_body("空き suzaka-ss-01 3", user_id="U0STRANGER"))
    assert "登録スタッフだけ" in refused.text
    # Other resource facts too.
    with database.session() as session:
        station = session.scalars(select(Resource.id).where(Resource.type == "visiting_nurse",
                                                            Resource.accepting_new.is_(True))).first()
    changed = post_slack(desk, slash_command_body(f"更新 {station} 受入 不可", user_id=nurse))
    assert "更新しました" in changed.text
    bad = post_slack(desk, slash_command_body(f"更新 {station} 電話 電話してください", user_id=nurse))
    assert "電話を更新できません" in bad.text
    with database.session() as session:
        assert session.get(Resource, station).accepting_new is False
        assert session.get(Resource, station).phone != "電話してください"
        assert session.scalars(select(AuditLog).where(AuditLog.action == "resource.update")).first().detail == {
            "field": "accepting_new", "before": True, "after": False}
    with database.session() as session:
        short_stay = session.scalars(select(Vacancy.resource_id)).first()
    done = post_slack(desk, slash_command_body(f"空き {short_stay} 4", user_id=nurse))
    assert "4 床" in done.text
    with database.session() as session:
        assert session.get(Vacancy, short_stay).available_beds == 4
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "vacancy.update")
                                .order_by(AuditLog.id.desc())).first()
        assert entry.target_id == short_stay and entry.detail["after"] == 4 and entry.actor.startswith("staff:")
    text = all_text(post_slack(desk, slash_command_body("ショートステイ 空き", user_id=nurse)).json())
    assert "空き4床" in text


# -- the hand-off loop ----------------------------------------------------------------------------

def test_the_whole_hand_off_loop(desk: DeskServer, database: Database, line: FakeLinePlatform,
                                 slack: FakeSlackPlatform, nurse: str, msw: str) -> None:
    resident = new_user()
    desk.post_line(line_body("message-text", user=resident, text="母の床ずれについて看護師さんと話したい"))
    line.wait_for_deliveries(1)
    conversation = wait_until(lambda: conversation_of(database, resident))
    parent = staff_parent(slack, conversation.id)
    assert "対応する" in all_text(parent) and "床ずれ" in all_text(parent)
    conversation = wait_until(lambda: threaded(database, resident))

    # Before anyone takes it, a thread reply is an internal note with a hint, never a message to LINE.
    thread_reply(desk, conversation, msw, "確認します")
    wait_until(lambda: any("「対応する」を押して" in c.args.get("text", "") for c in slack.calls_to("chat.postMessage")))
    assert len(line.delivered) == 1

    click(desk, "conv_take", conversation.id, nurse, slack)
    wait_until(lambda: conversation_of(database, resident).status == "human")
    wait_until(lambda: any("佐藤" in all_text(c.args) for c in slack.calls_to("chat.update")))

    thread_reply(desk, conversation, nurse, "看護師の佐藤です。床ずれの大きさを教えてください。")
    push = line.wait_for_deliveries(2)[1]
    assert push.kind == "push" and push.to == resident
    assert push.messages[0]["text"].startswith("【") and "佐藤" in push.messages[0]["text"]
    wait_until(lambda: any(c.args.get("name") == "outbox_tray" for c in slack.calls_to("reactions.add")))
    assert conversation_of(database, resident).first_staff_response_at is not None

    thread_reply(desk, conversation, nurse, "メモ: ご家族は日中不在")
    wait_until(lambda: any(c.args.get("name") == "memo" for c in slack.calls_to("reactions.add")))

    desk.post_line(line_body("message-text", user=resident, text="500円玉くらいです"))
    wait_until(lambda: any("500円玉くらい" in c.args.get("text", "") and c.args.get("thread_ts")
                               for c in slack.calls_to("chat.postMessage")))
    time.sleep(0.5)
    assert len(line.delivered) == 2  # the bot stays quiet while the nurse owns the conversation

    click(desk, "conv_resolve", conversation.id, nurse, slack)
    wait_until(lambda: conversation_of(database, resident).status == "resolved")


def test_an_owners_thread_reply_that_mentions_the_app_reaches_the_resident_once(
        desk: DeskServer, database: Database, line: FakeLinePlatform, slack: FakeSlackPlatform, nurse: str) -> None:
    # Slack sends `message` and `app_mention` for one message that mentions the app in a channel it
    # reads: two event ids, one channel and ts; and each may be redelivered.
    resident = new_user()
    desk.post_line(line_body("message-text", user=resident, text="看護師さんに相談したいです"))
    conversation = wait_until(lambda: threaded(database, resident), timeout=8)
    click(desk, "conv_take", conversation.id, nurse, slack)
    wait_until(lambda: conversation_of(database, resident).status == "human")
    ts = f"{time.time():.6f}"
    said = {"user": nurse, "text": "<@UBOT000001> 看護師の佐藤です。明日伺います。", "ts": ts,
            "channel": STAFF_CHANNEL, "thread_ts": conversation.staff_thread_ts}
    message = event_callback({"type": "message", "channel_type": "channel", **said})
    mention = event_callback({"type": "app_mention", **said})
    for body, retry in ((mention, {}), (message, {}), (message, {"retry_num": 1, "retry_reason": "http_timeout"})):
        assert post_slack(desk, body, **retry).status_code == 200
    wait_until(lambda: [t for d in line.delivered if d.to == resident for m in d.messages
                        if "明日伺います" in (t := m.get("text", ""))])
    time.sleep(1.0)
    delivered = [m["text"] for d in line.delivered if d.to == resident for m in d.messages
                 if "明日伺います" in m.get("text", "")]
    assert len(delivered) == 1 and delivered[0].endswith("\n看護師の佐藤です。明日伺います。")


def test_two_staff_taking_at_once_end_with_one_owner(desk: DeskServer, database: Database, line: FakeLinePlatform,
                                                    slack: FakeSlackPlatform, nurse: str, msw: str) -> None:
    resident = new_user()
    desk.post_line(line_body("message-text", user=resident, text="担当者と話したい"))
    conversation = wait_until(lambda: conversation_of(database, resident))
    staff_parent(slack, conversation.id)
    for user in (nurse, msw):
        click(desk, "conv_take", conversation.id, user, slack)
    wait_until(lambda: any("すでに" in c.args.get("text", "") for c in slack.calls_to("chat.postEphemeral")))
    final = conversation_of(database, resident)
    assert final.status == "human" and final.assignee_id is not None


def test_an_unregistered_slack_user_cannot_take_a_conversation(desk: DeskServer, database: Database,
                                                               line: FakeLinePlatform, slack: FakeSlackPlatform) -> None:
    resident = new_user()
    desk.post_line(line_body("message-text", user=resident, text="人と話したい"))
    conversation = wait_until(lambda: conversation_of(database, resident))
    click(desk, "conv_take", conversation.id, "U0NOBODY1", slack)
    wait_until(lambda: any("登録されていない" in c.args.get("text", "") for c in slack.calls_to("chat.postEphemeral")))
    assert conversation_of(database, resident).status == "waiting"


def test_an_emergency_is_posted_at_once_with_an_alert(desk: DeskServer, database: Database, line: FakeLinePlatform,
                                                     slack: FakeSlackPlatform) -> None:
    resident = new_user()
    desk.post_line(line_body("message-text", user=resident, text="夫が急に倒れて呼びかけても反応がありません"))
    assert "119" in line.wait_for_deliveries(1)[0].messages[0]["text"]
    conversation = wait_until(lambda: conversation_of(database, resident))
    parent = staff_parent(slack, conversation.id)
    assert "<!channel>" in all_text(parent) and "緊急" in all_text(parent)
    # Until someone takes it, the emergency is announced again in its thread.
    reminder = wait_until(lambda: [c for c in slack.calls_to("chat.postMessage")
                                       if "まだ誰も対応していません" in c.args.get("text", "")
                                       and c.args.get("thread_ts") == conversation_of(database, resident).staff_thread_ts],
                              timeout=10)
    assert "<!channel>" in reminder[0].args["text"]


def test_a_lost_thread_is_started_again_and_linked(desk: DeskServer, database: Database, line: FakeLinePlatform,
                                                  slack: FakeSlackPlatform) -> None:
    resident = new_user()
    desk.post_line(line_body("message-text", user=resident, text="人と話したい"))
    conversation = wait_until(lambda: threaded(database, resident))
    old = conversation.staff_thread_ts
    slack.delete_thread(STAFF_CHANNEL, old)
    desk.post_line(line_body("message-text", user=resident, text="まだですか"))
    new = wait_until(lambda: (c := threaded(database, resident)) is not None and c.staff_thread_ts != old and c,
                     timeout=8)
    assert "前のスレッドが見つからない" in all_text(staff_parent(slack, new.id)) or new.staff_thread_ts != old


def test_slack_rate_limits_are_retried(desk: DeskServer, database: Database, line: FakeLinePlatform,
                                       slack: FakeSlackPlatform) -> None:
    slack.fail_next(1, method="chat.postMessage", error="ratelimited", status=429, retry_after=1)
    resident = new_user()
    desk.post_line(line_body("message-text", user=resident, text="人と話したい"))
    conversation = wait_until(lambda: conversation_of(database, resident))
    staff_parent(slack, conversation.id, timeout=10)

    def staff_rows() -> list[OutboxMessage] | None:
        with database.session() as session:
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.target == f"staff:{conversation.id}")).all()
        return rows if rows and all(r.status == "sent" for r in rows) else None
    rows = wait_until(staff_rows)
    assert max(r.attempts for r in rows) >= 2
    assert [c.status for c in slack.calls_to("chat.postMessage")][:1] == [429]
