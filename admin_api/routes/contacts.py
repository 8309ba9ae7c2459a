"""A contact (resident) beside the transcript, and deletion on request: export, then erase (admins).

Erasing keeps the consultations as counted facts (channel, times, route) for the annual report but
removes every word and identifier; the audit log records that it happened, never the content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import String, cast, delete, select, update

from admin_api.deps import AdminStaff, CurrentStaff, SessionDep, actor
from db.models import Contact, Conversation, InboundEvent, Message, UnansweredQuestion, utcnow
from knowledge.store import audit
from zaitaku_desk import handoff, outbox

router = APIRouter(prefix="/contacts", tags=["contacts"])
ERASED = {"erased": True}


class ConversationBrief(BaseModel):
    id: int
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    topic: str | None
    topic_question: str | None
    urgency: str
    needed_role: str | None
    assignee: str | None
    outcome: str = Field(description="what came of it, in words: 「解決（佐藤 花子）」「FAQで回答」")


class ContactOut(BaseModel):
    id: int
    channel: str
    display_name: str | None
    first_contact_at: datetime
    following: bool
    erased_at: datetime | None
    conversations: list[ConversationBrief]


class ErasedOut(BaseModel):
    contact_id: int
    conversations: int
    messages_erased: int
    erased_at: datetime


def _get(session: SessionDep, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"相談者 #{contact_id} が見つかりません。")
    return contact


def _conversation_ids(session: SessionDep, contact_id: int) -> list[int]:
    return list(session.scalars(select(Conversation.id).where(Conversation.contact_id == contact_id)
                                .order_by(Conversation.id)))


@router.get("/{contact_id}", response_model=ContactOut, summary="The resident's profile and past conversations")
def get_contact(contact_id: int, session: SessionDep, _: CurrentStaff) -> ContactOut:
    contact = _get(session, contact_id)
    return ContactOut(id=contact.id, channel=contact.channel, display_name=contact.display_name,
                      first_contact_at=contact.first_contact_at, following=contact.following,
                      erased_at=contact.erased_at,
                      conversations=[ConversationBrief(**vars(past))
                                     for past in handoff.history(session, contact_id, limit=1000)])


@router.get("/{contact_id}/export", summary="Everything recorded about the contact, for a deletion request (admin)")
def export_contact(contact_id: int, session: SessionDep, admin: AdminStaff) -> dict[str, Any]:
    contact = _get(session, contact_id)
    ids = _conversation_ids(session, contact_id)
    messages: Any = session.scalars(select(Message).where(Message.conversation_id.in_(ids), Message.direction != "internal")
                               .order_by(Message.created_at, Message.id)) if ids else []
    audit(session, actor(admin), "contact.export", "contact", str(contact_id))
    session.commit()
    return {
        "contact": {"id": contact.id, "channel": contact.channel, "external_id": contact.external_id,
                    "display_name": contact.display_name, "first_contact_at": contact.first_contact_at.isoformat()},
        "conversations": ids,
        "messages": [{"conversation_id": m.conversation_id, "direction": m.direction, "sender": m.sender_kind,
                      "kind": m.kind, "text": m.text, "payload": m.payload, "at": m.created_at.isoformat()}
                     for m in messages],
    }


@router.post("/{contact_id}/erase", response_model=ErasedOut,
             summary="Erase the contact's messages and identity (admin); the audit log keeps only the fact")
def erase_contact(contact_id: int, session: SessionDep, admin: AdminStaff) -> ErasedOut:
    contact = _get(session, contact_id)
    if contact.erased_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "この相談者の記録はすでに消去されています。")
    ids = _conversation_ids(session, contact_id)
    erased = 0
    if ids:
        result: Any = session.execute(update(Message).where(Message.conversation_id.in_(ids))
                                      .values(text=None, payload=None).execution_options(synchronize_session=False))
        erased = result.rowcount or 0
        session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.conversation_id.in_(ids)))
        outbox.erase(session, ids)
        session.execute(update(Conversation).where(Conversation.id.in_(ids))
                        .values(reply_target=None).execution_options(synchronize_session=False))
    # The raw webhook bodies carry the user id and the words; they go too.
    session.execute(update(InboundEvent).where(InboundEvent.channel == contact.channel,
                                               cast(InboundEvent.raw, String).contains(contact.external_id))
                    .values(raw=ERASED).execution_options(synchronize_session=False))
    now = utcnow()
    contact.display_name, contact.external_id, contact.erased_at, contact.following = (
        None, f"erased:{contact.id}", now, False)
    audit(session, actor(admin), "contact.erase", "contact", str(contact_id),
          {"conversations": len(ids), "messages": erased})
    session.commit()
    return ErasedOut(contact_id=contact_id, conversations=len(ids), messages_erased=erased, erased_at=now)
