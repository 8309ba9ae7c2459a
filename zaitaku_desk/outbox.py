"""The durable outbox: every reply is a row until the channel has it.

Rows for one target go out in order. A bot row is checked against the conversation's owner
at the moment it is sent, so a staff member who took over a second ago is never talked over;
only the urgent 119 instruction passes. Transient failures (429, 5xx, timeouts) come back with
backoff under the same retry key; a permanent failure stays visible as status `failed`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from adapters.base import Channel, SendResult
from bot.conversation import bot_may_speak
from db.models import Conversation, OutboxMessage, utcnow
from db.session import Database

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=120)


class Outbox:
    def __init__(self, db: Database, channels: dict[str, Channel], worker: str, max_attempts: int,
                 backoff_base: float, backoff_max: float) -> None:
        self.db = db
        self.channels = channels
        self.worker = worker
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max

    async def deliver_due(self, limit: int = 50) -> int:
        """Send what is due now, one row per target at a time, targets in parallel."""
        rows = await asyncio.to_thread(self.claim_due, limit)
        if rows:
            results = await asyncio.gather(*(self._send(row) for row in rows))
            await asyncio.to_thread(self.record, list(zip(rows, results, strict=True)))
        return len(rows)

    def claim_due(self, limit: int) -> list[OutboxMessage]:
        now = utcnow()
        earlier = aliased(OutboxMessage)
        due = (
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - CLAIM_LEASE),
        )
        claimed: list[OutboxMessage] = []
        with self.db.session() as session:
            candidates = session.scalars(
                select(OutboxMessage).where(*due, or_(
                    OutboxMessage.urgent,  # the 119 instruction never queues behind a stuck row
                    ~exists().where(and_(
                        earlier.target == OutboxMessage.target, earlier.channel == OutboxMessage.channel,
                        earlier.status == "pending", earlier.id < OutboxMessage.id,
                    )),
                )).order_by(OutboxMessage.id).limit(limit)
            ).all()
            for row in candidates:
                won = session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == row.id, *due)
                    .values(claimed_at=now, claimed_by=self.worker)
                ).rowcount == 1
                if not won:
                    continue
                if row.sender_kind == "bot" and not row.urgent and row.conversation_id is not None:
                    status = session.scalar(select(Conversation.status).where(Conversation.id == row.conversation_id))
                    if status is not None and not bot_may_speak(status):
                        row.status, row.claimed_at = "suppressed", None
                        row.last_error = "a staff member owns the conversation"
                        continue
                claimed.append(row)
        return claimed

    async def _send(self, row: OutboxMessage) -> SendResult:
        channel = self.channels.get(row.channel)
        if channel is None:
            return SendResult("retry", error=f"channel {row.channel} is not configured")
        try:
            return await channel.send(row)
        except Exception as exc:  # a bug in one send must not lose the row
            log.exception("outbox row %s: send raised", row.id)
            return SendResult("retry", error=f"{type(exc).__name__}: {exc}"[:500])

    def record(self, results: list[tuple[OutboxMessage, SendResult]]) -> None:
        now = utcnow()
        with self.db.session() as session:
            for row, result in results:
                fresh = session.get(OutboxMessage, row.id)
                if fresh is None:
                    continue
                fresh.attempts += 1
                fresh.claimed_at = None
                fresh.last_error = result.error
                if result.outcome == "sent":
                    fresh.status, fresh.sent_at, fresh.sent_via = "sent", now, result.via
                elif result.outcome == "failed" or fresh.attempts >= self.max_attempts:
                    fresh.status = "failed"
                    log.warning("outbox row %s failed for good after %s attempts: %s",
                                fresh.id, fresh.attempts, result.error)
                else:
                    delay = result.retry_after or min(self.backoff_max, self.backoff_base * 2 ** (fresh.attempts - 1))
                    fresh.next_attempt_at = now + timedelta(seconds=delay)

    def next_due_in(self) -> float | None:
        """Seconds until the earliest pending row is due (None when nothing waits)."""
        with self.db.session() as session:
            earliest = session.scalar(
                select(OutboxMessage.next_attempt_at).where(OutboxMessage.status == "pending")
                .order_by(OutboxMessage.next_attempt_at).limit(1))
        if earliest is None:
            return None
        return max(0.0, (earliest - utcnow()).total_seconds())
