"""Nothing accepted is lost, nothing is done twice, and the bot never talks over a person."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from adapters.line import LineChannel
from db.models import Contact, Conversation, InboundEvent, Message, OutboxMessage, utcnow
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import LINE_SECRET, LINE_TOKEN, DeskServer, line_body, new_user, wait_until
from zaitaku_desk.outbox import Outbox
from zaitaku_desk.pipeline import GroupCommit, store_events


@pytest.fixture
def server(database: Database, fake_line: FakeLinePlatform, database_url: str) -> Iterator[DeskServer]:
    desk = DeskServer(database_url, fake_line.url)
    yield desk
    desk.stop()


def _owned_conversation(db: Database, user: str, status: str) -> int:
    with db.session() as session:
        contact = Contact(channel="line", external_id=user, consent_notice_sent_at=utcnow())
        session.add(contact)
        session.flush()
        conversation = Conversation(contact_id=contact.id, channel="line", status=status)
        session.add(conversation)
        session.flush()
        return conversation.id


def test_events_accepted_before_a_crash_are_answered_after_restart(
        server: DeskServer, database: Database, line: FakeLinePlatform) -> None:
    user = new_user()
    body = line_body("message-text", user=user, text="人と話したい")
    store_events(database, "line", [(e["webhookEventId"], e) for e in body["events"]])  # accepted, then crash
    server.start()
    delivery = line.wait_for_deliveries(1, timeout=10)[0]
    assert "おつなぎします" in delivery.answer[0]["text"]
    with database.session() as session:
        assert session.scalars(select(InboundEvent).where(InboundEvent.event_id == body["events"][0]["webhookEventId"])
                               ).one().processed_at is not None


def test_a_killed_server_resumes_unsent_replies(server: DeskServer, database: Database, line: FakeLinePlatform) -> None:
    server.start()
    server.stop(kill=True)
    user = new_user()
    conversation = _owned_conversation(database, user, "bot")
    with database.session() as session:
        session.add(OutboxMessage(channel="line", target=user, conversation_id=conversation, sender_kind="bot",
                                  payload={"messages": [{"type": "text", "text": "再開後に届く返信"}]},
                                  retry_key=str(uuid.uuid4())))
    server.start()
    assert line.wait_for_deliveries(1, timeout=10)[0].answer[0]["text"] == "再開後に届く返信"


def test_a_reply_sent_just_before_a_crash_is_not_sent_again(
        database: Database, database_url: str, line: FakeLinePlatform) -> None:
    # The reply reaches LINE, and the process dies before it hears back (so before it records it).
    first = DeskServer(database_url, line.url, LINE_REQUEST_TIMEOUT_SECONDS="10", OUTBOX_CLAIM_LEASE_SECONDS="1").start()
    try:
        line.delay_next(1, seconds=5.0, endpoint="reply")
        first.post_line(line_body("message-text", user=(user := new_user()), text="人と話したい"))
        line.wait_for_deliveries(1, timeout=10)
        first.stop(kill=True)
    finally:
        first.stop()
    # The next process takes the row again once the lease is over; the token is used: it was sent.
    second = DeskServer(database_url, line.url, OUTBOX_CLAIM_LEASE_SECONDS="1").start()
    try:
        def recorded() -> OutboxMessage | None:
            with database.session() as session:
                row = session.scalars(select(OutboxMessage).where(OutboxMessage.target == user)).one()
                return row if row.status == "sent" else None
        row = wait_until(recorded, timeout=10)
        assert row.sent_via == "reply" and row.outcome_unknown
        assert len([d for d in line.delivered if d.reply_token or d.to == user]) == 1
        assert not any(r.path.endswith("/push") for r in line.requests)
    finally:
        second.stop()


def test_while_a_person_owns_the_conversation_only_emergencies_get_a_bot_reply(
        server: DeskServer, database: Database, line: FakeLinePlatform) -> None:
    server.start()
    user = new_user()
    _owned_conversation(database, user, "human")
    server.post_line(line_body("message-text", user=user, text="訪問看護ってどうやって頼むの？"))
    server.press(user, "action=faq&faq=resident.costs")  # the rich menu's 費用のこと
    time.sleep(1.0)
    assert line.delivered == []
    with database.session() as session:  # the press is in the transcript the owner reads
        said = session.scalars(select(Message.text).where(Message.kind == "postback", Message.conversation_id.in_(
            select(Conversation.id).join(Contact, Contact.id == Conversation.contact_id)
            .where(Contact.external_id == user)))).all()
    assert len(said) == 1 and "費用" in said[0]
    server.post_line(line_body("message-text", user=user, text="母が倒れて呼びかけても反応がない"))
    assert "119" in line.wait_for_deliveries(1)[0].messages[0]["text"]  # first, before anything else


def test_the_owner_is_checked_again_at_the_moment_of_sending(database: Database, line: FakeLinePlatform) -> None:
    user = new_user()
    conversation = _owned_conversation(database, user, "bot")
    with database.session() as session:
        for text, urgent in (("ボットの返信", False), ("今すぐ119番に電話してください。", True)):
            session.add(OutboxMessage(channel="line", target=user, conversation_id=conversation, sender_kind="bot",
                                      urgent=urgent, payload={"messages": [{"type": "text", "text": text}]},
                                      retry_key=str(uuid.uuid4())))
    with database.session() as session:  # a staff member takes over after the reply was decided
        session.get(Conversation, conversation).status = "human"

    async def deliver() -> None:
        channel = LineChannel(LINE_SECRET, LINE_TOKEN, line.url, timeout=2.0)
        outbox = Outbox(database, {"line": channel}, "test-worker", 3, 0.1, 0.5)
        await outbox.deliver_due()
        await channel.aclose()

    asyncio.run(deliver())
    assert line.texts() == ["今すぐ119番に電話してください。"]
    with database.session() as session:
        statuses = dict(session.execute(select(OutboxMessage.urgent, OutboxMessage.status)
                                        .where(OutboxMessage.target == user)).all())
    assert statuses == {False: "suppressed", True: "sent"}


def test_the_119_instruction_goes_out_ahead_of_a_backlog(database: Database, line: FakeLinePlatform) -> None:
    """Back-pressure inside the desk: webhooks are never refused (a refused message may be lost), so a
    backlog forms in the outbox; the urgent row written last is sent in the first pass."""
    backlog, batch = 300, 50
    with database.session() as session:
        for n in range(backlog):
            session.add(OutboxMessage(channel="line", target=new_user(), sender_kind="bot",
                                      payload={"messages": [{"type": "text", "text": f"返信{n}"}]},
                                      retry_key=str(uuid.uuid4())))
        session.add(OutboxMessage(channel="line", target=new_user(), sender_kind="bot", urgent=True,
                                  payload={"messages": [{"type": "text", "text": "今すぐ119番に電話してください。"}]},
                                  retry_key=str(uuid.uuid4())))

    async def deliver() -> None:
        channel = LineChannel(LINE_SECRET, LINE_TOKEN, line.url, timeout=2.0)
        await Outbox(database, {"line": channel}, "test-worker", 3, 0.1, 0.5).deliver_due(limit=batch)
        await channel.aclose()

    asyncio.run(deliver())
    texts = line.texts()
    assert len(texts) == backlog + 1
    assert texts.index("今すぐ119番に電話してください。") < batch


def test_two_server_processes_handle_each_event_exactly_once(
        database: Database, database_url: str, fake_line: FakeLinePlatform, line: FakeLinePlatform) -> None:
    servers = [DeskServer(database_url, fake_line.url).start() for _ in range(2)]
    try:
        users = [new_user() for _ in range(20)]
        bodies = [line_body("message-text", user=u, text="人と話したい") for u in users]
        for i, body in enumerate(bodies):
            servers[i % 2].post_line(body)
            servers[(i + 1) % 2].post_line(body)  # the same event, redelivered to the other process
        line.wait_for_deliveries(len(users), timeout=20)
        time.sleep(1.0)
        assert len(line.delivered) == len(users)
        with database.session() as session:
            workers = set(session.scalars(select(InboundEvent.claimed_by).where(
                InboundEvent.event_id.in_([b["events"][0]["webhookEventId"] for b in bodies]))))
        assert len(workers) >= 1
    finally:
        for s in servers:
            s.stop()


def test_a_burst_from_one_contact_is_handled_in_order_one_at_a_time(
        server: DeskServer, database: Database, line: FakeLinePlatform) -> None:
    user, others = new_user(), [new_user() for _ in range(3)]
    texts = ["こんにちは", "訪問看護ってどうやって頼むの？", "ありがとう"]
    bodies = [line_body("message-text", user=user, text=text) for text in texts]
    bodies += [line_body("message-text", user=other, text="こんにちは") for other in others]
    server.start()
    server.post_line(line_body("message-text", user=new_user(), text="こんにちは"))  # the desk is warm
    line.wait_for_deliveries(1)
    line.reset()
    store_events(database, "line", [(e["webhookEventId"], e) for b in bodies for e in b["events"]])  # one backlog
    line.wait_for_deliveries(len(bodies), timeout=15)
    with database.session() as session:
        contact = session.scalars(select(Contact).where(Contact.external_id == user)).one()
        said = session.scalars(select(Message.text).join(Conversation, Message.conversation_id == Conversation.id)
                               .where(Conversation.contact_id == contact.id, Message.direction == "in")
                               .order_by(Message.id)).all()
    assert said == texts
    said_back = {d.reply_token: "\n".join(m.get("text", "") for m in d.messages) for d in line.delivered}
    first, *later = (said_back[b["events"][0]["replyToken"]] for b in bodies[:3])
    assert "【記録について】" in first  # the privacy notice once, with the first answer only
    assert not any("【記録について】" in text for text in later)


def test_webhooks_in_flight_are_committed_together_each_event_once(database: Database) -> None:
    """Group commit: concurrent deliveries go into one transaction; a redelivery among them is stored once,
    and a delivery that cannot be stored fails alone (the batch is written again one by one)."""
    prefix = uuid.uuid4().hex[:8]

    async def deliver() -> list[int | BaseException]:
        ingest = GroupCommit(database)
        good = [ingest.store("line", [(f"{prefix}-{n}", {"n": n})]) for n in range(30)]
        again = ingest.store("line", [(f"{prefix}-1", {"n": 1})])
        broken = ingest.store("line", [(f"{prefix}-broken", {"not json": {1, 2}})])
        return await asyncio.gather(*good, again, broken, return_exceptions=True)

    results = asyncio.run(deliver())
    assert results[:30] == [1] * 30 and results[30] == 0
    assert isinstance(results[31], Exception)

    async def together() -> list[int]:  # one batch that succeeds: an id twice in one delivery counts once
        ingest = GroupCommit(database)
        return await asyncio.gather(ingest.store("line", [(f"{prefix}-a", {}), (f"{prefix}-a", {})]),
                                    ingest.store("line", [(f"{prefix}-a", {}), (f"{prefix}-b", {})]))

    assert asyncio.run(together()) == [1, 1]
    with database.session() as session:
        stored = session.scalars(select(InboundEvent.event_id).where(InboundEvent.event_id.like(f"{prefix}-%"))).all()
    assert sorted(stored) == sorted([*(f"{prefix}-{n}" for n in range(30)), f"{prefix}-a", f"{prefix}-b"])
