"""The staff queue: conversations by status, role, urgency and waiting time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from admin_api.deps import CurrentStaff, SessionDep
from bot.conversation import HELPDESK_LABELS
from db.models import Contact, Conversation, ConversationLabel, Message, Staff, utcnow
from zaitaku_desk.handoff import CHANNEL_LABELS, labels_in_use, labels_of

router = APIRouter(tags=["queue"])
Status = Literal["bot", "waiting", "human", "snoozed", "resolved"]
DEFAULT_STATUSES: list[Status] = ["waiting", "human", "snoozed"]
# The console's tabs, in order, with their names.
QUEUE_TABS: dict[str, str] = {"waiting": "対応待ち", "human": "対応中", "snoozed": "保留", "resolved": "解決済み"}
PREVIEW_CHARS = 60


# The queue's order, applied before any limit so no emergency is ever cut off: emergencies first, then
# the longest waiting since the hand-off, then the oldest.
QUEUE_ORDER = (case((Conversation.urgency == "emergency", 0), else_=1), Conversation.handed_off_at.is_(None),
               Conversation.handed_off_at, Conversation.id)


class QueueItem(BaseModel):
    id: int
    channel: str
    channel_label: str  # LINE, お試しページ
    status: str
    status_label: str  # 対応待ち
    helpdesk_status: str  # pending (the word other help-desk tools use)
    needed_role: str | None
    urgency: str
    contact_name: str
    assignee_id: int | None
    assignee: str | None
    opened_at: datetime
    handed_off_at: datetime | None
    last_message_at: datetime
    waiting_seconds: float | None  # since the hand-off, while nobody has answered yet
    preview: str | None  # the first line of what the person last wrote
    labels: list[str]
    paged: str | None  # outside hours, whom the duty rota is calling for it (while nobody has taken it)
    paged_staff_id: int | None


@router.get("/queue", response_model=list[QueueItem],
            summary="Conversations needing staff: emergencies first, then the longest waiting")
def list_queue(session: SessionDep, staff: CurrentStaff,
               status: Annotated[list[Status], Query()] = DEFAULT_STATUSES,
               role: Literal["nurse", "msw", "any"] | None = None,
               urgency: Literal["normal", "emergency"] | None = None,
               mine: bool = False, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
               q: Annotated[str | None, Query(max_length=100, description="words in the name or any message")] = None,
               label: Annotated[str | None, Query(max_length=20)] = None) -> list[QueueItem]:
    return queue_items(session, status, role, urgency, staff.id if mine else None, limit, (q or "").strip() or None,
                       label or None)


class LabelCount(BaseModel):
    label: str
    conversations: int


@router.get("/labels", response_model=list[LabelCount], summary="Every label in use, most used first")
def list_labels(session: SessionDep, _: CurrentStaff) -> list[LabelCount]:
    return [LabelCount(label=label, conversations=n) for label, n in labels_in_use(session)]


def queue_items(session: Session, status: Sequence[str], role: str | None = None, urgency: str | None = None,
                assignee_id: int | None = None, limit: int = 200, search: str | None = None,
                label: str | None = None) -> list[QueueItem]:
    """The queue as the API and the console show it: sorted and limited in SQL, emergencies first.
    `search`: conversations whose contact's name or any message holds these words; `label`: those
    carrying it."""
    latest = select(Message.text).where(Message.conversation_id == Conversation.id, Message.direction == "in",
                                        Message.text.is_not(None)) \
        .order_by(Message.id.desc()).limit(1).correlate(Conversation).scalar_subquery()
    paged = aliased(Staff)
    # Columns, not entities: a page of the queue is read often (every live update of every console).
    c = Conversation
    query = select(c.id, c.channel, c.status, c.needed_role, c.urgency, c.assignee_id, c.opened_at, c.handed_off_at,
                   c.last_message_at, c.first_staff_response_at, c.paged_staff_id, c.contact_id,
                   Contact.display_name, Staff.name.label("assignee"), latest.label("said"),
                   paged.name.label("paged_name")).join(Contact, Contact.id == Conversation.contact_id) \
        .outerjoin(Staff, Staff.id == Conversation.assignee_id) \
        .outerjoin(paged, paged.id == Conversation.paged_staff_id).where(Conversation.status.in_(status))
    if role:
        query = query.where(Conversation.needed_role == role)
    if urgency:
        query = query.where(Conversation.urgency == urgency)
    if assignee_id is not None:
        query = query.where(Conversation.assignee_id == assignee_id)
    if search:
        said = select(Message.id).where(Message.conversation_id == Conversation.id, Message.text.contains(search))
        query = query.where(or_(Contact.display_name.contains(search), said.exists()))
    if label:
        query = query.where(select(ConversationLabel.label).where(ConversationLabel.conversation_id == Conversation.id,
                                                                  ConversationLabel.label == label).exists())
    now = utcnow()
    items = []
    # Closed conversations: the most recently closed first; open ones: the queue's order.
    order = ((Conversation.resolved_at.desc().nulls_last(), Conversation.id.desc()) if list(status) == ["resolved"]
             else QUEUE_ORDER)
    found = session.execute(query.order_by(*order).limit(limit)).all()
    labels = labels_of(session, [row.id for row in found])
    for row in found:
        waiting = None
        if row.handed_off_at and row.first_staff_response_at is None and row.status in ("waiting", "human", "snoozed"):
            waiting = (now - row.handed_off_at).total_seconds()
        label, helpdesk = HELPDESK_LABELS[row.status]
        items.append(QueueItem(
            id=row.id, channel=row.channel, channel_label=CHANNEL_LABELS.get(row.channel, row.channel),
            status=row.status, status_label=label, helpdesk_status=helpdesk, needed_role=row.needed_role,
            urgency=row.urgency, contact_name=row.display_name or f"相談者 #{row.contact_id}",
            assignee_id=row.assignee_id, assignee=row.assignee, opened_at=row.opened_at,
            handed_off_at=row.handed_off_at, last_message_at=row.last_message_at, waiting_seconds=waiting,
            preview=_first_line(row.said), labels=labels.get(row.id, []), paged=row.paged_name,
            paged_staff_id=row.paged_staff_id))
    return items


def status_counts(session: Session) -> dict[str, int]:
    """How many conversations are in each status (the console's tabs)."""
    return dict(session.execute(select(Conversation.status, func.count()).group_by(Conversation.status)).all())


def _first_line(text: str | None) -> str | None:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return (line[:PREVIEW_CHARS] + "…" if len(line) > PREVIEW_CHARS else line) or None
