"""From a stored webhook event to replies in the outbox, inside one transaction.

Webhooks only store events (once per event id) and return; this module does the work after
the acknowledgement. An event is taken by a conditional update that marks it processed in the
same transaction that stores its replies, so several processes on one database each take an
event exactly once, and a worker that crashes mid-way leaves its events pending for the next.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, Row, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from adapters.base import Channel, Envelope, StaffAct, StaffMessage
from bot import replies
from bot.desk import ConversationView, Desk
from bot.messages import Outcome, postback_fields
from db.models import Contact, Conversation, InboundEvent, Message, UnansweredQuestion, utcnow
from db.session import Database
from zaitaku_desk import metrics, staff_relay
from zaitaku_desk.lifecycle import BOT, Applied, Conflict, apply
from zaitaku_desk.outbox import Outgoing, enqueue
from zaitaku_desk.staff_commands import StaffCommands

log = logging.getLogger(__name__)

MAX_EVENT_ATTEMPTS = 5
MAX_CONFLICT_RETRIES = 10  # a batch decided again because a conversation changed under it
GIVE_WAY_SECONDS = 0.05  # the longest the worker waits for webhooks in flight before its next batch
BATCH_SECONDS = 0.02  # a batch stops taking more events after deciding for this long
Parsed = Envelope | StaffMessage | StaffAct | Exception | None  # a stored event as its channel reads it
Known = dict[tuple[str, str], tuple[Contact, Conversation | None]]  # (channel, external id): contact, open conversation


def worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


Events = Sequence[tuple[str, dict[str, Any]]]  # (event id, raw event) as a webhook delivered them


def store_events(db: Database, channel: str, events: Events) -> int:
    """Insert each event once; a redelivered event id is ignored. Returns how many were new."""
    return store_together(db, [(channel, events)])[0]


def store_together(db: Database, deliveries: Sequence[tuple[str, Events]]) -> list[int]:
    """Several webhooks' events in one transaction; how many of each delivery's events were new (an
    event id delivered twice, even within these, is stored once and counted for the first)."""
    now = utcnow()
    rows = [{"channel": channel, "event_id": eid, "raw": raw, "received_at": now, "attempts": 0}
            for channel, events in deliveries for eid, raw in events]
    if not rows:
        return [0] * len(deliveries)
    with db.session() as session:
        new = {(row.channel, row.event_id) for row in
               session.execute(_insert_new(db.engine.dialect.name, _EVENTS, "channel", "event_id"), rows)}
    counts = []
    for channel, events in deliveries:
        count = 0
        for eid, _ in events:
            if (channel, eid) in new:
                new.discard((channel, eid))
                count += 1
        counts.append(count)
    return counts


class GroupCommit:
    """Webhooks' events stored together. While one transaction writes, the requests that arrive wait
    and go into the next one, all of them together: one commit and one thread hop per burst instead of
    one per request. Each request still answers only after its own events are committed; a batch that
    fails is written again one request at a time, so one bad delivery fails only its own request."""

    MAX_BATCH = 200

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: list[tuple[str, Events, asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, channel: str, events: Events) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((channel, events, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        batch: list[tuple[str, Events, asyncio.Future[int]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:self.MAX_BATCH], self._waiting[self.MAX_BATCH:]
                try:
                    counts = await asyncio.to_thread(store_together, self.db, [(c, e) for c, e, _ in batch])
                except Exception:
                    if len(batch) == 1:
                        _settle(batch[0][2], exception=sys.exc_info()[1])
                        continue
                    for channel, events, future in batch:
                        try:
                            _settle(future, await asyncio.to_thread(store_events, self.db, channel, events))
                        except Exception as exc:
                            _settle(future, exception=exc)
                    continue
                for (_, _, future), count in zip(batch, counts, strict=True):
                    _settle(future, count)
        except BaseException:
            # Cancelled (the desk is stopping): no request waits forever; unanswered, the platform
            # delivers again.
            for _, _, future in [*batch, *self._waiting]:
                _settle(future, exception=RuntimeError("the desk is stopping"))
            self._waiting = []
            raise
        finally:
            self._writer = None


def _settle(future: asyncio.Future[int], result: int = 0, exception: BaseException | None = None) -> None:
    if future.done():  # the request went away (the client hung up); its events are stored all the same
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


# The statements run for every event, built once: building one costs more CPU than running it.
_EVENTS = InboundEvent.__table__
_PENDING = (select(_EVENTS.c.id, _EVENTS.c.channel, _EVENTS.c.raw, _EVENTS.c.received_at)
            .where(_EVENTS.c.processed_at.is_(None)).order_by(_EVENTS.c.id).limit(bindparam("limit")))
_TAKE = (update(_EVENTS).where(_EVENTS.c.id.in_(bindparam("ids", expanding=True)), _EVENTS.c.processed_at.is_(None))
         .values(processed_at=bindparam("now"), claimed_at=bindparam("now"), claimed_by=bindparam("worker"),
                 attempts=_EVENTS.c.attempts + 1, last_error=None).returning(_EVENTS.c.id))
_INSERT_MESSAGES = insert(Message.__table__)
_LATEST = (select(func.max(Conversation.id)).where(Conversation.contact_id == Contact.id)
           .correlate(Contact).scalar_subquery())
_KNOWN = (select(Contact, Conversation).outerjoin(Conversation, Conversation.id == _LATEST)
          .where(Contact.channel == bindparam("channel"),
                 Contact.external_id.in_(bindparam("external_ids", expanding=True))))


@functools.cache
def _insert_new(dialect: str, table: Table, *keys: str) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING RETURNING id and keys (the rows new), in this dialect."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=list(keys)).returning(
        table.c.id, *(table.c[key] for key in keys))


@dataclass
class Decision:
    """What the core decided for one inbound, before anything of it is written."""

    channel: str
    envelope: Envelope
    contact: Contact | None  # None: a first contact
    conversation: Conversation | None  # None: a new conversation starts
    outcome: Outcome


@dataclass
class Handled:
    conversation_id: int
    outcome: Outcome
    outbox: list[dict[str, Any]]  # the rows written for the replies (each decision's, in order)


class Acknowledgements:
    """Webhook requests in flight in this process (counted on the event loop, read by the worker).

    Acknowledging comes first: webhooks and the inbound worker share this process's CPU (one GIL),
    so the worker starts a batch only when no webhook is in flight (or after GIVE_WAY_SECONDS).
    """

    def __init__(self) -> None:
        self.in_flight = 0
        self._none = threading.Event()
        self._none.set()

    @contextmanager
    def request(self) -> Iterator[None]:
        self.in_flight += 1
        self._none.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._none.set()

    def give_way(self) -> None:
        self._none.wait(GIVE_WAY_SECONDS)


class Pipeline:
    def __init__(self, db: Database, desk: Desk, channels: dict[str, Channel], reply_token_ttl: float,
                 staff: StaffCommands | None = None, acks: Acknowledgements | None = None,
                 refresh: Callable[[], object] | None = None) -> None:
        self.db = db
        self.refresh = refresh  # brings self.desk up to the knowledge in the database (another process's edit)
        self.desk = desk
        self.channels = channels
        self.reply_token_ttl = timedelta(seconds=reply_token_ttl)
        self.staff = staff
        self.acks = acks or Acknowledgements()
        self.worker = worker_id()

    # -- the queue of stored events -------------------------------------------------------------
    def process_pending(self, limit: int = 50, after_commit: Callable[[], None] | None = None) -> int:
        """Process up to `limit` stored events in arrival order; returns how many it found.

        Events go in batches, one transaction each, with one event per contact (a contact's next
        event is decided only once its previous one is written): the more wait, the less each
        costs. `after_commit` runs after each batch, so the outbox sends those replies at once.
        """
        with self.db.session() as session:
            pending = session.execute(_PENDING, {"limit": limit}).all()
        queue = [(row, self._parse(row)) for row in pending]
        most, conflicts = limit, 0
        while queue:
            self.acks.give_way()
            self._refresh()
            try:
                queue = self._batch(queue, most)
            except Conflict:
                # Someone changed a conversation between deciding and writing (a staff act): decide
                # again from what is there now; not the event's fault, so not one of its attempts.
                conflicts += 1
                if conflicts <= MAX_CONFLICT_RETRIES:
                    continue
                raise
            except Exception as exc:
                if most > 1:
                    most = 1  # redo one at a time, so that only the event that fails is held back
                    continue
                row, parsed = queue[0]
                self._record_failure(row.id, exc)
                # The contact's later events wait until this one is done or given up.
                queue = [item for item in queue[1:] if _order_key(*item) != _order_key(row, parsed)]
            if after_commit is not None:
                after_commit()
        return len(pending)

    def _batch(self, queue: list[tuple[Row[Any], Parsed]], most: int) -> list[tuple[Row[Any], Parsed]]:
        """Decide the first waiting event of up to `most` contacts, then take and write them, in one
        transaction; returns the events left. An urgent answer ends the batch (the 119 reply is
        written and sent before anyone else's answer is decided), and so does BATCH_SECONDS of
        deciding, so that webhooks coming in meanwhile are acknowledged soon.

        Deciding only reads: on SQLite a transaction holds the one writer lock from its first write
        on, and webhooks storing events should not wait for the core.
        """
        chosen: list[tuple[Row[Any], Parsed]] = []
        keys = set()
        for row, parsed in queue:
            if len(chosen) < most and _order_key(row, parsed) not in keys:
                chosen.append((row, parsed))
            keys.add(_order_key(row, parsed))
        started = time.monotonic()
        with self.db.session() as session:
            known = self._known(session, [(row.channel, parsed) for row, parsed in chosen if isinstance(parsed, Envelope)])
            decided: list[tuple[Row[Any], Parsed, Decision | None]] = []
            for row, parsed in chosen:
                if isinstance(parsed, Exception):
                    raise parsed
                decision = self.decide(session, row.channel, parsed, known) if isinstance(parsed, Envelope) else None
                decided.append((row, parsed, decision))
                if ((decision is not None and any(reply.urgent for reply in decision.outcome.replies))
                        or time.monotonic() - started > BATCH_SECONDS):
                    break
            taken = set(session.scalars(_TAKE, {"ids": [row.id for row, _, _ in decided], "now": utcnow(),
                                                "worker": self.worker}))  # not those another process took
            for row, parsed, _ in decided:
                if row.id in taken and isinstance(parsed, StaffMessage | StaffAct) and self.staff is not None:
                    self.staff.handle(session, parsed)
            written = [(decision, row.received_at) for row, _, decision in decided
                       if decision is not None and row.id in taken]
            self.write(session, written)
        _count(written)  # committed: counted once, even when a failed batch is done again
        done = {row.id for row, _, _ in decided}
        return [(row, parsed) for row, parsed in queue if row.id not in done]

    def _refresh(self) -> None:
        """Answer from the knowledge as it is now in the database; if rebuilding fails, go on with the
        knowledge this process has (a bad edit must not hold up residents' messages)."""
        if self.refresh is None:
            return
        try:
            self.refresh()
        except Exception:
            log.exception("rebuilding the knowledge failed; answering from the previous build")

    def _parse(self, row: Row[Any]) -> Parsed:
        """The channel's reading of a stored event (the exception, if it cannot read it)."""
        channel = self.channels.get(row.channel)
        try:
            return channel.parse(row.raw) if channel is not None else None
        except Exception as exc:  # recorded with the event when its turn comes
            return exc

    def _record_failure(self, event_id: int, exc: BaseException | None) -> None:
        """One bad event must not stop the desk: it is retried a few times, then kept with its error."""
        log.error("processing inbound event %s failed", event_id, exc_info=exc)
        with self.db.session() as session:
            event = session.get(InboundEvent, event_id)
            if event is not None and event.processed_at is None:
                event.attempts += 1
                event.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                if event.attempts >= MAX_EVENT_ATTEMPTS:
                    event.processed_at = utcnow()  # given up; kept with its error for staff

    # -- one inbound, through the core -----------------------------------------------------------
    def handle(self, session: Session, channel_name: str, envelope: Envelope,
               received_at: datetime | None = None) -> Handled:
        return self.write(session, [(self.decide(session, channel_name, envelope), received_at)])[0]

    def decide(self, session: Session, channel_name: str, envelope: Envelope, known: Known | None = None) -> Decision:
        """What the core answers, from the contact's current state; reads only.

        `known`: the contacts of a batch, read at once (see _known); otherwise this one is read.
        """
        if known is None:
            known = self._known(session, [(channel_name, envelope)])
        contact, conversation = known.get((channel_name, envelope.contact_id), (None, None))
        if contact is not None:
            conversation = self._answered_survey(session, contact, envelope.inbound) or conversation
        view = ConversationView(conversation.status if conversation else "bot",
                                contact is not None and contact.consent_notice_sent_at is not None)
        return Decision(channel_name, envelope, contact, conversation, self.desk.respond(envelope.inbound, view))

    def write(self, session: Session, decided: Sequence[tuple[Decision, datetime | None]]) -> list[Handled]:
        """Record decisions (one per contact): contacts, conversations, messages, replies in the outbox.

        The rows of all the decisions go in one statement per table.
        """
        now = utcnow()
        new_contacts = self._new_contacts(session, [decision for decision, _ in decided if decision.contact is None], now)
        with session.no_autoflush:  # the new conversations go in one INSERT, below
            conversations = [self._conversation(session, decision, new_contacts, now) for decision, _ in decided]
        if any(conversation.id is None for conversation in conversations):
            session.flush()  # their ids, for the rows below
        messages: list[dict[str, Any]] = []
        outgoing: list[Outgoing | None] = []
        for (decision, received_at), conversation in zip(decided, conversations, strict=True):
            inbound, outcome = decision.envelope.inbound, decision.outcome
            text = inbound.text or outcome.said  # None for a sticker or an image: the console shows its kind
            said = text or ""
            if inbound.kind not in ("follow", "unfollow", "join", "leave"):
                messages.append({"conversation_id": conversation.id, "direction": "in", "sender_kind": "contact",
                                 "text": text, "kind": inbound.kind, "payload": _payload_of(inbound),
                                 "route": outcome.route, "faq_id": outcome.faq_id, "created_at": now})
                said = said or f"（{inbound.kind}）"
            messages.extend({"conversation_id": conversation.id, "direction": "out", "sender_kind": "bot",
                             "text": reply.text, "kind": "text", "payload": replies.display(reply), "route": outcome.route,
                             "faq_id": outcome.faq_id, "created_at": now} for reply in outcome.replies)
            if outcome.unanswered:
                self._record_unanswered(session, conversation, inbound, outcome)
            announced = any(applied.announced for applied in self._apply(session, decision, conversation, said, now))
            if outcome.relay_to_staff and not announced:
                staff_relay.relay(session, self.channels, conversation, said[:1000])
            outgoing.append(self._replies(decision, conversation, received_at or now))
        if messages:
            session.execute(_INSERT_MESSAGES, messages)
        rows = iter(enqueue(session, self.channels, [item for item in outgoing if item is not None]))
        return [Handled(conversation.id, decision.outcome, next(rows) if item is not None else [])
                for (decision, _), conversation, item in zip(decided, conversations, outgoing, strict=True)]

    def _conversation(self, session: Session, decision: Decision, new_contacts: dict[tuple[str, str], int],
                      now: datetime) -> Conversation:
        """The conversation as the decision leaves it (a new one is added to the session)."""
        envelope, conversation, outcome = decision.envelope, decision.conversation, decision.outcome
        if decision.contact is not None:
            for name, value in _contact_news(decision, now).items():
                setattr(decision.contact, name, value)
        if conversation is None:
            contact_id = (decision.contact.id if decision.contact is not None
                          else new_contacts[(decision.channel, envelope.contact_id)])
            conversation = Conversation(contact_id=contact_id, channel=decision.channel, status="bot")
            session.add(conversation)
        conversation.reply_target = envelope.reply_target
        if outcome.faq_id and not conversation.topic:
            conversation.topic = outcome.faq_id
        if outcome.urgency == "emergency":
            conversation.urgency = "emergency"
            conversation.needed_role = "nurse"
        elif outcome.role and conversation.needed_role in (None, "any"):
            conversation.needed_role = outcome.role
        conversation.last_message_at = now
        return conversation

    def _known(self, session: Session, events: Sequence[tuple[str, Envelope]]) -> Known:
        """The contacts these events come from, each with its open conversation (None when there is
        none): one query per channel. A contact not found is a first contact."""
        known: Known = {}
        by_channel: dict[str, set[str]] = {}
        for channel, envelope in events:
            by_channel.setdefault(channel, set()).add(envelope.contact_id)
        for channel, external_ids in by_channel.items():
            for contact, conversation in session.execute(
                    _KNOWN, {"channel": channel, "external_ids": sorted(external_ids)}):
                open_ = conversation if conversation is not None and conversation.status != "resolved" else None
                known[(channel, contact.external_id)] = (contact, open_)
        return known

    def _new_contacts(self, session: Session, decisions: list[Decision], now: datetime) -> dict[tuple[str, str], int]:
        """Insert the first contacts with what the decisions say; a contact another process created a
        moment ago is updated instead. Returns their ids by (channel, external id)."""
        if not decisions:
            return {}
        rows = [{"channel": d.channel, "external_id": d.envelope.contact_id, "display_name": d.envelope.display_name,
                 "following": True, "consent_notice_sent_at": None, **_contact_news(d, now)} for d in decisions]
        statement = _insert_new(self.db.engine.dialect.name, Contact.__table__, "channel", "external_id")
        ids = {(channel, external_id): id_ for id_, channel, external_id in session.execute(statement, rows)}
        for decision in decisions:
            key = (decision.channel, decision.envelope.contact_id)
            if key not in ids:
                contact = session.scalars(select(Contact).where(Contact.channel == key[0],
                                                                Contact.external_id == key[1])).one()
                for name, value in _contact_news(decision, now).items():
                    setattr(contact, name, value)
                ids[key] = contact.id
        return ids

    def _apply(self, session: Session, decision: Decision, conversation: Conversation, said: str,
               now: datetime) -> list[Applied]:
        """The conversation events of this message: a contact writing brings a 保留 conversation back;
        the core's hand-off or emergency moves it on."""
        inbound, event = decision.envelope.inbound, decision.outcome.event
        applied = []
        if conversation.status == "snoozed" and inbound.kind not in ("follow", "unfollow", "join", "leave") \
                and event != "emergency":
            applied.append(apply(session, conversation, "contact_message", BOT, self.channels, text=said, now=now))
        if event:
            applied.append(apply(session, conversation, event, BOT, self.channels, text=said, now=now))
        return applied

    def _replies(self, decision: Decision, conversation: Conversation, received_at: datetime) -> Outgoing | None:
        """The replies, as one message for the outbox; its first row carries the reply token."""
        envelope, outcome = decision.envelope, decision.outcome
        if not outcome.replies:
            return None
        issued = envelope.occurred_at or received_at
        return Outgoing(decision.channel, envelope.reply_target, conversation.id, "bot", replies=outcome.replies,
                        urgent=any(r.urgent for r in outcome.replies), reply_token=envelope.reply_token,
                        reply_token_expires_at=(min(issued, received_at) + self.reply_token_ttl
                                                if envelope.reply_token else None))

    def _record_unanswered(self, session: Session, conversation: Conversation, inbound: Any, outcome: Outcome) -> None:
        text = inbound.text if inbound.kind == "text" else session.scalars(
            select(Message.text).where(Message.conversation_id == conversation.id, Message.kind == "text",
                                       Message.sender_kind == "contact").order_by(Message.id.desc()).limit(1)).first()
        if not text:
            return
        # A button press carries no scores: the question it answered is matched again, so staff see how
        # sure the bot was of the entry it answered with and of each alternative.
        scores = dict(outcome.candidates) if inbound.kind == "text" else {
            m.faq_id: m.score for m in self.desk.router.matcher.search(text)}
        session.add(UnansweredQuestion(
            conversation_id=conversation.id, text=text, reason="no_match" if inbound.kind == "text" else "unhelpful",
            candidates=[{"faq_id": faq_id, "score": None if scores.get(faq_id) is None else round(scores[faq_id], 3)}
                        for faq_id, _ in outcome.candidates]))

    def _answered_survey(self, session: Session, contact: Contact, inbound: Any) -> Conversation | None:
        """The satisfaction answer belongs to the resolved consultation it is about, not a new one."""
        fields = postback_fields(inbound.postback) if inbound.kind == "postback" else {}
        if fields.get("action") != "satisfaction":
            return None
        number = fields.get("conversation", "")
        conversation = session.get(Conversation, int(number)) if number.isdigit() else None
        return conversation if conversation is not None and conversation.contact_id == contact.id else None


def _count(written: Sequence[tuple[Decision, datetime | None]]) -> None:
    now = utcnow()
    for decision, received_at in written:
        metrics.ROUTED.labels(decision.channel, decision.outcome.route or "none").inc()
        if received_at is not None:
            metrics.INBOUND_WAIT.observe(metrics.seconds_since(received_at, now))


def _payload_of(inbound: Any) -> dict[str, Any] | None:
    if inbound.kind == "location":
        return {"latitude": inbound.latitude, "longitude": inbound.longitude}
    if inbound.kind == "postback":
        return {"data": inbound.postback}
    return None



def _order_key(row: Row[Any], parsed: Parsed) -> tuple[str, str]:
    """Events with the same key are handled in arrival order: a contact's; staff messages all in one."""
    if isinstance(parsed, Envelope):
        return row.channel, parsed.contact_id
    if isinstance(parsed, StaffMessage | StaffAct):
        return row.channel, "staff"
    return row.channel, f"event:{row.id}"  # nothing to keep in order with


def _contact_news(decision: Decision, now: datetime) -> dict[str, Any]:
    """What a decision changes on its contact."""
    news: dict[str, Any] = {}
    if decision.envelope.inbound.kind in ("follow", "unfollow"):
        news["following"] = decision.envelope.inbound.kind == "follow"
    if decision.outcome.consent_notice:
        news["consent_notice_sent_at"] = now
    return news
