"""Every table of the desk, in one place."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Contact(Base):
    """A resident, family member or professional as known on one channel."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_contacts_channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    first_contact_at: Mapped[datetime] = mapped_column(default=utcnow)
    consent_notice_sent_at: Mapped[datetime | None]
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    erased_at: Mapped[datetime | None]


class Conversation(Base):
    """One consultation: status bot → waiting → human → resolved (plus snoozed)."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_contact_status", "contact_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # Where staff replies are pushed: the LINE user, or the Slack DM/channel (and thread) it came from.
    reply_target: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    needed_role: Mapped[str | None] = mapped_column(String(16))  # nurse | msw | any
    urgency: Mapped[str] = mapped_column(String(16), default="normal")  # normal | emergency
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    topic: Mapped[str | None] = mapped_column(String(100))  # first FAQ id answered, for reports
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    handed_off_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]  # the last time an unclaimed hand-off was announced again
    first_staff_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    snooze_reason: Mapped[str | None] = mapped_column(Text)  # why it was set aside, said again when it wakes
    # Since when it has needed someone (it became 対応待ち, or an emergency was raised in it), until someone
    # takes or answers it; outside hours the duty rota calls for it (zaitaku_desk.duty): who was called
    # last, and when (the next one called is whoever follows them on the day's rota).
    page_since: Mapped[datetime | None]
    paged_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    paged_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Where the staff thread for this conversation lives (Slack channel and thread ts).
    staff_thread_channel: Mapped[str | None] = mapped_column(String(64))
    staff_thread_ts: Mapped[str | None] = mapped_column(String(64))


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | out | internal
    sender_kind: Mapped[str] = mapped_column(String(16))  # contact | bot | staff | system
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24), default="text")  # text, sticker, image, location, ...
    route: Mapped[str | None] = mapped_column(String(16))
    faq_id: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundEvent(Base):
    """A webhook event exactly as received; stored once per (channel, event id)."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("channel", "event_id", name="uq_inbound_events_channel_event"),
        Index("ix_inbound_events_pending", "processed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    raw: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message on its way to a channel; survives restarts and retries without doubling."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The claim's "no earlier pending row for this target" looks here, not at the whole table.
        Index("ix_outbox_pending_target", "channel", "target", "id",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    sender_kind: Mapped[str] = mapped_column(String(16))  # bot | staff | system
    # Urgent messages (the 119 instruction) go out even while a person owns the conversation.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]]
    reply_token: Mapped[str | None] = mapped_column(String(256))
    reply_token_expires_at: Mapped[datetime | None]
    retry_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed|suppressed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    sent_via: Mapped[str | None] = mapped_column(String(16))  # reply | push
    # An attempt may have reached the platform without our hearing back (a timeout, a crash between
    # sending and recording). Sticky until a send is confirmed: a later "reply token used" then means
    # that attempt got through, whatever errors came in between.
    outcome_unknown: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class FaqEntry(Base):
    __tablename__ = "faq_entries"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    audience: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    paraphrases: Mapped[list[Any]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    quick_replies: Mapped[list[Any]] = mapped_column(default=list)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(200))
    # A claim about the hub's own services the hub must check (`confirm:` in the files), who confirmed
    # it when, and what they confirmed (FaqItem.claim_digest): a changed claim or answer is open again.
    confirm: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirmed_digest: Mapped[str | None] = mapped_column(String(64))
    reviewed: Mapped[str | None] = mapped_column(String(10))  # last checked against its source (ISO date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# Every active resource of a type, ranked (knowledge.search) without reading the table: the type, the
# box around a location, what the ranking and the filters look at, and the id.
_TYPE_RANK = ("type", "latitude", "longitude", "active", "accepting_new", "around_the_clock", "id")


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (
        Index("ix_resources_type_municipality", "type", "municipality"),
        Index("ix_resources_municipality", "municipality"),
        Index("ix_resources_location", "latitude", "longitude"),
        # The JSON capabilities go along too: PostgreSQL cannot order json, so there they are INCLUDEd;
        # SQLite has no INCLUDE, so there they are the last key column. One index on each backend.
        Index("ix_resources_type_rank_pg", *_TYPE_RANK, postgresql_include=["capabilities"]).ddl_if(
            dialect="postgresql"),
        Index("ix_resources_type_rank_sqlite", *_TYPE_RANK, "capabilities").ddl_if(dialect="sqlite"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    import_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    municipality: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(40))
    hours: Mapped[str | None] = mapped_column(String(200))
    around_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    capabilities: Mapped[list[Any]] = mapped_column(default=list)
    accepting_new: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    source_row: Mapped[int | None] = mapped_column(Integer)
    external_code: Mapped[str | None] = mapped_column(String(40))
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Vacancy(Base):
    """Short-stay beds free as of a date, as the facility last reported."""

    __tablename__ = "vacancies"

    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    available_beds: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # nurse | msw | coordinator | admin
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationLabel(Base):
    """A label staff put on a conversation (「要訪問」「ケアマネ連絡済」); the queue filters by it."""

    __tablename__ = "conversation_labels"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    label: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedReply(Base):
    """A staff reply kept for reuse (定型文), chosen by its short code; {利用者名} {拠点名} {担当者名} are
    filled for the conversation it is used in (zaitaku_desk.canned)."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DutySlot(Base):
    """The weekly duty rota (当番): who is called, in order, outside business hours on each kind of day.
    `day` 0–6 is Monday–Sunday, 7 a holiday or closure; `position` 1 is called first."""

    __tablename__ = "duty_slots"

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))


class DutyOverride(Base):
    """Who is on duty on one date instead of the weekly rota (a swap, a holiday cover)."""

    __tablename__ = "duty_overrides"

    on: Mapped[date] = mapped_column(Date, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))


class ConsoleSession(Base):
    """A console login: the cookie holds a random secret, only its hash is stored; logout deletes the row,
    and a new or revoked API token ends every session of its staff member."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class UnansweredQuestion(Base):
    """A message the knowledge could not answer (or whose answer did not help): material for new FAQ."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))  # no_match | unhelpful
    candidates: Mapped[list[Any]] = mapped_column(default=list)  # [{"faq_id", "score"}], best first
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    handled_at: Mapped[datetime | None]
    handled_faq_id: Mapped[str | None] = mapped_column(String(100))


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # "staff:<id>", "system", "cli"
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any] | None]


class KnowledgeVersion(Base):
    """One row: bumped in the same transaction as any FAQ change (db.session), read by every process,
    which rebuilds its matcher when the number moves (zaitaku_desk.runtime)."""

    __tablename__ = "knowledge_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Session, "before_flush")
def _bump_knowledge_version(session: Session, _context: Any, _instances: Any) -> None:
    """Whatever writes an FAQ entry (API, console, CLI, bundled load) moves the version with it."""
    if any(isinstance(row, FaqEntry) for row in (*session.new, *session.dirty, *session.deleted)):
        session.execute(update(KnowledgeVersion).where(KnowledgeVersion.id == 1)
                        .values(version=KnowledgeVersion.version + 1, changed_at=utcnow()))
