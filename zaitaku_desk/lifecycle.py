"""The one place a conversation changes status: `apply` interprets the transition table of
bot.conversation, effect by effect, for whoever acts (the bot, a staff member, a timer).

The change is a conditional update on the status and owner it was decided from, so two acts
racing (two 「対応する」, a claim while the resident's hand-off is being written) end with one
winner; the loser gets `Conflict` and decides again from what is there now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from adapters.base import Channel
from bot import replies
from bot.conversation import Effect, transition
from db.models import Conversation, Message, Staff, utcnow
from knowledge.store import audit
from zaitaku_desk.outbox import Outgoing, enqueue

# The duty rota's calling for a conversation, not (or no longer) under way (zaitaku_desk.duty).
NOT_CALLED: dict[str, object] = {"paged_at": None, "paged_staff_id": None}
STAFF_CHANNEL = "slack"  # where staff are told of hand-offs and emergencies, when it is configured
# What the conversation's log says when a person or a timer moves it.
EVENT_NOTES = {
    "claim": "{who}さんが対応を始めました。",
    "reassign": "{who}さんが担当を{to}さんに変更しました。",
    "resolve": "{who}さん: 解決済みにしました。",
    "return_to_bot": "{who}さん: ボット対応に戻しました。",
    "snooze": "{who}さん: 保留にしました。",
    "wake": "保留の期限になりました。",
}


class Conflict(Exception):
    """The conversation changed after it was read; decide again from its current state."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the bot (for the contact), a staff member, or a timer."""

    kind: str  # bot | staff | timer
    staff: Staff | None = None

    @property
    def name(self) -> str:
        return f"staff:{self.staff.id}" if self.staff is not None else self.kind


BOT = Actor("bot")
TIMER = Actor("timer")


@dataclass(frozen=True)
class Applied:
    status: str
    effects: tuple[Effect, ...]

    @property
    def announced(self) -> bool:
        return Effect.NOTIFY_STAFF in self.effects or Effect.ALERT_ON_CALL in self.effects


def apply(session: Session, conversation: Conversation, event: str, actor: Actor, channels: Mapping[str, Channel],
          *, to: Staff | None = None, until: datetime | None = None, text: str = "", reason: str = "",
          now: datetime | None = None) -> Applied:
    """Move the conversation by `event` and carry out every effect the table names.

    `to`: the new owner (claim: the actor themself); `until`: the end of a snooze; `text`: what the
    contact said, for the staff announcement; `reason`: why a snooze, said again when it wakes. Raises InvalidTransition when the event is not
    allowed in the current status, Conflict when someone else changed the conversation meanwhile.
    """
    now = now or utcnow()
    status, effects = transition(conversation.status, event)
    changes: dict[str, object] = {"status": status, "snoozed_until": until if status == "snoozed" else None,
                                  "snooze_reason": (reason or None) if status == "snoozed" else None}
    # A snooze's reason, kept while it lasts and said again on the way out, whichever way that is.
    why = reason if event == "snooze" else conversation.snooze_reason if conversation.status == "snoozed" else None
    for effect in effects:
        if effect is Effect.RECORD_HANDOFF:
            changes["handed_off_at"] = conversation.handed_off_at or now
        elif effect is Effect.SET_ASSIGNEE:
            owner = to or actor.staff
            if owner is None:
                raise ValueError(f"{event}: nobody to assign")
            changes["assignee_id"] = owner.id
        elif effect is Effect.CLEAR_ASSIGNEE:
            changes["assignee_id"] = None
        elif effect is Effect.RECORD_RESOLVED:
            changes["resolved_at"] = now
        elif effect is Effect.RESUME and conversation.assignee_id is not None:
            changes["status"] = "human"
    changes.update(_paging(conversation, str(changes["status"]), effects, now))
    _write(session, conversation, changes)
    if Effect.ALERT_ON_CALL in effects or Effect.NOTIFY_STAFF in effects:
        announce(session, channels, conversation.id, "emergency" if Effect.ALERT_ON_CALL in effects
                 else "wake" if event == "wake" else "handoff",
                 (why or "") if event == "wake" else f"{text}（保留の理由: {why}）" if why else text)
    if Effect.ASK_SATISFACTION in effects:
        _ask_satisfaction(session, conversation, channels)
    if actor.kind != "bot":
        _log(session, conversation, event, actor, to, why)
    return Applied(str(changes["status"]), effects)


def _paging(conversation: Conversation, after: str, effects: tuple[Effect, ...], now: datetime) -> dict[str, object]:
    """When the duty rota's calling (zaitaku_desk.duty) starts afresh or stops: an emergency raised, or
    a conversation that comes to wait, needs someone from now (a calling under way goes on: another
    emergency message does not start it again from the first person); taken, set aside or closed, it
    does not."""
    before = conversation.status
    if Effect.ALERT_ON_CALL in effects and conversation.page_since is not None:
        return {}
    if Effect.ALERT_ON_CALL in effects or (after == "waiting" and before != "waiting"):
        return {"page_since": now, **NOT_CALLED}
    if (after != "waiting" and after != before) or Effect.SET_ASSIGNEE in effects:
        return {"page_since": None, **NOT_CALLED}
    return {}


def announce(session: Session, channels: Mapping[str, Channel], conversation_id: int, event: str,
             text: str = "", urgent: bool = False) -> None:
    """Tell staff about the conversation in its staff thread (nothing when no staff channel is set)."""
    if STAFF_CHANNEL in channels:
        enqueue(session, channels, [Outgoing(STAFF_CHANNEL, f"staff:{conversation_id}", conversation_id, "system",
                                             payload={"kind": "staff", "event": event, "text": text[:1000]},
                                             urgent=urgent or event == "emergency")])


def _log(session: Session, conversation: Conversation, event: str, actor: Actor, to: Staff | None,
         why: str | None = None) -> None:
    """What a person or a timer did, in the conversation's log and the audit log."""
    handed = to is not None and actor.staff is not None and to.id != actor.staff.id
    name = "reassign" if event == "claim" and handed else event
    note = EVENT_NOTES.get(name, "{who}さん: " + name).format(who=actor.staff.name if actor.staff else "",
                                                          to=to.name if to else "")
    if why:
        note += f" 理由: {why}" if event == "snooze" else f"（保留の理由: {why}）"
    record_event(session, conversation.id, note, actor.name, name, {"to_staff_id": to.id} if handed and to else None,
                 staff_id=actor.staff.id if actor.staff else None)


def record_event(session: Session, conversation_id: int, note: str, actor: str, action: str,
                 detail: dict[str, object] | None = None, staff_id: int | None = None) -> None:
    """Something done to a conversation: a line in its log (staff only) and in the audit log."""
    session.add(Message(conversation_id=conversation_id, direction="internal", sender_kind="system",
                        staff_id=staff_id, text=note, kind="event"))
    audit(session, actor, f"conversation.{action}", "conversation", str(conversation_id), detail)


def _write(session: Session, conversation: Conversation, changes: dict[str, object]) -> None:
    """Write the changes only if status and owner are still what they were read as."""
    if conversation.id is None:
        session.flush()  # a conversation this transaction creates: written first, then moved like any
    owner = Conversation.assignee_id
    won = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.status == conversation.status,
               owner.is_(None) if conversation.assignee_id is None else owner == conversation.assignee_id)
        .values(**changes).execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        session.refresh(conversation)
        raise Conflict(f"conversation {conversation.id} changed meanwhile (now {conversation.status})")
    for name, value in changes.items():
        set_committed_value(conversation, name, value)


def _ask_satisfaction(session: Session, conversation: Conversation, channels: Mapping[str, Channel]) -> None:
    """The one survey question, to a resident whose consultation staff closed. Never after an emergency:
    a family that just called 119 is not asked whether the desk was useful, but how they are, and that
    the desk is there."""
    if conversation.channel == STAFF_CHANNEL or conversation.channel not in channels or not conversation.reply_target:
        return
    closing = (replies.after_emergency() if conversation.urgency == "emergency"
               else replies.satisfaction_question(conversation.id))
    session.add(Message(conversation_id=conversation.id, direction="out", sender_kind="bot", text=closing.text))
    enqueue(session, channels, [Outgoing(conversation.channel, conversation.reply_target, conversation.id,
                                         "system", replies=[closing])])
