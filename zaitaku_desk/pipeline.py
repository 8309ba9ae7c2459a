"""From a stored webhook event to replies in the outbox, inside one transaction.

Webhooks only store events (once per event id) and return; this module does the work after
the acknowledgement. Claims are conditional updates, so several processes on one PostgreSQL
database each take an event exactly once, and a crashed worker's claim expires and is resumed.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.base import Channel, Envelope, StaffMessage
from bot.conversation import Effect, transition
from bot.desk import ConversationView, Desk
from bot.messages import Outcome
from db.models import Contact, Conversation, InboundEvent, Message, OutboxMessage, UnansweredQuestion, utcnow
from db.session import Database

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=60)
MAX_EVENT_ATTEMPTS = 5
StaffHook = Callable[[Session, Conversation, tuple[Effect, ...], Outcome, Message | None], None]
StaffMessageHook = Callable[[Session, StaffMessage], None]


def worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def store_events(db: Database, channel: str, events: Sequence[tuple[str, dict[str, Any]]]) -> int:
    """Insert each event once; a redelivered event id is ignored. Returns how many were new."""
    if not events:
        return 0
    rows = [{"channel": channel, "event_id": eid, "raw": raw, "received_at": utcnow(), "attempts": 0}
            for eid, raw in events]
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = (insert(InboundEvent).values(rows)
                 .on_conflict_do_nothing(index_elements=["channel", "event_id"]).returning(InboundEvent.id))
    with db.session() as session:
        return len(session.execute(statement).all())


@dataclass
class Handled:
    conversation_id: int
    outcome: Outcome
    outbox: list[OutboxMessage]


class Pipeline:
    def __init__(self, db: Database, desk: Desk, channels: dict[str, Channel], reply_token_ttl: float,
                 staff_hook: StaffHook | None = None, staff_message_hook: StaffMessageHook | None = None) -> None:
        self.db = db
        self.desk = desk
        self.channels = channels
        self.reply_token_ttl = timedelta(seconds=reply_token_ttl)
        self.staff_hook = staff_hook
        self.staff_message_hook = staff_message_hook
        self.worker = worker_id()

    # -- the queue of stored events -------------------------------------------------------------
    def process_pending(self, limit: int = 50, after_each: Callable[[], None] | None = None) -> int:
        """Claim and process due events in arrival order. Returns how many were processed."""
        done = 0
        for event_id in self._candidates(limit):
            if self._claim(event_id):
                self._process(event_id)
                done += 1
                if after_each is not None:
                    after_each()  # let the outbox start on this reply while the next event is worked
        return done

    def _candidates(self, limit: int) -> list[int]:
        stale = utcnow() - CLAIM_LEASE
        with self.db.session() as session:
            return list(session.scalars(
                select(InboundEvent.id)
                .where(InboundEvent.processed_at.is_(None),
                       or_(InboundEvent.claimed_at.is_(None), InboundEvent.claimed_at < stale))
                .order_by(InboundEvent.id).limit(limit)
            ))

    def _claim(self, event_id: int) -> bool:
        now = utcnow()
        with self.db.session() as session:
            result = session.execute(
                update(InboundEvent)
                .where(InboundEvent.id == event_id, InboundEvent.processed_at.is_(None),
                       or_(InboundEvent.claimed_at.is_(None), InboundEvent.claimed_at < now - CLAIM_LEASE))
                .values(claimed_at=now, claimed_by=self.worker, attempts=InboundEvent.attempts + 1)
            )
            return result.rowcount == 1

    def _process(self, event_id: int) -> None:
        try:
            with self.db.session() as session:
                event = session.get(InboundEvent, event_id)
                assert event is not None
                channel = self.channels.get(event.channel)
                parsed = channel.parse(event.raw) if channel is not None else None  # type: ignore[attr-defined]
                if isinstance(parsed, StaffMessage):
                    if self.staff_message_hook is not None:
                        self.staff_message_hook(session, parsed)
                elif parsed is not None:
                    self.handle(session, event.channel, parsed, received_at=event.received_at)
                event.processed_at = utcnow()
                event.last_error = None
        except Exception as exc:  # one bad event must not stop the desk; it stays visible
            log.exception("processing inbound event %s failed", event_id)
            with self.db.session() as session:
                event = session.get(InboundEvent, event_id)
                if event is not None:
                    event.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                    event.claimed_at = None
                    if event.attempts >= MAX_EVENT_ATTEMPTS:
                        event.processed_at = utcnow()  # given up; kept with its error for staff

    # -- one inbound, through the core -----------------------------------------------------------
    def handle(self, session: Session, channel_name: str, envelope: Envelope,
               received_at: datetime | None = None) -> Handled:
        now = utcnow()
        contact = self._contact(session, channel_name, envelope)
        inbound = envelope.inbound
        conversation = self._answered_survey(session, contact, inbound) or self._conversation(
            session, contact, channel_name)
        conversation.reply_target = envelope.reply_target
        incoming = None
        if inbound.kind not in ("follow", "unfollow", "join", "leave"):
            incoming = Message(conversation_id=conversation.id, direction="in", sender_kind="contact",
                               text=inbound.text, kind=inbound.kind, created_at=now,
                               payload=_payload_of(inbound))
            session.add(incoming)
        if inbound.kind == "unfollow":
            contact.following = False
        elif inbound.kind == "follow":
            contact.following = True

        view = ConversationView(conversation.status, contact.consent_notice_sent_at is not None)
        outcome = self.desk.respond(inbound, view)
        if incoming is not None:
            incoming.route, incoming.faq_id = outcome.route, outcome.faq_id
        if outcome.consent_notice:
            contact.consent_notice_sent_at = now
        if outcome.faq_id and not conversation.topic:
            conversation.topic = outcome.faq_id
        effects: tuple[Effect, ...] = ()
        if outcome.event:
            effects = self._apply(conversation, outcome, now)
        conversation.last_message_at = now
        session.flush()
        if outcome.unanswered:
            self._record_unanswered(session, conversation, inbound, outcome)
        if self.staff_hook is not None and (effects or outcome.relay_to_staff):
            self.staff_hook(session, conversation, effects, outcome, incoming)

        rows = self._enqueue(session, channel_name, envelope, conversation, outcome, received_at or now)
        return Handled(conversation.id, outcome, rows)

    def _apply(self, conversation: Conversation, outcome: Outcome, now: datetime) -> tuple[Effect, ...]:
        status, effects = transition(conversation.status, outcome.event or "")
        conversation.status = status
        if Effect.RECORD_HANDOFF in effects:
            conversation.handed_off_at = conversation.handed_off_at or now
        if outcome.urgency == "emergency":
            conversation.urgency = "emergency"
            conversation.needed_role = "nurse"
        elif outcome.role and conversation.needed_role in (None, "any"):
            conversation.needed_role = outcome.role
        return effects

    def _enqueue(self, session: Session, channel_name: str, envelope: Envelope, conversation: Conversation,
                 outcome: Outcome, received_at: datetime) -> list[OutboxMessage]:
        if not outcome.replies:
            return []
        for reply in outcome.replies:
            session.add(Message(conversation_id=conversation.id, direction="out", sender_kind="bot",
                                text=reply.text, kind="text", route=outcome.route, faq_id=outcome.faq_id))
        channel = self.channels[channel_name]
        issued = envelope.occurred_at or received_at
        rows = []
        for index, payload in enumerate(channel.render(outcome.replies)):
            rows.append(OutboxMessage(
                channel=channel_name, target=envelope.reply_target, conversation_id=conversation.id,
                sender_kind="bot", urgent=any(r.urgent for r in outcome.replies), payload=payload,
                reply_token=envelope.reply_token if index == 0 else None,
                reply_token_expires_at=(min(issued, received_at) + self.reply_token_ttl
                                        if envelope.reply_token and index == 0 else None),
                retry_key=str(uuid.uuid4()),
            ))
        session.add_all(rows)
        return rows

    def _record_unanswered(self, session: Session, conversation: Conversation, inbound: Any, outcome: Outcome) -> None:
        text = inbound.text if inbound.kind == "text" else session.scalars(
            select(Message.text).where(Message.conversation_id == conversation.id, Message.kind == "text",
                                       Message.sender_kind == "contact").order_by(Message.id.desc()).limit(1)).first()
        if not text:
            return
        session.add(UnansweredQuestion(
            conversation_id=conversation.id, text=text, reason="no_match" if inbound.kind == "text" else "unhelpful",
            candidates=[{"faq_id": faq_id, "score": round(score, 3)} for faq_id, score in outcome.candidates]))

    def _answered_survey(self, session: Session, contact: Contact, inbound: Any) -> Conversation | None:
        """The satisfaction answer belongs to the resolved consultation it is about, not a new one."""
        if inbound.kind != "postback" or not (inbound.postback or "").startswith("action=satisfaction"):
            return None
        match = re.search(r"conversation=(\d+)", inbound.postback)
        conversation = session.get(Conversation, int(match.group(1))) if match else None
        return conversation if conversation is not None and conversation.contact_id == contact.id else None

    def _contact(self, session: Session, channel: str, envelope: Envelope) -> Contact:
        query = select(Contact).where(Contact.channel == channel, Contact.external_id == envelope.contact_id)
        contact = session.scalars(query).first()
        if contact is not None:
            return contact
        try:
            with session.begin_nested():
                contact = Contact(channel=channel, external_id=envelope.contact_id,
                                  display_name=envelope.display_name)
                session.add(contact)
        except IntegrityError:  # another process created it a moment ago
            contact = session.scalars(query).one()
        return contact

    def _conversation(self, session: Session, contact: Contact, channel: str) -> Conversation:
        current = session.scalars(
            select(Conversation).where(Conversation.contact_id == contact.id)
            .order_by(Conversation.id.desc()).limit(1)
        ).first()
        if current is not None and current.status != "resolved":
            return current
        conversation = Conversation(contact_id=contact.id, channel=channel, status="bot")
        session.add(conversation)
        session.flush()
        return conversation


def _payload_of(inbound: Any) -> dict[str, Any] | None:
    if inbound.kind == "location":
        return {"latitude": inbound.latitude, "longitude": inbound.longitude}
    if inbound.kind == "postback":
        return {"data": inbound.postback}
    return None
