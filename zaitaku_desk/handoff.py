"""What staff do to a conversation, whichever tool they use (Slack buttons and threads, the console).

Each act is one transaction through zaitaku_desk.lifecycle.apply: its conditional update settles
races (two people pressing 「対応する」 at once end with one owner), the state machine says what is
allowed, and the audit log records who did what and when. What someone owns is theirs: only they,
a coordinator or an administrator may close, return, snooze or reassign it. Replies to the resident
go through the outbox on the resident's own channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.base import Channel, ConversationSummary
from bot.conversation import HELPDESK_LABELS, InvalidTransition
from bot.messages import Reply
from bot.roles import OVERRIDE_ROLES, Role
from db.models import Contact, Conversation, ConversationLabel, FaqEntry, Message, Staff, utcnow
from db.session import Database
from knowledge.store import audit
from zaitaku_desk.lifecycle import TIMER, Actor, Conflict, apply, record_event
from zaitaku_desk.outbox import ChannelUnavailable, NotOwner, Outgoing, enqueue

MAX_SNOOZE = timedelta(days=30)  # the longest 保留
# What staff read for a conversation's channel and for who wrote a message (console, Slack, transcripts).
CHANNEL_LABELS = {"line": "LINE", "slack": "Slack", "web": "お試しページ", "terminal": "端末（試験用）"}
SENDER_LABELS = {"contact": "相談者", "bot": "ボット", "staff": "スタッフ", "system": "記録"}
MAX_REASON = 200  # characters of a snooze's reason
MAX_LABEL, MAX_LABELS = 20, 10  # characters in a label, labels on one conversation
NOTE_PREFIXES = ("メモ:", "メモ：", "note:", "Note:", "NOTE:")


class HandoffError(Exception):
    """A staff act that cannot happen, with a message for the staff member (Japanese)."""


class ConversationNotFound(HandoffError):
    """The conversation the act names does not exist."""


@dataclass
class ActResult:
    conversation_id: int
    status: str
    message: str  # what to tell the staff member
    changed: bool = True


def staff_by_slack(session: Session, slack_user_id: str) -> Staff | None:
    return session.scalars(select(Staff).where(Staff.slack_user_id == slack_user_id, Staff.active)).first()


@dataclass
class ConversationRecord:
    """A conversation with who it is with, who owns it and its messages (oldest first): what the
    API, the console and the staff thread each show in their own way."""

    conversation: Conversation
    contact: Contact | None
    assignee: Staff | None
    messages: list[Message]

    @property
    def contact_name(self) -> str:
        contact = self.contact
        return contact.display_name if contact and contact.display_name else f"相談者 #{self.conversation.contact_id}"


def record(session: Session, conversation_id: int, *, internal: bool = True,
           recent: int | None = None) -> ConversationRecord:
    """The conversation as staff see it; `internal=False` leaves out notes and events, `recent` keeps
    only the last messages. ConversationNotFound when there is none."""
    conversation = _get(session, conversation_id)
    query = select(Message).where(Message.conversation_id == conversation_id)
    if not internal:
        query = query.where(Message.direction != "internal")
    if recent is not None:
        messages = list(reversed(session.scalars(query.order_by(Message.id.desc()).limit(recent)).all()))
    else:
        messages = list(session.scalars(query.order_by(Message.created_at, Message.id)))
    return ConversationRecord(conversation, session.get(Contact, conversation.contact_id),
                              session.get(Staff, conversation.assignee_id) if conversation.assignee_id else None,
                              messages)


@dataclass
class PastConversation:
    """One of a contact's conversations as the contact's panel lists it, with its outcome in words."""

    id: int
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    topic: str | None  # the FAQ id first answered
    topic_question: str | None
    urgency: str
    needed_role: str | None
    assignee: str | None
    outcome: str  # 「解決（佐藤 花子）」「FAQで回答」「対応中」


def history(session: Session, contact_id: int, limit: int = 20) -> list[PastConversation]:
    """The contact's conversations, newest first, each with what came of it."""
    rows = session.execute(select(Conversation, Staff.name, FaqEntry.question)
                           .outerjoin(Staff, Staff.id == Conversation.assignee_id)
                           .outerjoin(FaqEntry, FaqEntry.id == Conversation.topic)
                           .where(Conversation.contact_id == contact_id)
                           .order_by(Conversation.id.desc()).limit(limit)).all()
    return [PastConversation(c.id, c.status, c.opened_at, c.resolved_at, c.topic, question, c.urgency, c.needed_role,
                             name, _outcome(c, name)) for c, name, question in rows]


def _outcome(conversation: Conversation, assignee: str | None) -> str:
    emergency = "緊急（119番を案内）・" if conversation.urgency == "emergency" else ""
    if conversation.status == "resolved":
        return f"{emergency}解決" + (f"（{assignee}）" if assignee else "")
    if conversation.status == "bot":
        if conversation.handed_off_at is not None:
            return f"{emergency}スタッフ対応のあとボットに戻した"
        return f"{emergency}FAQで回答" if conversation.topic else f"{emergency}ボットが対応"
    return emergency + HELPDESK_LABELS[conversation.status][0]


def summary(session: Session, conversation_id: int, recent: int = 6) -> ConversationSummary:
    """What the staff thread shows beside its buttons."""
    seen = record(session, conversation_id, internal=False, recent=recent)
    conversation = seen.conversation
    return ConversationSummary(
        id=conversation.id, channel=conversation.channel, status=conversation.status,
        status_label="{} / {}".format(*HELPDESK_LABELS[conversation.status]),
        needed_role=conversation.needed_role, urgency=conversation.urgency, contact_name=seen.contact_name,
        assignee=seen.assignee.name if seen.assignee else None, opened_at=conversation.opened_at,
        handed_off_at=conversation.handed_off_at,
        recent=[(SENDER_LABELS.get(m.sender_kind, m.sender_kind), m.text or f"（{m.kind}）") for m in seen.messages],
    )


def claim(session: Session, conversation_id: int, staff: Staff, channels: Mapping[str, Channel]) -> ActResult:
    """Take the conversation. Exactly one of several simultaneous claims wins."""
    def check(conversation: Conversation) -> bool:
        if conversation.status == "resolved":
            raise HandoffError("この相談はすでに解決済みです。")
        if owns(conversation, staff) and conversation.status == "human":
            return False
        called = conversation.page_since is not None and conversation.paged_staff_id == staff.id
        if owned_by_another(conversation, staff) and not called:  # 対応中, or set aside (保留) by its owner
            # (the person on duty the rota is calling for it may take it over: its owner is not answering)
            owner = session.get(Staff, conversation.assignee_id)
            raise HandoffError(f"すでに{owner.name if owner else '別のスタッフ'}さんが対応しています。")
        return True
    if _act(session, conversation_id, staff, "claim", channels, check) is None:
        return ActResult(conversation_id, "human", "すでにあなたが担当しています。", changed=False)
    return ActResult(conversation_id, "human", f"{staff.name}さんが対応します。")


def resolve(session: Session, conversation_id: int, staff: Staff, channels: Mapping[str, Channel]) -> ActResult:
    """Close it; a resident is asked the one satisfaction question (「ご相談は役に立ちましたか」)."""
    _act(session, conversation_id, staff, "resolve", channels, _owner_rule(session, staff, "解決に"))
    return ActResult(conversation_id, "resolved", "解決済みにしました。")


def return_to_bot(session: Session, conversation_id: int, staff: Staff, channels: Mapping[str, Channel]) -> ActResult:
    _act(session, conversation_id, staff, "return_to_bot", channels, _owner_rule(session, staff, "ボットに戻す"))
    return ActResult(conversation_id, "bot", "ボット対応に戻しました。")


def snooze(session: Session, conversation_id: int, staff: Staff, until: datetime,
           channels: Mapping[str, Channel], reason: str = "") -> ActResult:
    """Set it aside until `until`; it comes back to its owner (or the queue) then, or when the contact
    writes. `reason` is kept and said again when it comes back."""
    if until <= utcnow():
        raise HandoffError("保留の期限は今より後の時刻にしてください。")
    if until > utcnow() + MAX_SNOOZE:
        raise HandoffError(f"保留は{MAX_SNOOZE.days}日以内にしてください。")
    _act(session, conversation_id, staff, "snooze", channels, _owner_rule(session, staff, "保留に"), until=until,
         reason=" ".join(reason.split())[:MAX_REASON])
    return ActResult(conversation_id, "snoozed", "保留にしました。")


def reassign(session: Session, conversation_id: int, staff: Staff, to: Staff,
             channels: Mapping[str, Channel]) -> ActResult:
    """Hand the conversation to another staff member; it becomes theirs, status human."""
    if not to.active:
        raise HandoffError(f"{to.name}さんのアカウントは無効です。")
    _act(session, conversation_id, staff, "claim", channels, _owner_rule(session, staff, "担当を変更"), to=to)
    return ActResult(conversation_id, "human", f"担当を{to.name}さんに変更しました。")


def wake_due(session: Session, now: datetime, channels: Mapping[str, Channel]) -> int:
    """Bring back every conversation whose 保留 has run out (the timer's act)."""
    due = session.scalars(select(Conversation).where(Conversation.status == "snoozed",
                                                     Conversation.snoozed_until <= now)).all()
    woken = 0
    for conversation in due:
        try:
            apply(session, conversation, "wake", TIMER, channels, now=now)
            woken += 1
        except Conflict:
            pass  # someone acted on it meanwhile: nothing to wake
    return woken


def owns(conversation: Conversation, staff: Staff) -> bool:
    """The staff member is the conversation's owner (it may be set aside, 保留, and still theirs)."""
    return conversation.assignee_id == staff.id and conversation.status in ("human", "snoozed")


def owned_by_another(conversation: Conversation, staff: Staff) -> bool:
    return conversation.assignee_id not in (None, staff.id) and conversation.status in ("human", "snoozed")


def is_note(text: str) -> bool:
    return text.strip().startswith(NOTE_PREFIXES)


def staff_reply(session: Session, conversation_id: int, staff: Staff, text: str, channels: Mapping[str, Channel],
                hub_name: str) -> None:
    """A staff member's words to the resident: only the owner may send them (lesson: no slips)."""
    conversation = _get(session, conversation_id)
    now = utcnow()
    signed = f"【{hub_name} {Role(staff.role).title} {staff.name}】\n{text.strip()}"
    try:
        if not conversation.reply_target:  # erased, or a channel that cannot be written to
            raise ChannelUnavailable("この相談者には、このチャネルからは返信できません。")
        enqueue(session, channels, [Outgoing(conversation.channel, conversation.reply_target, conversation_id,
                                             "staff", replies=[Reply(signed)], staff_id=staff.id)])
    except (NotOwner, ChannelUnavailable) as exc:
        raise HandoffError(str(exc)) from None
    session.add(Message(conversation_id=conversation_id, direction="out", sender_kind="staff", staff_id=staff.id,
                        text=text.strip(), created_at=now))
    conversation.first_staff_response_at = conversation.first_staff_response_at or now
    conversation.last_message_at = now
    # Someone is answering: the duty rota stops calling for it.
    conversation.page_since = conversation.paged_at = conversation.paged_staff_id = None
    audit(session, f"staff:{staff.id}", "conversation.reply", "conversation", str(conversation_id))


def note(session: Session, conversation_id: int, staff: Staff, text: str) -> None:
    _get(session, conversation_id)
    session.add(Message(conversation_id=conversation_id, direction="internal", sender_kind="staff",
                        staff_id=staff.id, text=text.strip(), kind="note"))
    audit(session, f"staff:{staff.id}", "conversation.note", "conversation", str(conversation_id))


def labels_of(session: Session, conversation_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each conversation's labels, in the order they were put on."""
    found: dict[int, list[str]] = {}
    for conversation_id, label in session.execute(
            select(ConversationLabel.conversation_id, ConversationLabel.label)
            .where(ConversationLabel.conversation_id.in_(conversation_ids))
            .order_by(ConversationLabel.added_at, ConversationLabel.label)):
        found.setdefault(conversation_id, []).append(label)
    return found


def labels_on(session: Session, conversation_id: int) -> list[str]:
    """One conversation's labels (labels_of)."""
    return labels_of(session, [conversation_id]).get(conversation_id, [])


def add_label(session: Session, conversation_id: int, staff: Staff, label: str) -> list[str]:
    """Put a label on the conversation (once); the log says who did. Returns its labels."""
    label = " ".join(label.split())
    if not 0 < len(label) <= MAX_LABEL:
        raise HandoffError(f"ラベルは1〜{MAX_LABEL}文字にしてください。")
    _get(session, conversation_id)
    have = labels_on(session, conversation_id)
    if label in have:
        return have
    if len(have) >= MAX_LABELS:
        raise HandoffError(f"ラベルは1件の相談に{MAX_LABELS}個までです。")
    try:
        with session.begin_nested():  # the same label put on by two people at once: once
            session.add(ConversationLabel(conversation_id=conversation_id, label=label, added_by=staff.id,
                                          added_at=utcnow()))
    except IntegrityError:
        return labels_on(session, conversation_id)
    record_event(session, conversation_id, f"{staff.name}さんがラベル「{label}」を付けました。", f"staff:{staff.id}",
                 "label_add", {"label": label}, staff.id)
    return [*have, label]


def remove_label(session: Session, conversation_id: int, staff: Staff, label: str) -> list[str]:
    _get(session, conversation_id)
    if session.execute(delete(ConversationLabel).where(ConversationLabel.conversation_id == conversation_id,
                                                       ConversationLabel.label == label)).rowcount:
        record_event(session, conversation_id, f"{staff.name}さんがラベル「{label}」を外しました。",
                     f"staff:{staff.id}", "label_remove", {"label": label}, staff.id)
    return labels_on(session, conversation_id)


def labels_in_use(session: Session) -> list[tuple[str, int]]:
    """Every label on any conversation, with how many carry it (most used first)."""
    count = func.count()
    return [(label, n) for label, n in session.execute(
        select(ConversationLabel.label, count).group_by(ConversationLabel.label).order_by(count.desc(),
                                                                                          ConversationLabel.label))]


def by_thread(session: Session, channel: str, thread_ts: str) -> Conversation | None:
    return session.scalars(select(Conversation).where(Conversation.staff_thread_channel == channel,
                                                      Conversation.staff_thread_ts == thread_ts)).first()


class Directory:
    """The staff channel's view of conversations and their threads (adapters.base.StaffDirectory)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def summary(self, conversation_id: int) -> ConversationSummary:
        with self.db.session() as session:
            return summary(session, conversation_id)

    def thread(self, conversation_id: int) -> tuple[str, str] | None:
        with self.db.session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation and conversation.staff_thread_channel and conversation.staff_thread_ts:
                return conversation.staff_thread_channel, conversation.staff_thread_ts
        return None

    def link_thread(self, conversation_id: int, channel: str, ts: str) -> None:
        with self.db.session() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                conversation.staff_thread_channel, conversation.staff_thread_ts = channel, ts


def _act(session: Session, conversation_id: int, staff: Staff, event: str, channels: Mapping[str, Channel],
         check: Callable[[Conversation], bool], *, to: Staff | None = None,
         until: datetime | None = None, reason: str = "") -> str | None:
    """Apply a staff member's act once `check` allows it, returning the new status (None: `check` said
    there is nothing to do); a race lost is decided again from what is there now."""
    for _ in range(3):
        conversation = _get(session, conversation_id)
        if not check(conversation):
            return None
        try:
            return apply(session, conversation, event, Actor("staff", staff), channels, to=to, until=until,
                         reason=reason).status
        except InvalidTransition:
            raise HandoffError(f"今の状態（{HELPDESK_LABELS[conversation.status][0]}）ではできません。") from None
        except Conflict:
            continue
    raise HandoffError("ほかの操作と重なりました。もう一度お試しください。")


def _owner_rule(session: Session, staff: Staff, what: str) -> Callable[[Conversation], bool]:
    """A conversation someone owns is theirs: others may not close, return, snooze or reassign it,
    except a coordinator or an administrator (audited like every act)."""
    def check(conversation: Conversation) -> bool:
        if owned_by_another(conversation, staff) and staff.role not in OVERRIDE_ROLES:
            owner = session.get(Staff, conversation.assignee_id)
            raise HandoffError(f"担当の{owner.name if owner else '別のスタッフ'}さんの相談です。"
                               f"{what}できるのは担当者かコーディネーター・管理者です。")
        return True
    return check


def _get(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"相談 #{conversation_id} が見つかりません。")
    return conversation
