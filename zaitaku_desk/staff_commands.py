"""Staff acts that arrive from a chat tool (Slack), worked after they were stored like any event.

A button press and a thread reply are inbound events of the staff channel: stored before the
acknowledgement, taken once by the pipeline, and done here in the pipeline's transaction, so a
crash after the 200 loses nothing. What the staff member is told goes through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from adapters.base import Channel, StaffAct, StaffInput, StaffMessage
from knowledge.store import update_resource_fact, update_vacancy
from zaitaku_desk import handoff
from zaitaku_desk.lifecycle import STAFF_CHANNEL, announce
from zaitaku_desk.outbox import Outgoing, enqueue

SENT_REACTION = "outbox_tray"
NOTE_REACTION = "memo"
UNREGISTERED = ("あなたのSlackアカウントはスタッフとして登録されていないため、この操作はできません。"
                "管理者に登録を依頼してください。")
ACTS = {"claim": handoff.claim, "resolve": handoff.resolve, "return_to_bot": handoff.return_to_bot}


class StaffCommands:
    def __init__(self, channels: Mapping[str, Channel], hub_name: str, command: str) -> None:
        self.channels = channels
        self.hub_name = hub_name
        self.command = command  # the slash command's name, for usage hints

    def handle(self, session: Session, item: StaffInput) -> None:
        if isinstance(item, StaffAct):
            self.act(session, item)
        else:
            self.thread_message(session, item)

    def act(self, session: Session, press: StaffAct) -> None:
        """A button: the act, then the thread's first message shows the new state; a refusal is shown
        to the one who pressed."""
        staff = handoff.staff_by_slack(session, press.staff_external_id)
        try:
            if staff is None:
                raise handoff.HandoffError(UNREGISTERED)
            result = ACTS[press.act](session, press.conversation_id, staff, self.channels)
        except handoff.HandoffError as exc:
            self._post(session, press.answer_to, None,
                       {"kind": "ephemeral", "user": press.staff_external_id, "text": str(exc)})
            return
        announce(session, self.channels, press.conversation_id, "refresh")
        if result.changed:
            announce(session, self.channels, press.conversation_id, "done", result.message)

    def thread_message(self, session: Session, message: StaffMessage) -> None:
        """The owner's reply reaches the resident; anything else is an internal note."""
        conversation = handoff.by_thread(session, message.thread_channel, message.thread_ts)
        if conversation is None:
            return  # a thread the desk did not start
        staff = handoff.staff_by_slack(session, message.staff_external_id)
        where = f"{message.thread_channel}|{message.thread_ts}"
        if staff is None:
            self._post(session, where, conversation.id, {"kind": "post", "text":
                       f"<@{message.staff_external_id}> さんはスタッフとして登録されていないため、この相談には対応できません。"
                       "管理者に `zaitaku-desk staff create --slack-user` での登録を依頼してください。"})
            return
        owner = handoff.owns(conversation, staff) and conversation.status == "human"
        reaction = {"kind": "reaction", "channel": message.thread_channel, "timestamp": message.message_ts}
        if owner and not handoff.is_note(message.text):
            try:
                handoff.staff_reply(session, conversation.id, staff, message.text, self.channels, self.hub_name)
            except handoff.HandoffError as exc:  # it changed hands meanwhile, or the channel is off
                self._post(session, where, conversation.id, {"kind": "post", "text": f"送れませんでした: {exc}"})
                return
            self._post(session, where, conversation.id, {**reaction, "name": SENT_REACTION})
            return
        handoff.note(session, conversation.id, staff, message.text)
        self._post(session, where, conversation.id, {**reaction, "name": NOTE_REACTION})
        if not owner:
            self._post(session, where, conversation.id, {"kind": "post", "text":
                       "内部メモとして記録しました（相談者には届いていません）。相談者に返信するには、"
                       "先に「対応する」を押して担当になってください。"})

    def update_resource(self, session: Session, slack_user: str, text: str) -> str:
        """`空き <id> <beds>` or `更新 <id> <電話|時間|備考|受入> <value>`, by registered staff only."""
        parts = text.replace("　", " ").split(maxsplit=3)
        staff = handoff.staff_by_slack(session, slack_user)
        if staff is None:
            return "事業所情報の更新は登録スタッフだけができます。管理者に登録を依頼してください。"
        actor = f"staff:{staff.id}"
        if parts[0] == "更新":
            if len(parts) != 4:
                return f"書き方: `{self.command} 更新 <事業所ID> <電話|時間|備考|受入> <値>`"
            return update_resource_fact(session, parts[1], parts[2], parts[3], staff.id, actor)
        if len(parts) != 3 or not parts[2].isdigit():
            return f"書き方: `{self.command} 空き <事業所ID> <空床数>`"
        return update_vacancy(session, parts[1], int(parts[2]), staff.id, actor)

    def _post(self, session: Session, target: str, conversation_id: int | None, payload: dict[str, object]) -> None:
        enqueue(session, self.channels, [Outgoing(STAFF_CHANNEL, target, conversation_id, "system", payload=payload)])
