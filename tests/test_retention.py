"""RETENTION_DAYS: after the period the words go and the counts stay; open conversations keep theirs."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from db.models import AuditLog, Contact, Conversation, InboundEvent, Message, OutboxMessage
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until


def _conversation(db: Database, user: str) -> Conversation:
    with db.session() as session:
        return session.scalars(select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
                               .where(Contact.external_id == user)).one()


def test_texts_older_than_the_retention_period_are_removed_and_the_counts_kept(
        database_url: str, database: Database, line: FakeLinePlatform) -> None:
    first = DeskServer(database_url, line.url).start()
    try:
        answered, waiting = new_user(), new_user()
        first.post_line(line_body("message-text", user=answered, text="介護保険の申請方法を教えて"))
        first.post_line(line_body("message-text", user=waiting, text="看護師さんと話したい"))
        line.wait_for_deliveries(2, timeout=10)
        wait_until(lambda: _conversation(database, waiting).status == "waiting")
    finally:
        first.stop()
    time.sleep(1.5)  # older than the period below (0.00001 days: under a second)
    second = DeskServer(database_url, line.url, RETENTION_DAYS="0.00001", EMERGENCY_REMINDER_MINUTES="0.03").start()
    try:
        def swept() -> bool:
            with database.session() as session:
                return session.scalars(select(AuditLog).where(AuditLog.action == "retention.sweep")).first() is not None
        wait_until(swept, timeout=10)
        done, open_ = _conversation(database, answered), _conversation(database, waiting)
        with database.session() as session:
            texts = dict(session.execute(select(Message.conversation_id, Message.text)
                                         .where(Message.direction == "in")).all())
            assert texts[done.id] is None and texts[open_.id] == "看護師さんと話したい"
            assert all(raw == {"expired": True} for raw in session.scalars(select(InboundEvent.raw)))
            assert {p.get("expired") for p in session.scalars(select(OutboxMessage.payload))} == {True}
        assert done.status == "bot" and done.topic  # what the report counts is still there
        report = httpx.get(f"{second.url}/healthz", timeout=10)
        assert report.status_code == 200
    finally:
        second.stop()
