"""The desk under faults, with every count asserted: nothing lost, nothing doubled.

The fake LINE platform fails 30 % of send calls (a 500, a 429, or an answer that comes after the
desk's timeout although the message was delivered) while residents write and LINE redelivers.
Each reply must reach its resident exactly once: by its reply token or its push retry key.
"""

from __future__ import annotations

import random

from sqlalchemy import func, select

from db.models import InboundEvent, Message, OutboxMessage
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until

TEXTS = ("訪問看護とは何ですか", "人と話したい", "ケアマネジャーに相談したい", "介護保険の申請方法を教えて",
         "須坂市の訪問看護ステーション", "ありがとう", "母の床ずれが心配です")


def _settled(database: Database) -> bool:
    """Every stored event processed and every reply sent (or given up)."""
    with database.session() as session:
        unprocessed = session.scalar(select(func.count()).select_from(InboundEvent)
                                     .where(InboundEvent.processed_at.is_(None)))
        pending = session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status == "pending"))
    return unprocessed == 0 and pending == 0


def _deliveries_per_row(line: FakeLinePlatform, rows: list[OutboxMessage]) -> list[int]:
    """How many times each outbox row reached the platform: by its reply token or its push retry key."""
    delivered_to: dict[str | None, int] = {}
    for delivery in line.delivered:
        key = delivery.reply_token or delivery.retry_key
        delivered_to[key] = delivered_to.get(key, 0) + 1
    return [delivered_to.get(row.reply_token, 0) + delivered_to.get(row.retry_key, 0) for row in rows]


def test_thirty_percent_faults_lose_nothing_and_double_nothing(
        database_url: str, database: Database, fake_line: FakeLinePlatform) -> None:
    desk = DeskServer(database_url, fake_line.url, LINE_REQUEST_TIMEOUT_SECONDS="0.5", OUTBOX_MAX_ATTEMPTS="40",
                      OUTBOX_BACKOFF_BASE_SECONDS="0.1", OUTBOX_BACKOFF_MAX_SECONDS="0.5").start()
    try:
        fake_line.reset()
        with database.session() as session:
            events_before = session.scalar(select(func.count()).select_from(InboundEvent))
            messages_before = session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
        fake_line.fail_randomly(0.3, late_seconds=1.0, seed=20261206)
        pick = random.Random(1)
        bodies = [line_body("message-text", user=user, text=pick.choice(TEXTS))
                  for user in (new_user() for _ in range(20)) for _ in range(5)]
        for body in bodies + pick.sample(bodies, 25):  # 25 redeliveries of events already sent
            assert desk.post_line(body).status_code == 200
        wait_until(lambda: _settled(database), timeout=90, interval=0.5)

        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(InboundEvent)) == events_before + 100
            assert session.scalar(select(func.count()).select_from(Message)
                                  .where(Message.direction == "in")) == messages_before + 100
            users = [b["events"][0]["source"]["userId"] for b in bodies]
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "line",
                                                               OutboxMessage.target.in_(users))).all()
        assert {row.status for row in rows} == {"sent"}
        statuses = [r.status for r in fake_line.requests]
        late = [r for r in fake_line.requests if r.delay > 0]
        # The faults really happened: errors, rate limits, and deliveries answered after the desk's timeout.
        assert statuses.count(500) >= 5 and statuses.count(429) >= 5 and len(late) >= 5, statuses
        # Each late delivery was tried once more and found done: its reply token used (400) or its
        # push retry key accepted (409); never delivered a second time.
        assert statuses.count(400) + statuses.count(409) == len(late), statuses
        per_row = _deliveries_per_row(fake_line, rows)
        assert per_row.count(1) == len(rows), f"doubled: {per_row.count(2)}, lost: {per_row.count(0)}"
        assert len(fake_line.delivered) == len(rows)  # nothing delivered that no row stands for
    finally:
        fake_line.fail_randomly(0, 0)
        desk.stop()


def test_killed_twice_mid_work_loses_nothing_and_doubles_nothing(
        database_url: str, database: Database, fake_line: FakeLinePlatform) -> None:
    # Replies answer slowly (0.3 s), so each kill lands with sends in flight: delivered, not recorded.
    env = {"OUTBOX_CLAIM_LEASE_SECONDS": "1", "LINE_REQUEST_TIMEOUT_SECONDS": "5"}
    fake_line.reset()
    with database.session() as session:
        before = session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
    pick = random.Random(2)
    bodies = [line_body("message-text", user=user, text=pick.choice(TEXTS))
              for user in (new_user() for _ in range(15)) for _ in range(4)]
    try:
        for part in (bodies[:20], bodies[20:40], bodies[40:]):
            desk = DeskServer(database_url, fake_line.url, **env).start()
            fake_line.delay_next(1000, seconds=0.3)
            for body in part:
                assert desk.post_line(body).status_code == 200
            wait_until(lambda: fake_line.delivered, timeout=10)
            desk.stop(kill=True)
        desk = DeskServer(database_url, fake_line.url, **env).start()
        wait_until(lambda: _settled(database), timeout=90, interval=0.5)
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) == before + 60
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "line",
                                                               OutboxMessage.target.in_(
                                                                   [b["events"][0]["source"]["userId"] for b in bodies]))).all()
        assert len(rows) == 60 and {row.status for row in rows} == {"sent"}
        # The kills did land mid-send: some rows were taken again by the next process.
        assert any(row.outcome_unknown for row in rows)
        per_row = _deliveries_per_row(fake_line, rows)
        assert per_row.count(1) == len(rows), f"doubled: {per_row.count(2)}, lost: {per_row.count(0)}"
    finally:
        fake_line.reset()
        desk.stop()
