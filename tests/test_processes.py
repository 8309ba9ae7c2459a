"""Several processes on one database: what one does, the others see; what was acknowledged survives a crash.

Each test here runs `zaitaku-desk serve` (and `zaitaku-desk worker`) as separate processes on a database
of their own, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import httpx
from sqlalchemy import select

from db.models import Contact, Conversation, InboundEvent, Message
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.fakes.slack_platform import FakeSlackPlatform, block_actions_body
from tests.support import DeskServer, conversation_of, line_body, new_user, wait_until
from tests.test_slack import BOT_TOKEN, SIGNING_SECRET, STAFF_CHANNEL, post_slack
from zaitaku_desk.staff import create_staff

NEW_ENTRY = {"id": "resident.process_test", "audience": "resident",
             "question": "くるみ坂訪問入浴の予約変更はできますか？",
             "paraphrases": ["くるみ坂訪問入浴の予約を変えたい"],
             "answer": "くるみ坂訪問入浴（架空）の予約変更は前日17時まで受け付けます。",
             "source": "general", "tags": ["テスト"]}


def _slack_env(fake_slack: FakeSlackPlatform) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_BASE_URL": fake_slack.url,
            "SLACK_STAFF_CHANNEL": STAFF_CHANNEL}


def test_an_faq_added_through_one_process_is_answered_by_the_other(
        database_url: str, database: Database, fake_line: FakeLinePlatform) -> None:
    first = DeskServer(database_url, fake_line.url).start()
    second = DeskServer(database_url, fake_line.url).start()
    try:
        _, token = create_staff(database, "管理 花子", "admin")
        with closing(httpx.Client(base_url=second.url, timeout=10.0)) as visitor:
            visitor.get("/try")
            added = httpx.post(f"{first.url}/admin/api/faq", json=NEW_ENTRY, timeout=10,
                               headers={"Authorization": f"Bearer {token}"})
            assert added.status_code == 201, added.text
            started = time.monotonic()
            assert visitor.post("/try/messages", json={"text": "くるみ坂訪問入浴の予約変更はできますか"}).status_code == 202

            def answered() -> bool:
                texts = [m["text"] for m in visitor.get("/try/messages").json()["messages"]]
                return any("前日17時まで" in t for t in texts)
            wait_until(answered, timeout=8)
            assert time.monotonic() - started < 5
    finally:
        first.stop()
        second.stop()


def test_a_button_pressed_just_before_a_crash_is_done_after_it(
        database_url: str, database: Database, fake_line: FakeLinePlatform, fake_slack: FakeSlackPlatform) -> None:
    # One process takes webhooks only; a worker beside it does the work.
    ingest = DeskServer(database_url, fake_line.url, BACKGROUND_WORK="false", **_slack_env(fake_slack)).start()
    worker = ingest.worker()
    try:
        create_staff(database, "佐藤 看護", "nurse", "U0NURSEP1")
        resident = new_user()
        assert ingest.post_line(line_body("message-text", user=resident, text="看護師さんと話したい")).status_code == 200
        conversation = wait_until(lambda: (c := conversation_of(database, resident)) and c.staff_thread_ts and c,
                                  timeout=15)  # handed off, and its staff thread started
        worker.terminate()
        worker.wait(timeout=15)

        # 「対応する」 is acknowledged, and the process dies before anything works it.
        press = block_actions_body("conv_take", str(conversation.id), user_id="U0NURSEP1", channel_id=STAFF_CHANNEL,
                                   message_ts="1700000000.000100")
        assert post_slack(ingest, press).status_code == 200
        ingest.stop(kill=True)
        with database.session() as session:
            stored = session.scalars(select(InboundEvent).where(InboundEvent.channel == "slack")).all()
        assert len(stored) == 1 and stored[0].processed_at is None
        assert conversation_of(database, resident).status == "waiting"

        # The next worker finds it and does it: the nurse owns the conversation, and the thread says so.
        fake_slack.reset()
        worker = ingest.worker()
        wait_until(lambda: conversation_of(database, resident).status == "human", timeout=15)
        wait_until(lambda: any("佐藤 看護" in str(c.args) for c in fake_slack.calls_to("chat.update")), timeout=8)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        ingest.stop()


def test_several_web_processes_and_workers_answer_each_event_once_in_order(
        database_url: str, database: Database, fake_line: FakeLinePlatform, line: FakeLinePlatform) -> None:
    """`serve --workers 2` (webhooks only) beside two `zaitaku-desk worker`: 20 residents write three
    messages each, residents at once and each in order, every first message delivered twice. Every
    event is answered once, and each resident's messages are recorded and answered in the order sent."""
    web = DeskServer(database_url, fake_line.url, workers=2, BACKGROUND_WORK="false").start()
    workers = [web.worker(), web.worker()]
    worker_log = web.log.with_suffix(".worker.log")
    wait_until(lambda: worker_log.read_text(errors="replace").count("channel LINE") >= 2, timeout=30)  # both up
    # Both web processes started, each with its own logging (uvicorn starts them fresh).
    wait_until(lambda: web.output().count("channel LINE") >= 2, timeout=30)
    texts = ["こんにちは", "訪問看護ってどうやって頼むの？", "ありがとう"]
    residents = {user: [line_body("message-text", user=user, text=t) for t in texts]
                 for user in (new_user() for _ in range(20))}
    try:
        def write(user: str) -> None:
            for n, body in enumerate(residents[user]):
                assert web.post_line(body).status_code == 200
                if n == 0:
                    assert web.post_line(body).status_code == 200  # LINE's redelivery

        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(write, residents))
        line.wait_for_deliveries(3 * len(residents), timeout=30)
        time.sleep(1.0)
        assert len(line.delivered) == 3 * len(residents)  # nothing twice
        by_token = {d.reply_token: d.at for d in line.delivered}
        with database.session() as session:
            for user, bodies in residents.items():
                contact = session.scalars(select(Contact).where(Contact.external_id == user)).one()
                said = session.scalars(select(Message.text).join(Conversation, Message.conversation_id == Conversation.id)
                                       .where(Conversation.contact_id == contact.id, Message.direction == "in")
                                       .order_by(Message.id)).all()
                assert said == texts, user
                answered_at = [by_token[b["events"][0]["replyToken"]] for b in bodies]
                assert answered_at == sorted(answered_at), user
            claimed_by = set(session.scalars(select(InboundEvent.claimed_by).where(InboundEvent.event_id.in_(
                [b["events"][0]["webhookEventId"] for bodies in residents.values() for b in bodies]))))
        assert len(claimed_by) == 2  # both workers took events
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=15)
        web.stop()
