"""What every channel adapter provides to the pipeline and the outbox."""

from __future__ import annotations

from dataclasses import dataclass
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
class SendResult:
    outcome: Literal["sent", "retry", "failed"]
    via: str | None = None  # reply | push
    error: str | None = None
    retry_after: float | None = None  # seconds, when the platform said so (429 Retry-After)


class OutboxRow(Protocol):
    target: str
    payload: dict[str, Any]
    reply_token: str | None
    reply_token_expires_at: datetime | None
    retry_key: str
    attempts: int
    last_error: str | None


class Channel(Protocol):
    name: str

    def render(self, replies: list[Reply]) -> list[dict[str, Any]]:
        """Channel payloads, each one deliverable call (LINE: up to 5 messages)."""

    async def send(self, row: OutboxRow) -> SendResult: ...

    async def aclose(self) -> None: ...
