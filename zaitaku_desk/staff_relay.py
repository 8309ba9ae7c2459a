"""The hand-off mirrored to staff: what residents say reaches the staff thread, and back.

Staff threads are internal by default: a thread reply reaches the resident only when its author is
the conversation's owner (taken with 「対応する」) and it does not start with 「メモ:」 / `note:`.
Everything else is kept as an internal note, and the thread shows which happened.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.base import Channel, StaffMessage
from bot.conversation import Effect
from bot.messages import Outcome
from db.models import Conversation, Message, OutboxMessage
from zaitaku_desk import handoff

STAFF_CHANNEL = "slack"
SENT_REACTION = "outbox_tray"
NOTE_REACTION = "memo"


class StaffRelay:
    def __init__(self, channels: dict[str, Channel], hub_name: str) -> None:
        self.channels = channels
        self.hub_name = hub_name

    @property
    def enabled(self) -> bool:
        return STAFF_CHANNEL in self.channels

    def notify(self, session: Session, conversation: Conversation, effects: tuple[Effect, ...], outcome: Outcome,
               incoming: Message | None) -> None:
        """The pipeline's hook: announce hand-offs and emergencies, relay what the resident says."""
        if not self.enabled:
            return
        if Effect.ALERT_ON_CALL in effects:
            event = "emergency"
        elif Effect.NOTIFY_STAFF in effects:
            event = "handoff"
        elif outcome.relay_to_staff and conversation.status in ("waiting", "human"):
            event = "relay"
        else:
            return
        text = (incoming.text if incoming is not None and incoming.text else f"（{incoming.kind}）" if incoming else "")
        self._post(session, conversation.id, {"kind": "staff", "event": event, "text": text[:1000]},
                   urgent=event == "emergency")

    def remind_unclaimed(self, session: Session, now: datetime, handoff_after: timedelta,
                         emergency_after: timedelta) -> int:
        """Announce again what nobody has taken: a hand-off after a while, an emergency until taken."""
        if not self.enabled:
            return 0
        waiting = session.scalars(select(Conversation).where(
            Conversation.status == "waiting", Conversation.handed_off_at.is_not(None))).all()
        count = 0
        for conversation in waiting:
            every = emergency_after if conversation.urgency == "emergency" else handoff_after
            last = conversation.reminded_at or conversation.handed_off_at
            if last is not None and now - last >= every:
                minutes = int((now - (conversation.handed_off_at or now)).total_seconds() // 60)
                self._post(session, conversation.id, {"kind": "staff", "event": "reminder", "text": f"{minutes}分"},
                           urgent=conversation.urgency == "emergency")
                conversation.reminded_at = now
                count += 1
        return count

    def on_staff_message(self, session: Session, message: StaffMessage) -> None:
        conversation = handoff.by_thread(session, message.thread_channel, message.thread_ts)
        if conversation is None:
            return  # a thread the desk did not start
        staff = handoff.staff_by_slack(session, message.staff_external_id)
        where = f"{message.thread_channel}|{message.thread_ts}"
        if staff is None:
            self._post_to(session, where, conversation.id,
                          f"<@{message.staff_external_id}> さんはスタッフとして登録されていないため、この相談には対応できません。"
                          "管理者に `zaitaku-desk staff create --slack-user` での登録を依頼してください。")
            return
        owner = conversation.status == "human" and conversation.assignee_id == staff.id
        if owner and not handoff.is_note(message.text):
            handoff.staff_reply(session, conversation.id, staff, message.text, self.channels, self.hub_name)
            self._react(session, message, conversation.id, SENT_REACTION)
            return
        handoff.note(session, conversation.id, staff, message.text)
        self._react(session, message, conversation.id, NOTE_REACTION)
        if not owner:
            self._post_to(session, where, conversation.id,
                          "内部メモとして記録しました（相談者には届いていません）。相談者に返信するには、"
                          "先に「対応する」を押して担当になってください。")

    def _post(self, session: Session, conversation_id: int, payload: dict[str, Any], urgent: bool = False) -> None:
        session.add(OutboxMessage(channel=STAFF_CHANNEL, target=f"staff:{conversation_id}",
                                  conversation_id=conversation_id, sender_kind="system", urgent=urgent,
                                  payload=payload, retry_key=str(uuid.uuid4())))

    def _post_to(self, session: Session, target: str, conversation_id: int, text: str) -> None:
        session.add(OutboxMessage(channel=STAFF_CHANNEL, target=target, conversation_id=conversation_id,
                                  sender_kind="system", payload={"kind": "post", "text": text},
                                  retry_key=str(uuid.uuid4())))

    def _react(self, session: Session, message: StaffMessage, conversation_id: int, name: str) -> None:
        session.add(OutboxMessage(channel=STAFF_CHANNEL, target=f"{message.thread_channel}|{message.thread_ts}",
                                  conversation_id=conversation_id, sender_kind="system",
                                  payload={"kind": "reaction", "channel": message.thread_channel,
                                           "timestamp": message.message_ts, "name": name},
                                  retry_key=str(uuid.uuid4())))
