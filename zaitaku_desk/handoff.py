"""What staff do to a conversation, whichever tool they use (Slack buttons and threads, the console).

Each act is one transaction: a conditional update settles races (two people pressing 「対応する」
at once end with one owner), the state machine says what is allowed, and the audit log records who
did what and when. Replies to the resident go through the outbox on the resident's own channel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.base import Channel
from bot import replies
from bot.conversation import HELPDESK_LABELS, InvalidTransition, transition
from bot.messages import Reply
from db.models import Contact, Conversation, Message, OutboxMessage, Staff, utcnow
from db.session import Database
from knowledge.store import audit

NOTE_PREFIXES = ("メモ:", "メモ：", "note:", "Note:", "NOTE:")
ROLE_TITLES = {"nurse": "看護師", "msw": "医療ソーシャルワーカー", "coordinator": "コーディネーター", "admin": "スタッフ"}


class HandoffError(Exception):
    """A staff act that cannot happen, with a message for the staff member (Japanese)."""


class ConversationNotFound(HandoffError):
    """The conversation the act names does not exist."""


@dataclass
class Summary:
    """A conversation as staff see it beside the buttons."""

    id: int
    channel: str
    status: str
    status_label: str
    needed_role: str | None
    urgency: str
    contact_name: str
    assignee: str | None
    opened_at: datetime
    handed_off_at: datetime | None
    recent: list[tuple[str, str]] = field(default_factory=list)  # (who, text), oldest first


@dataclass
class ActResult:
    conversation_id: int
    status: str
    message: str  # what to tell the staff member
    changed: bool = True


def staff_by_slack(session: Session, slack_user_id: str) -> Staff | None:
    return session.scalars(select(Staff).where(Staff.slack_user_id == slack_user_id, Staff.active)).first()


def summary(session: Session, conversation_id: int, recent: int = 6) -> Summary:
    conversation = _get(session, conversation_id)
    contact = session.get(Contact, conversation.contact_id)
    assignee = session.get(Staff, conversation.assignee_id) if conversation.assignee_id else None
    messages = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id, Message.direction != "internal")
        .order_by(Message.id.desc()).limit(recent)).all()
    who = {"contact": "相談者", "bot": "ボット", "staff": "スタッフ", "system": "システム"}
    return Summary(
        id=conversation.id, channel=conversation.channel, status=conversation.status,
        status_label="{} / {}".format(*HELPDESK_LABELS[conversation.status]),
        needed_role=conversation.needed_role, urgency=conversation.urgency,
        contact_name=(contact.display_name if contact and contact.display_name else f"相談者 #{conversation.contact_id}"),
        assignee=assignee.name if assignee else None, opened_at=conversation.opened_at,
        handed_off_at=conversation.handed_off_at,
        recent=[(who.get(m.sender_kind, m.sender_kind), m.text or f"（{m.kind}）") for m in reversed(messages)],
    )


def claim(session: Session, conversation_id: int, staff: Staff) -> ActResult:
    """Take the conversation. Exactly one of several simultaneous claims wins."""
    conversation = _get(session, conversation_id)
    if conversation.status == "human" and conversation.assignee_id == staff.id:
        return ActResult(conversation_id, "human", "すでにあなたが担当しています。", changed=False)
    if conversation.status == "resolved":
        raise HandoffError("この相談はすでに解決済みです。")
    won = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status.in_(("bot", "waiting", "snoozed")))
        .values(status="human", assignee_id=staff.id, handed_off_at=conversation.handed_off_at or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    session.expire(conversation)
    if not won:
        owner = session.get(Staff, conversation.assignee_id) if conversation.assignee_id else None
        raise HandoffError(f"すでに{owner.name if owner else '別のスタッフ'}さんが対応しています。")
    _record(session, conversation_id, staff, "conversation.claim", f"{staff.name}さんが対応を始めました。")
    return ActResult(conversation_id, "human", f"{staff.name}さんが対応します。")


def resolve(session: Session, conversation_id: int, staff: Staff,
            channels: dict[str, Channel] | None = None) -> ActResult:
    """Close it; the resident is asked the one satisfaction question (「ご相談は役に立ちましたか」)."""
    result = _move(session, conversation_id, staff, "resolve", "解決済みにしました。")
    conversation = _get(session, conversation_id)
    channel = (channels or {}).get(conversation.channel)
    if channel is not None and conversation.reply_target and conversation.channel != "slack":
        question = replies.satisfaction_question(conversation_id)
        session.add(Message(conversation_id=conversation_id, direction="out", sender_kind="bot", text=question.text))
        session.add_all(OutboxMessage(channel=conversation.channel, target=conversation.reply_target,
                                      conversation_id=conversation_id, sender_kind="system", payload=payload,
                                      retry_key=str(uuid.uuid4())) for payload in channel.render([question]))
    return result


def return_to_bot(session: Session, conversation_id: int, staff: Staff) -> ActResult:
    return _move(session, conversation_id, staff, "return_to_bot", "ボット対応に戻しました。")


def reassign(session: Session, conversation_id: int, staff: Staff, to: Staff) -> ActResult:
    """Hand the conversation to another staff member (console); it becomes theirs, status human."""
    conversation = _get(session, conversation_id)
    if not to.active:
        raise HandoffError(f"{to.name}さんのアカウントは無効です。")
    try:
        status, _effects = transition(conversation.status, "claim")
    except InvalidTransition:
        raise HandoffError(f"今の状態（{HELPDESK_LABELS[conversation.status][0]}）では担当を変更できません。") from None
    conversation.status, conversation.assignee_id = status, to.id
    conversation.handed_off_at = conversation.handed_off_at or utcnow()
    session.add(Message(conversation_id=conversation_id, direction="internal", sender_kind="system",
                        staff_id=staff.id, text=f"{staff.name}さんが担当を{to.name}さんに変更しました。", kind="event"))
    audit(session, f"staff:{staff.id}", "conversation.reassign", "conversation", str(conversation_id),
          {"to_staff_id": to.id})
    return ActResult(conversation_id, status, f"担当を{to.name}さんに変更しました。")


def is_note(text: str) -> bool:
    return text.strip().startswith(NOTE_PREFIXES)


def staff_reply(session: Session, conversation_id: int, staff: Staff, text: str, channels: dict[str, Channel],
                hub_name: str) -> OutboxMessage:
    """A staff member's words to the resident: only the owner may send them (lesson: no slips)."""
    conversation = _get(session, conversation_id)
    if conversation.status != "human" or conversation.assignee_id != staff.id:
        raise HandoffError("返信するには、先に「対応する」を押して担当になってください。")
    channel = channels.get(conversation.channel)
    if channel is None or not conversation.reply_target:
        raise HandoffError(f"この相談のチャネル（{conversation.channel}）には今は送れません。")
    now = utcnow()
    signed = f"【{hub_name} {ROLE_TITLES.get(staff.role, 'スタッフ')} {staff.name}】\n{text.strip()}"
    session.add(Message(conversation_id=conversation_id, direction="out", sender_kind="staff", staff_id=staff.id,
                        text=text.strip(), created_at=now))
    conversation.first_staff_response_at = conversation.first_staff_response_at or now
    conversation.last_message_at = now
    rows = [OutboxMessage(channel=conversation.channel, target=conversation.reply_target,
                          conversation_id=conversation_id, sender_kind="staff", payload=payload,
                          retry_key=str(uuid.uuid4())) for payload in channel.render([Reply(signed)])]
    session.add_all(rows)
    audit(session, f"staff:{staff.id}", "conversation.reply", "conversation", str(conversation_id))
    return rows[0]


def note(session: Session, conversation_id: int, staff: Staff, text: str) -> None:
    _get(session, conversation_id)
    session.add(Message(conversation_id=conversation_id, direction="internal", sender_kind="staff",
                        staff_id=staff.id, text=text.strip(), kind="note"))
    audit(session, f"staff:{staff.id}", "conversation.note", "conversation", str(conversation_id))


def by_thread(session: Session, channel: str, thread_ts: str) -> Conversation | None:
    return session.scalars(select(Conversation).where(Conversation.staff_thread_channel == channel,
                                                      Conversation.staff_thread_ts == thread_ts)).first()


def with_session(db: Database, fn, *args):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return fn(session, *args)


def _move(session: Session, conversation_id: int, staff: Staff, event: str, done: str) -> ActResult:
    conversation = _get(session, conversation_id)
    try:
        status, _effects = transition(conversation.status, event)
    except InvalidTransition:
        raise HandoffError(f"今の状態（{HELPDESK_LABELS[conversation.status][0]}）ではできません。") from None
    conversation.status = status
    if event == "resolve":
        conversation.resolved_at = utcnow()
    if event == "return_to_bot":
        conversation.assignee_id = None
    _record(session, conversation_id, staff, f"conversation.{event}", f"{staff.name}さん: {done}")
    return ActResult(conversation_id, status, done)


def _record(session: Session, conversation_id: int, staff: Staff, action: str, text: str) -> None:
    session.add(Message(conversation_id=conversation_id, direction="internal", sender_kind="system",
                        staff_id=staff.id, text=text, kind="event"))
    audit(session, f"staff:{staff.id}", action, "conversation", str(conversation_id))


def _get(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"相談 #{conversation_id} が見つかりません。")
    return conversation
