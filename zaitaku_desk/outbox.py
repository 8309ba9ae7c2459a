"""The durable outbox: every reply is a row until the channel has it.

`enqueue` is the one way in: it renders replies for their channel, gives each row its retry key,
and refuses a staff member's words to a conversation they do not own (lesson: no slips). Nothing
else inserts outbox rows (a test holds the code to that).

Rows for one target go out in order. A bot row is checked against the conversation's owner
at the moment it is sent, so a staff member who took over a second ago is never talked over;
only the urgent 119 instruction passes. Transient failures (429, 5xx, timeouts) come back with
backoff under the same retry key; a permanent failure stays visible as status `failed`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from adapters.base import Channel, SendResult
from bot.conversation import bot_may_speak
from bot.messages import Reply
from db.models import Conversation, OutboxMessage, UTCDateTime, utcnow
from db.session import Database
from zaitaku_desk import metrics

log = logging.getLogger(__name__)



TOKEN_MARGIN = timedelta(seconds=3)  # a retry meant to use the reply token goes this long before it expires


class NotOwner(PermissionError):
    """A staff member's words to a conversation someone else owns, or nobody does (Japanese message)."""


class ChannelUnavailable(LookupError):
    """The conversation's channel is not configured in this desk (Japanese message)."""


@dataclass(frozen=True)
class Outgoing:
    """One message on its way: the replies to render (or a channel payload as it is) for one target."""

    channel: str
    target: str
    conversation_id: int | None
    sender: str  # bot | staff | system
    replies: Sequence[Reply] = ()
    payload: dict[str, Any] | None = None
    urgent: bool = False
    reply_token: str | None = None  # carried by the first row only
    reply_token_expires_at: datetime | None = None
    staff_id: int | None = None  # sender "staff": who writes; they must own the conversation


def enqueue(session: Session, channels: Mapping[str, Channel],
            items: Iterable[Outgoing]) -> list[list[dict[str, Any]]]:
    """Write the rows for these messages (one per channel call), in one statement; returns each
    message's rows."""
    grouped: list[list[dict[str, Any]]] = []
    now = utcnow()
    for item in items:
        if item.sender == "staff":
            _check_owner(session, item)
        if item.payload is not None:
            payloads = [item.payload]
        else:
            channel = channels.get(item.channel)
            if channel is None:
                raise ChannelUnavailable(f"この相談のチャネル（{item.channel}）には今は送れません。")
            payloads = channel.render(list(item.replies))
        grouped.append([{"channel": item.channel, "target": item.target, "conversation_id": item.conversation_id,
                     "sender_kind": item.sender, "urgent": item.urgent, "payload": payload,
                     "reply_token": item.reply_token if index == 0 else None,
                     "reply_token_expires_at": item.reply_token_expires_at if index == 0 else None,
                     "retry_key": str(uuid.uuid4()), "status": "pending", "attempts": 0, "outcome_unknown": False,
                     "next_attempt_at": now, "created_at": now}
                        for index, payload in enumerate(payloads)])
    rows = [row for group in grouped for row in group]
    if rows:
        session.execute(_INSERT, rows)
    return grouped


def _count(results: list[tuple[Row[Any], SendResult]], changes: list[dict[str, Any]], now: datetime) -> None:
    for (row, result), change in zip(results, changes, strict=True):
        if change["status"] == "sent":
            metrics.SENT.labels(row.channel, result.via or "").inc()
            metrics.OUTBOX_WAIT.labels(row.channel).observe(metrics.seconds_since(row.created_at, now))
        elif change["status"] == "failed":
            metrics.FAILED.labels(row.channel).inc()


def erase(session: Session, conversation_ids: Sequence[int]) -> None:
    """A contact's erasure: what has not gone out never will, and no row keeps their words or address."""
    session.execute(update(OutboxMessage).where(OutboxMessage.conversation_id.in_(conversation_ids),
                                                OutboxMessage.status == "pending")
                    .values(status="suppressed").execution_options(synchronize_session=False))
    session.execute(update(OutboxMessage).where(OutboxMessage.conversation_id.in_(conversation_ids))
                    .values(payload={"erased": True}, target="erased", reply_token=None)
                    .execution_options(synchronize_session=False))


def expire(session: Session, before: datetime) -> int:
    """Retention: replies that went out (or never will) before `before` keep no words or address."""
    return session.execute(update(OutboxMessage).where(OutboxMessage.created_at < before,
                                                       OutboxMessage.status != "pending",
                                                       OutboxMessage.target != "expired")
                           .values(payload={"expired": True}, target="expired", reply_token=None)
                           .execution_options(synchronize_session=False)).rowcount


def _check_owner(session: Session, item: Outgoing) -> None:
    """The writer owns the conversation now, and keeps it until this transaction ends: the check is an
    UPDATE, so it holds the row, and a reassignment or a close racing it waits for this reply."""
    owned = item.staff_id is not None and item.conversation_id is not None and session.execute(
        update(Conversation).where(Conversation.id == item.conversation_id, Conversation.status == "human",
                                   Conversation.assignee_id == item.staff_id)
        .values(last_message_at=utcnow()).execution_options(synchronize_session=False)).rowcount == 1
    if not owned:
        raise NotOwner("返信するには、先に「対応する」を押して担当になってください。")


# Built once: building these statements costs more CPU than running them.
_OUTBOX = OutboxMessage.__table__
_INSERT = insert(_OUTBOX)
_NOW = bindparam("now", type_=UTCDateTime())


def _due(rows: Any) -> tuple[ColumnElement[bool], ...]:
    return (rows.c.status == "pending", rows.c.next_attempt_at <= _NOW,
            or_(rows.c.claimed_at.is_(None), rows.c.claimed_at < bindparam("stale", type_=UTCDateTime())))


_CANDIDATE, _EARLIER = _OUTBOX.alias("candidate"), _OUTBOX.alias("earlier")
# Claim the due rows (one per target: the next in line; the 119 instruction never queues behind a
# stuck row) and read each one's conversation status, in one statement. Urgent rows first: with a
# backlog of thousands, the 119 instruction goes out in the next pass, not after the backlog.
_CLAIM = (update(_OUTBOX).where(_OUTBOX.c.id.in_(
    select(_CANDIDATE.c.id).where(*_due(_CANDIDATE), or_(
        _CANDIDATE.c.urgent,
        ~exists().where(_EARLIER.c.target == _CANDIDATE.c.target, _EARLIER.c.channel == _CANDIDATE.c.channel,
                        _EARLIER.c.status == "pending", _EARLIER.c.id < _CANDIDATE.c.id),
    )).order_by(_CANDIDATE.c.urgent.desc(), _CANDIDATE.c.id).limit(bindparam("limit"))), *_due(_OUTBOX))
    .values(claimed_at=_NOW, claimed_by=bindparam("worker"),
            # Claimed before and never recorded: that worker died mid-send, maybe after a reply got through.
            outcome_unknown=or_(_OUTBOX.c.outcome_unknown,
                                and_(_OUTBOX.c.claimed_at.is_not(None), _OUTBOX.c.reply_token.is_not(None))))
    .returning(*_OUTBOX.c, select(Conversation.status).where(Conversation.id == _OUTBOX.c.conversation_id)
               .scalar_subquery().label("conversation_status")))
_SUPPRESS = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
             .values(status="suppressed", claimed_at=None, last_error="a staff member owns the conversation"))
# SET: the keys given, one row each; only while this worker's claim stands (after the lease another
# worker may have taken the row, and its outcome is the one that counts; an erasure may have suppressed it).
_RECORD = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.claimed_by == bindparam("worker"),
                                _OUTBOX.c.status == "pending")
_NEXT_DUE = (select(_OUTBOX.c.next_attempt_at).where(_OUTBOX.c.status == "pending")
             .order_by(_OUTBOX.c.next_attempt_at).limit(1))


class Outbox:
    def __init__(self, db: Database, channels: dict[str, Channel], worker: str, max_attempts: int,
                 backoff_base: float, backoff_max: float, lease: float = 30.0) -> None:
        self.db = db
        self.channels = channels
        self.worker = worker
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # A claim older than this belongs to a worker that died mid-send: another takes the row. Longer
        # than any one pass (every call has its timeout), shorter than a reply token's life, so a
        # reply that got through before the crash is found "used" and not pushed again.
        self.lease = timedelta(seconds=lease)

    async def deliver_due(self, limit: int = 50) -> float | None:
        """Send everything due now, one row per target at a time, targets in parallel.

        Each pass is one transaction: it records what the last pass sent and claims what is due
        next. Returns the seconds until the next row falls due (None when nothing waits).
        """
        results: list[tuple[Row[Any], SendResult]] = []
        while True:
            rows, due_in = await asyncio.to_thread(self._record_and_claim, results, limit)
            if not rows:
                return due_in
            results = list(zip(rows, await asyncio.gather(*(self._send(row) for row in rows)), strict=True))

    def _record_and_claim(self, results: list[tuple[Row[Any], SendResult]],
                          limit: int) -> tuple[list[Row[Any]], float | None]:
        now = utcnow()
        changes = [self._outcome(row, result, now) for row, result in results]
        with self.db.session() as session:
            if changes:
                session.execute(_RECORD, [{**change, "worker": self.worker} for change in changes])
            rows = self._claim(session, now, limit)
            earliest = None if rows else session.scalar(_NEXT_DUE)
        _count(results, changes, now)  # committed: what went out is counted once
        if rows:
            return rows, None
        return [], None if earliest is None else max(0.0, (earliest - now).total_seconds())

    def _claim(self, session: Session, now: datetime, limit: int) -> list[Row[Any]]:
        """Due rows, claimed for this worker; a bot row whose conversation a person owns is suppressed."""
        claimed = sorted(session.execute(_CLAIM, {"now": now, "stale": now - self.lease, "limit": limit,
                                                  "worker": self.worker}).all(), key=lambda row: row.id)
        silenced = [row.id for row in claimed if row.sender_kind == "bot" and not row.urgent
                    and row.conversation_status is not None and not bot_may_speak(row.conversation_status)]
        if silenced:
            session.execute(_SUPPRESS, {"ids": silenced})
        return [row for row in claimed if row.id not in silenced]

    async def _send(self, row: Row[Any]) -> SendResult:
        channel = self.channels.get(row.channel)
        if channel is None:
            return SendResult("retry", error=f"channel {row.channel} is not configured")
        try:
            return await channel.send(row)
        except Exception as exc:  # a bug in one send must not lose the row
            log.exception("outbox row %s: send raised", row.id)
            return SendResult("retry", error=f"{type(exc).__name__}: {exc}"[:500])

    def _outcome(self, row: Row[Any], result: SendResult, now: datetime) -> dict[str, Any]:
        """The row's new state after one attempt."""
        change = {"row_id": row.id, "attempts": row.attempts + 1, "claimed_at": None, "last_error": result.error,
                  "status": "pending", "sent_at": None, "sent_via": None, "next_attempt_at": row.next_attempt_at,
                  "outcome_unknown": row.outcome_unknown or result.uncertain}
        if result.outcome == "sent":
            change.update(status="sent", sent_at=now, sent_via=result.via)
        elif result.outcome == "failed" or change["attempts"] >= self.max_attempts:
            change["status"] = "failed"
            log.warning("outbox row %s failed for good after %s attempts: %s", row.id, change["attempts"], result.error)
        else:
            delay = result.retry_after or min(self.backoff_max, self.backoff_base * 2 ** row.attempts)
            change["next_attempt_at"] = now + timedelta(seconds=delay)
            expires = row.reply_token_expires_at
            if change["outcome_unknown"] and expires is not None and now < expires:
                # One more reply while the token lives tells whether the last one got through
                # ("token used"); after it, only a push is left, which might say it twice.
                change["next_attempt_at"] = max(now, min(change["next_attempt_at"], expires - TOKEN_MARGIN))
        return change
