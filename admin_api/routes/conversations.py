"""One conversation and what staff do to it; the acts themselves live in zaitaku_desk.handoff."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse, Response
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from admin_api.deps import CurrentStaff, RuntimeDep, SessionDep
from bot.conversation import HELPDESK_LABELS
from db.models import Conversation, Staff
from knowledge.input import Input
from zaitaku_desk import handoff
from zaitaku_desk.transcript import transcript_text

router = APIRouter(prefix="/conversations", tags=["conversations"])


class TranscriptLine(BaseModel):
    id: int
    direction: str  # in | out | internal
    sender_kind: str  # contact | bot | staff | system
    staff_id: int | None
    kind: str  # text, note, event, sticker, ...
    text: str | None
    created_at: datetime


class ConversationOut(BaseModel):
    id: int
    contact_id: int
    contact_name: str
    channel: str
    status: str
    status_label: str
    helpdesk_status: str
    needed_role: str | None
    urgency: str
    assignee_id: int | None
    topic: str | None
    opened_at: datetime
    handed_off_at: datetime | None
    first_staff_response_at: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None
    snooze_reason: str | None
    labels: list[str]
    transcript: list[TranscriptLine]


class ActOut(BaseModel):
    conversation_id: int
    status: str
    message: str
    changed: bool = True


class TextBody(Input):
    text: str = Field(min_length=1, max_length=5000)

    @field_validator("text")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("本文が空です")
        return value


class LabelBody(Input):
    label: str = Field(min_length=1, max_length=handoff.MAX_LABEL, description="「要訪問」「ケアマネ連絡済」")


class LabelsOut(BaseModel):
    conversation_id: int
    labels: list[str]


class ReassignBody(Input):
    staff_id: int


class SnoozeBody(Input):
    until: AwareDatetime = Field(description="when it comes back (to its owner, or to the queue); within 30 days")
    reason: str = Field(default="", max_length=handoff.MAX_REASON, description="why; said again when it comes back")



def _act(result: handoff.ActResult) -> ActOut:
    return ActOut(conversation_id=result.conversation_id, status=result.status, message=result.message,
                  changed=result.changed)


@router.get("/{conversation_id}", response_model=ConversationOut,
            summary="A conversation with its full transcript, private notes included")
def get_conversation(conversation_id: int, session: SessionDep, _: CurrentStaff) -> ConversationOut:
    seen = handoff.record(session, conversation_id)
    conversation, messages = seen.conversation, seen.messages
    label, helpdesk = HELPDESK_LABELS[conversation.status]
    return ConversationOut(
        id=conversation.id, contact_id=conversation.contact_id, contact_name=seen.contact_name,
        channel=conversation.channel, status=conversation.status, status_label=label, helpdesk_status=helpdesk,
        needed_role=conversation.needed_role, urgency=conversation.urgency, assignee_id=conversation.assignee_id,
        topic=conversation.topic, opened_at=conversation.opened_at, handed_off_at=conversation.handed_off_at,
        first_staff_response_at=conversation.first_staff_response_at, resolved_at=conversation.resolved_at,
        snoozed_until=conversation.snoozed_until, snooze_reason=conversation.snooze_reason,
        labels=handoff.labels_on(session, conversation_id),
        transcript=[TranscriptLine(id=m.id, direction=m.direction, sender_kind=m.sender_kind, staff_id=m.staff_id,
                                   kind=m.kind, text=m.text, created_at=m.created_at) for m in messages])


@router.post("/{conversation_id}/claim", response_model=ActOut,
             summary="Take the conversation (one owner even when two claim at once; 409 for the loser)")
def claim(conversation_id: int, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep) -> ActOut:
    result = handoff.claim(session, conversation_id, staff, runtime.channels)
    session.commit()
    runtime.wake_outbox()
    return _act(result)


@router.post("/{conversation_id}/reply", response_model=ActOut, status_code=202,
             summary="Reply to the resident on their channel (owner only); delivered through the outbox")
def reply(conversation_id: int, body: TextBody, session: SessionDep, staff: CurrentStaff,
          runtime: RuntimeDep) -> ActOut:
    handoff.staff_reply(session, conversation_id, staff, body.text, runtime.channels, runtime.settings.hub_name)
    session.commit()
    runtime.wake_outbox()
    return ActOut(conversation_id=conversation_id, status="human", message="返信を送信しました。")


@router.post("/{conversation_id}/notes", response_model=ActOut, status_code=201,
             summary="A private note: staff only, never sent to the resident")
def add_note(conversation_id: int, body: TextBody, session: SessionDep, staff: CurrentStaff) -> ActOut:
    handoff.note(session, conversation_id, staff, body.text)
    conversation = session.get(Conversation, conversation_id)
    session.commit()
    return ActOut(conversation_id=conversation_id, status=conversation.status if conversation else "",
                  message="メモを残しました。")


@router.post("/{conversation_id}/resolve", response_model=ActOut,
             summary="Close it; the resident gets the one satisfaction question")
def resolve(conversation_id: int, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep) -> ActOut:
    result = handoff.resolve(session, conversation_id, staff, runtime.channels)
    session.commit()
    runtime.wake_outbox()
    return _act(result)


@router.post("/{conversation_id}/return", response_model=ActOut, summary="Give the conversation back to the bot")
def return_to_bot(conversation_id: int, session: SessionDep, staff: CurrentStaff, runtime: RuntimeDep) -> ActOut:
    result = handoff.return_to_bot(session, conversation_id, staff, runtime.channels)
    session.commit()
    runtime.wake_outbox()
    return _act(result)


@router.post("/{conversation_id}/snooze", response_model=ActOut,
             summary="Set it aside (保留) until a time; it comes back to its owner, or the queue, then or when the "
                     "contact writes")
def snooze(conversation_id: int, body: SnoozeBody, session: SessionDep, staff: CurrentStaff,
           runtime: RuntimeDep) -> ActOut:
    result = handoff.snooze(session, conversation_id, staff, body.until, runtime.channels, body.reason)
    session.commit()
    runtime.wake_outbox()
    return _act(result)


@router.post("/{conversation_id}/reassign", response_model=ActOut, summary="Make another staff member the owner")
def reassign(conversation_id: int, body: ReassignBody, session: SessionDep, staff: CurrentStaff,
             runtime: RuntimeDep) -> ActOut:
    to = session.get(Staff, body.staff_id)
    if to is None:
        raise HTTPException(422,
                            [{"loc": ["body", "staff_id"], "msg": "スタッフが見つかりません", "type": "value_error"}])
    result = handoff.reassign(session, conversation_id, staff, to, runtime.channels)
    session.commit()
    runtime.wake_outbox()
    return _act(result)


@router.post("/{conversation_id}/labels", response_model=LabelsOut, summary="Put a label on the conversation")
def add_label(conversation_id: int, body: LabelBody, session: SessionDep, staff: CurrentStaff) -> LabelsOut:
    labels = handoff.add_label(session, conversation_id, staff, body.label)
    session.commit()
    return LabelsOut(conversation_id=conversation_id, labels=labels)


@router.delete("/{conversation_id}/labels/{label}", response_model=LabelsOut, summary="Take a label off")
def remove_label(conversation_id: int, label: str, session: SessionDep, staff: CurrentStaff) -> LabelsOut:
    labels = handoff.remove_label(session, conversation_id, staff, label)
    session.commit()
    return LabelsOut(conversation_id=conversation_id, labels=labels)


@router.get("/{conversation_id}/transcript.txt", summary="The conversation as text for the care record (notes "
            "marked); audited", responses={200: {"content": {"text/plain": {}}}})
def export_transcript(conversation_id: int, session: SessionDep, staff: CurrentStaff,
                      runtime: RuntimeDep) -> Response:
    text = transcript_text(session, conversation_id, ZoneInfo(runtime.settings.timezone), runtime.settings.hub_name,
                           staff)
    session.commit()
    return transcript_download(conversation_id, text)


def transcript_download(conversation_id: int, text: str) -> Response:
    return PlainTextResponse(text, headers={
        "Content-Disposition": f'attachment; filename="conversation-{conversation_id}.txt"',
        "Cache-Control": "no-store"})
