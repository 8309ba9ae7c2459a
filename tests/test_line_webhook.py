"""The desk end to end on LINE: signed webhook bodies in, replies at the fake LINE platform out.

Runs the real server process on SQLite and on PostgreSQL. Bodies are the official SDKs' own
test fixtures (../shared/fixtures/line), given fresh event ids, users and reply tokens.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import func, select

from db.models import InboundEvent, OutboxMessage
from db.session import Database
from knowledge.faq import load_faq
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, conversation_of, line_body, line_signature, new_user, wait_until

FAQ = {item.id: item for item in load_faq()}


def _event_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(InboundEvent)) or 0


def _texts_to(line: FakeLinePlatform, n: int, timeout: float = 5.0) -> list[str]:
    """Each delivery's texts, joined: what one reply showed (the privacy notice is a bubble of its own)."""
    return ["\n".join(m.get("text", "") for m in d.messages) for d in line.wait_for_deliveries(n, timeout=timeout)]


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


# -- what a resident does --------------------------------------------------------------------------

def test_a_question_gets_the_faq_answer_by_reply(desk: DeskServer, line: FakeLinePlatform) -> None:
    response = desk.post_line(line_body("message-text", user=new_user(), text="訪問看護ってどうやって頼むの？"))
    assert response.status_code == 200
    delivery = line.wait_for_deliveries(1)[0]
    assert delivery.kind == "reply"
    answer, after = delivery.answer[0]["text"], delivery.answer[-1]["text"]  # the answer; whom to call and whence
    assert FAQ["resident.visiting_nurse"].answer.splitlines()[0][:20] in answer and "出典" not in answer
    assert "出典: " in after and after.endswith("解決しましたか？")
    labels = [item["action"]["label"] for item in delivery.answer[-1]["quickReply"]["items"]]
    assert "解決した" in labels and "解決しない" in labels


def test_an_emergency_gets_119_first_and_at_once(desk: DeskServer, line: FakeLinePlatform, db: Database) -> None:
    user = new_user()
    started = time.monotonic()
    desk.post_line(line_body("message-text", user=user, text="父が息をしていない"))
    delivery = line.wait_for_deliveries(1)[0]
    elapsed = time.monotonic() - started
    first = delivery.messages[0]["text"]
    assert first.startswith("🚑 今すぐ119番に電話してください。")
    assert "#7119" in first
    assert elapsed < 3.0
    conversation = conversation_of(db, user)
    assert (conversation.status, conversation.urgency, conversation.needed_role) == ("waiting", "emergency", "nurse")


def test_asking_for_a_person_says_who_answers_and_when(desk: DeskServer, line: FakeLinePlatform, db: Database) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="人と話したい"))
    text = _texts_to(line, 1)[0]
    assert "おつなぎします" in text
    assert ("受付時間内" in text) or ("受付時間外" in text and "以降に順番にお返事します" in text)
    assert conversation_of(db, user).status == "waiting"


def test_following_the_account_gets_a_greeting_and_the_privacy_notice(desk: DeskServer, line: FakeLinePlatform) -> None:
    desk.post_line(line_body("follow", user=new_user()))
    texts = _texts_to(line, 1)
    assert "友だち追加ありがとうございます" in texts[0]
    assert any("【記録について】" in t and "記録を削除して" in t for t in texts)


def test_the_privacy_notice_comes_once_at_first_contact(desk: DeskServer, line: FakeLinePlatform) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="こんにちは"))
    assert "【記録について】" in _texts_to(line, 1)[0]
    desk.post_line(line_body("message-text", user=user, text="こんにちは"))
    assert "【記録について】" not in _texts_to(line, 2)[1]


@pytest.mark.parametrize(("fixture", "word"), [("message-sticker", "スタンプ"), ("message-image", "画像"),
                                               ("message-audio", "音声"), ("message-video", "動画")])
def test_stickers_and_media_get_a_polite_reply(desk: DeskServer, line: FakeLinePlatform, fixture: str, word: str) -> None:
    desk.post_line(line_body(fixture, user=new_user()))
    text = _texts_to(line, 1)[0]
    assert f"{word}は読み取れません" in text and "文章で送ってください" in text


def test_a_shared_location_gets_nearby_sample_resources(desk: DeskServer, line: FakeLinePlatform) -> None:
    body = line_body("message-location", user=new_user())
    body["events"][0]["message"].update({"latitude": 36.651, "longitude": 138.307, "address": "須坂市"})
    desk.post_line(body)
    text = _texts_to(line, 1)[0]
    assert "お近くの" in text and "サンプルデータ" in text
    cards = json.dumps([m for m in line.delivered[0].messages if m["type"] == "flex"], ensure_ascii=False)
    assert "距離" in cards and "km" in cards  # nearest first, each card with its distance


def test_a_resource_question_lists_sample_resources(desk: DeskServer, line: FakeLinePlatform) -> None:
    desk.post_line(line_body("message-text", user=new_user(), text="須坂市の訪問看護ステーションを探しています"))
    text = _texts_to(line, 1)[0]
    assert "須坂市の訪問看護" in text and "サンプルデータ" in text


def test_events_without_a_reply_are_accepted_and_answer_nothing(desk: DeskServer, line: FakeLinePlatform, db: Database) -> None:
    before = _event_count(db)
    for name in ("unfollow", "unknown-event-type", "unsend", "things-link", "delivery", "webhook-verify-empty-events"):
        response = desk.post_line(line_body(name))
        assert response.status_code == 200, (name, response.text)
    wait_until(lambda: _event_count(db) >= before + 5)
    time.sleep(0.6)
    assert line.delivered == []


def test_a_postback_is_handled(desk: DeskServer, line: FakeLinePlatform) -> None:
    body = line_body("postback", user=new_user())
    body["events"][0]["postback"] = {"data": "action=handoff"}
    desk.post_line(body)
    assert "おつなぎします" in _texts_to(line, 1)[0]


def test_in_a_group_the_bot_answers_only_when_addressed(desk: DeskServer, line: FakeLinePlatform) -> None:
    desk.post_line(line_body("message-text-group", text="訪問看護ってどうやって頼むの？"))
    time.sleep(0.8)
    assert line.delivered == []
    body = line_body("variants/message-text-group-mention-emoji")
    body["events"][0]["message"]["mention"]["mentionees"][1]["isSelf"] = True
    desk.post_line(body)
    assert "1対1のトーク" in _texts_to(line, 1)[0]


# -- what the platform does ------------------------------------------------------------------------

def test_a_redelivered_event_is_processed_once(desk: DeskServer, line: FakeLinePlatform, db: Database) -> None:
    body = line_body("message-text", user=new_user(), text="訪問看護ってどうやって頼むの？")
    assert desk.post_line(body).status_code == 200
    body["events"][0]["deliveryContext"]["isRedelivery"] = True
    assert desk.post_line(body).json()["new"] == 0
    line.wait_for_deliveries(1)
    time.sleep(0.6)
    assert len(line.delivered) == 1


def test_an_expired_reply_token_falls_back_to_a_push(desk: DeskServer, line: FakeLinePlatform) -> None:
    user = new_user()
    line.expire_all_reply_tokens()
    desk.post_line(line_body("message-text", user=user, text="訪問看護ってどうやって頼むの？"))
    delivery = line.wait_for_deliveries(1)[0]
    assert (delivery.kind, delivery.to) == ("push", user)
    assert delivery.retry_key


def test_server_errors_and_rate_limits_are_retried_without_doubling(desk: DeskServer, line: FakeLinePlatform, db: Database) -> None:
    line.expire_all_reply_tokens()
    line.fail_next(1, status=500, endpoint="push")
    line.fail_next(1, status=429, retry_after=1, endpoint="push")
    desk.post_line(line_body("message-text", user=new_user(), text="人と話したい"))
    line.wait_for_deliveries(1, timeout=10)
    pushes = [r for r in line.requests if r.path.endswith("/push")]
    assert [r.status for r in pushes] == [500, 429, 200]
    assert len({r.headers["x-line-retry-key"] for r in pushes}) == 1
    time.sleep(0.5)
    assert len(line.delivered) == 1


def test_a_push_that_timed_out_is_not_sent_twice(desk: DeskServer, line: FakeLinePlatform) -> None:
    line.expire_all_reply_tokens()
    line.delay_next(1, seconds=2.0, endpoint="push")  # longer than the desk's 1 s timeout
    desk.post_line(line_body("message-text", user=new_user(), text="人と話したい"))
    wait_until(lambda: any(r.status == 409 for r in line.requests), timeout=10)
    assert len(line.delivered) == 1


def test_a_reply_that_timed_out_is_not_pushed_again(desk: DeskServer, line: FakeLinePlatform) -> None:
    line.delay_next(1, seconds=2.0, endpoint="reply")
    desk.post_line(line_body("message-text", user=new_user(), text="人と話したい"))
    wait_until(lambda: len([r for r in line.requests if r.path.endswith("/reply")]) >= 2, timeout=10)
    time.sleep(1.0)
    assert len(line.delivered) == 1
    assert not any(r.path.endswith("/push") for r in line.requests)


def test_a_reply_that_timed_out_stays_uncertain_through_later_errors(desk: DeskServer, line: FakeLinePlatform) -> None:
    # The first reply is delivered but its answer is late; the retry meets a 500; the next finds the
    # token used. Whether the first got through was never known: it did, so nothing is pushed.
    line.delay_next(1, seconds=2.0, endpoint="reply")
    desk.post_line(line_body("message-text", user=new_user(), text="人と話したい"))
    wait_until(lambda: [r for r in line.requests if r.path.endswith("/reply")], timeout=10)
    line.fail_next(1, status=500, endpoint="reply")
    wait_until(lambda: len([r for r in line.requests if r.path.endswith("/reply")]) >= 3, timeout=10)
    time.sleep(1.0)
    assert [r.status for r in line.requests if r.path.endswith("/reply")][:3] == [200, 500, 400]
    assert len(line.delivered) == 1
    assert not any(r.path.endswith("/push") for r in line.requests)


def test_a_permanent_failure_is_kept_visible(desk: DeskServer, line: FakeLinePlatform, db: Database) -> None:
    user = new_user()
    line.expire_all_reply_tokens()
    line.fail_next(1, status=400, body={"message": "The property, 'to', in the request body is invalid"}, endpoint="push")
    desk.post_line(line_body("message-text", user=user, text="人と話したい"))

    def failed() -> OutboxMessage | None:
        with db.session() as session:
            return session.scalars(select(OutboxMessage).where(OutboxMessage.target == user,
                                                               OutboxMessage.status == "failed")).first()
    row = wait_until(failed, timeout=10)
    assert "400" in (row.last_error or "")


# -- bad input ------------------------------------------------------------------------------------

def test_a_bad_or_missing_signature_is_refused_and_stores_nothing(desk: DeskServer, db: Database) -> None:
    body = json.dumps(line_body("message-text", user=new_user())).encode()
    before = _event_count(db)
    assert desk.post_line(body, signature=None).status_code == 401
    assert desk.post_line(body, signature=line_signature(body, "wrong-secret")).status_code == 401
    assert desk.post_line(body + b" ", signature=line_signature(body)).status_code == 401  # body changed after signing
    assert desk.post_line(body, signature="not base64 at all!").status_code == 401
    assert _event_count(db) == before


@pytest.mark.parametrize(("raw", "content_type", "status", "reason"), [
    (b'{"events": [', "application/json", 400, "not valid JSON"),
    (b"\xff\xfe{}", "application/json", 400, "UTF-8"),
    (b'{"destination": "U1"}', "application/json", 400, "'events' list"),
    (b'{"events": [42]}', "application/json", 400, "each event"),
    (b'{"events": []}', "text/plain", 415, "application/json"),
])
def test_malformed_bodies_get_a_clear_4xx(desk: DeskServer, raw: bytes, content_type: str, status: int, reason: str) -> None:
    response = desk.post_line(raw, content_type=content_type)
    assert response.status_code == status
    assert reason in response.json()["error"]


def test_an_oversized_body_is_refused(desk: DeskServer) -> None:
    big = json.dumps({"events": [], "padding": "x" * 1_100_000}).encode()
    assert desk.post_line(big).status_code == 413
    assert httpx.get(f"{desk.url}/healthz").json() == {"status": "ok"}


def test_long_empty_and_emoji_only_texts_get_answers(desk: DeskServer, line: FakeLinePlatform) -> None:
    for text in ("あ" * 5000, " ", "🙏🙏🙏"):
        desk.post_line(line_body("message-text", user=new_user(), text=text))
    texts = _texts_to(line, 3)
    assert len(texts) >= 3
    assert httpx.get(f"{desk.url}/readyz").status_code == 200


def test_old_format_events_without_ids_are_stored_once(desk: DeskServer, line: FakeLinePlatform, db: Database) -> None:
    from tests.support import LINE_FIXTURES

    raw = (LINE_FIXTURES / "signature-kat" / "java-callback-request.json").read_bytes()
    before = _event_count(db)
    assert desk.post_line(raw).status_code == 200
    assert desk.post_line(raw).status_code == 200
    wait_until(lambda: _event_count(db) == before + len(json.loads(raw)["events"]))


def test_health_and_readiness(desk: DeskServer) -> None:
    assert httpx.get(f"{desk.url}/healthz").status_code == 200
    ready = httpx.get(f"{desk.url}/readyz").json()
    assert ready["status"] == "ready" and ready["channels"] == {"line": True, "slack": False}
