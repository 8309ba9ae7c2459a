"""What residents say, mirrored to the staff thread of their hand-off, and reminders of what waits.

Announcements of hand-offs and emergencies come from the state machine (lifecycle.apply); this
module relays the messages in between and announces again what nobody has taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.base import Channel
from db.models import Conversation
from zaitaku_desk.lifecycle import STAFF_CHANNEL, announce


def relay(session: Session, channels: Mapping[str, Channel], conversation: Conversation, text: str) -> None:
    """A resident's message in a conversation staff have in hand reaches its thread."""
    if conversation.status in ("waiting", "human"):
        announce(session, channels, conversation.id, "relay", text)


def remind_unclaimed(session: Session, channels: Mapping[str, Channel], now: datetime, handoff_after: timedelta,
                     emergency_after: timedelta) -> int:
    """Announce again what nobody has taken: a hand-off after a while, an emergency until taken."""
    if STAFF_CHANNEL not in channels:
        return 0
    waiting = session.scalars(select(Conversation).where(
        Conversation.status == "waiting", Conversation.handed_off_at.is_not(None))).all()
    count = 0
    for conversation in waiting:
        every = emergency_after if conversation.urgency == "emergency" else handoff_after
        last = conversation.reminded_at or conversation.handed_off_at
        if last is None or now - last < every:
            continue
        # Taken by one process only: several workers run these timers.
        seen = Conversation.reminded_at
        if session.execute(update(Conversation).where(
                Conversation.id == conversation.id,
                seen.is_(None) if conversation.reminded_at is None else seen == conversation.reminded_at)
                .values(reminded_at=now).execution_options(synchronize_session=False)).rowcount != 1:
            continue
        minutes = int((now - (conversation.handed_off_at or now)).total_seconds() // 60)
        announce(session, channels, conversation.id, "reminder", f"{minutes}分",
                 urgent=conversation.urgency == "emergency")
        count += 1
    return count
