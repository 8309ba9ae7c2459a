"""Keeping what people wrote no longer than the hub's rules allow (RETENTION_DAYS).

After the period, the words go and the counts stay: raw webhook bodies, message texts and payloads,
sent replies' payloads and unanswered questions are removed; conversations, their routes, times
and statuses remain for the annual report. A conversation still open keeps its transcript.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, select, update
from sqlalchemy.orm import Session

from db.models import Conversation, InboundEvent, Message, UnansweredQuestion
from knowledge.store import audit
from zaitaku_desk import outbox

EXPIRED = {"expired": True}
EXPIRED_TEXT = json.dumps(EXPIRED)  # as both backends keep it (json has no = in PostgreSQL)


def sweep(session: Session, now: datetime, days: float) -> dict[str, int]:
    """Remove what is older than `days`; returns how many rows of each kind were emptied."""
    cutoff = now - timedelta(days=days)
    closed = select(Conversation.id).where(Conversation.status.in_(("bot", "resolved")))
    counts = {
        "events": session.execute(update(InboundEvent).where(InboundEvent.processed_at.is_not(None),
                                                              InboundEvent.received_at < cutoff,
                                                              cast(InboundEvent.raw, String) != EXPIRED_TEXT)
                                  .values(raw=EXPIRED).execution_options(synchronize_session=False)).rowcount,
        "messages": session.execute(update(Message).where(Message.created_at < cutoff,
                                                          Message.conversation_id.in_(closed),
                                                          Message.text.is_not(None))
                                    .values(text=None, payload=None)
                                    .execution_options(synchronize_session=False)).rowcount,
        "replies": outbox.expire(session, cutoff),
        "questions": session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.created_at < cutoff)
                                     .execution_options(synchronize_session=False)).rowcount,
    }
    if any(counts.values()):
        audit(session, "system", "retention.sweep", "knowledge", "retention", {"days": days, **counts})
    return counts
