"""What every channel adapter provides to the pipeline and the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.messages import Inbound, Reply


@dataclass(frozen=True)
class Envelope:
    """A parsed inbound event: who, where to answer, and the neutral message."""

    contact_id: str  # the person (LINE userId, Slack user id, try-out session id)
    reply_target: str  # where a push goes (the user, or the group/room it came from)
    inbound: Inbound
    reply_token: str | None = None
    occurred_at: datetime | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class StaffMessage:
    """A staff member wrote in a conversation's staff thread (not to the core: to the hand-off)."""

    thread_channel: str
    thread_ts: str
    staff_external_id: str  # the staff member's id on that tool (Slack user id)
    text: str
    message_ts: str


@dataclass(frozen=True)
class StaffAct:
    """A staff member pressed a conversation's button on their tool (take / resolve / return)."""

    act: str  # claim | resolve | return_to_bot
    conversation_id: int
    staff_external_id: str
    answer_to: str  # where the tool shows the staff member a refusal (Slack: the channel id)


StaffInput = StaffMessage | StaffAct


@dataclass(frozen=True)
class SendResult:
    outcome: Literal["sent", "retry", "failed"]
    via: str | None = None  # reply | push
    error: str | None = None
    retry_after: float | None = None  # seconds, when the platform said so (429 Retry-After)
    uncertain: bool = False  # the call may have reached the platform (a timeout): see outbox.outcome_unknown


class OutboxRow(Protocol):
    target: str
    payload: dict[str, Any]
    reply_token: str | None
    reply_token_expires_at: datetime | None
    retry_key: str
    attempts: int
    last_error: str | None
    outcome_unknown: bool


class Channel(Protocol):
    """A channel adapter: it translates, and nothing else (no database, no business rules)."""

    name: str

    def parse(self, raw: dict[str, Any]) -> Envelope | StaffInput | None:
        """A stored event as the core or the staff commands read it; None: nothing to answer."""

    def render(self, replies: list[Reply]) -> list[dict[str, Any]]:
        """Channel payloads, each one deliverable call (LINE: up to 5 messages)."""

    async def send(self, row: OutboxRow) -> SendResult: ...

    async def aclose(self) -> None: ...


@dataclass
class ConversationSummary:
    """A conversation as staff see it beside its buttons (the staff channel renders it)."""

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


class StaffDirectory(Protocol):
    """What a staff channel asks of the desk while sending (sync; called in a thread)."""

    def summary(self, conversation_id: int) -> ConversationSummary: ...

    def thread(self, conversation_id: int) -> tuple[str, str] | None: ...

    def link_thread(self, conversation_id: int, channel: str, ts: str) -> None: ...


class DeskIngress(Protocol):
    """What a channel's request side may ask of the desk: store events, or answer at once."""

    async def store(self, channel: str, events: list[tuple[str, dict[str, Any]]]) -> int: ...

    async def ask(self, text: str, offset: int = 0) -> list[Reply]: ...

    async def faq(self, faq_id: str) -> list[Reply]: ...

    async def staff_command(self, staff_external_id: str, text: str) -> str: ...
