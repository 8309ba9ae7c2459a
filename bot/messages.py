"""The neutral messages the core takes and gives; adapters translate them to and from a channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

InboundKind = Literal[
    "text", "location", "sticker", "image", "video", "audio", "file", "postback",
    "follow", "unfollow", "join", "leave", "unsupported",
]


@dataclass(frozen=True)
class Inbound:
    """One thing a person did on a channel, stripped of the channel's shape."""

    kind: InboundKind
    text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    postback: str | None = None
    in_group: bool = False  # a LINE group/room or a Slack channel, not a 1:1 chat
    addressed: bool = True  # in a group: the bot was mentioned
    professional: bool = False  # written by staff or a care manager (Slack), not by a resident


def postback_fields(data: str | None) -> dict[str, str]:
    """The fields of a button's data (「action=redflag&answer=none」), the one grammar the bot writes."""
    return {key: unquote(value) for key, _, value in (part.partition("=") for part in (data or "").split("&") if part)}


@dataclass(frozen=True)
class QuickReply:
    """A tappable option. `text` is what the person appears to send; `data` marks a postback."""

    label: str
    text: str
    data: str | None = None


@dataclass(frozen=True)
class ResourceCard:
    name: str
    type_label: str
    municipality: str | None
    address: str | None
    phone: str | None
    hours: str | None
    capabilities: tuple[str, ...] = ()
    around_the_clock: bool = False
    vacancy: str | None = None  # 「空き2床（2026-11-20時点）」
    distance_km: float | None = None
    sample: bool = False
    full: bool = False  # 満床: reported with no free bed
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    quick_replies: tuple[QuickReply, ...] = ()
    cards: tuple[ResourceCard, ...] = ()
    urgent: bool = False  # the 119 instruction: goes out even while a person owns the conversation
    more: Any = None  # where a longer list continues (bot.desk.MorePage), for channels that can page
    call: str | None = None  # a number to offer as a call button (the 119 reply), where a channel can
    summary: str | None = None  # with cards: the text to show beside them, for channels that draw cards


@dataclass
class Outcome:
    """What the core decided for one inbound: replies plus what happens to the conversation."""

    replies: list[Reply] = field(default_factory=list)
    route: str | None = None
    faq_id: str | None = None
    event: str | None = None  # a conversation event for bot.conversation.transition
    role: str | None = None
    urgency: str | None = None
    consent_notice: bool = False  # the privacy notice went out with these replies
    relay_to_staff: bool = False  # a person owns or awaits this conversation: show it to them
    unanswered: bool = False  # nothing in the knowledge fit, or the answer did not help: worth a new FAQ entry
    said: str | None = None  # what a pressed button says, for the transcript (LINE sends only its data)
    candidates: list[tuple[str, float]] = field(default_factory=list)  # the FAQ entries the bot had, best first
