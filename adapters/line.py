"""LINE Messaging API, with line-bot-sdk v3: verify, parse, render and deliver."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import ApiException, AsyncApiClient, Configuration
from linebot.v3.webhook import SignatureValidator
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    JoinEvent,
    LeaveEvent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from adapters.base import Envelope, OutboxRow, SendResult
from bot.messages import Inbound, QuickReply, Reply, ResourceCard
from bot.replies import card_rows, dial_number

log = logging.getLogger(__name__)

NAME = "line"
MAX_MESSAGES_PER_CALL = 5
MAX_TEXT = 5000
MAX_QUICK_REPLIES = 13
MAX_BUBBLES = 12  # a carousel's cards
MAX_ALT_TEXT = 400
URGENT_RED = "#C62828"
REPLY_UNCERTAIN = "reply outcome unknown: "
MAX_EVENT_ID = 128  # inbound_events.event_id; LINE's are 26 characters
REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"
_MEDIA = {"image": "image", "video": "video", "audio": "audio", "file": "file", "sticker": "sticker",
          "imageSet": "image"}


class WebhookError(ValueError):
    """A request the desk refuses, with the HTTP status and a reason for the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class LineChannel:
    name = NAME

    def __init__(self, channel_secret: str, access_token: str, api_base_url: str, timeout: float) -> None:
        self._validator = SignatureValidator(channel_secret)
        self._config = Configuration(access_token=access_token, host=api_base_url.rstrip("/"))
        self._timeout = timeout
        self._client: AsyncApiClient | None = None

    # -- inbound ---------------------------------------------------------------------------------
    def verify(self, body: bytes, signature: str | None) -> None:
        """Check X-Line-Signature against the raw bytes, before anything is parsed."""
        if not signature:
            raise WebhookError(401, "X-Line-Signature header is missing")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            # LINE signs UTF-8 JSON; these bytes cannot be a webhook whatever the signature says.
            raise WebhookError(400, "body is not valid UTF-8") from None
        try:
            valid = self._validator.validate(text, signature)
        except (InvalidSignatureError, ValueError):
            valid = False
        if not valid:
            raise WebhookError(401, "X-Line-Signature does not match the body")

    def events(self, body: bytes) -> list[tuple[str, dict[str, Any]]]:
        """(event id, raw event) for each event of a verified body; a clear error if it is not one."""
        try:
            payload = json.loads(body.decode("utf-8"), parse_constant=not_json)
        except UnicodeDecodeError:
            raise WebhookError(400, "body is not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise WebhookError(400, f"body is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        except RecursionError:
            raise WebhookError(400, "body is nested too deeply") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            raise WebhookError(400, "body must be a JSON object with an 'events' list")
        out = []
        for event in payload["events"]:
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                raise WebhookError(400, "each event must be an object with a 'type'")
            given = event.get("webhookEventId")
            if given is not None and not (isinstance(given, str) and 0 < len(given) <= MAX_EVENT_ID):
                raise WebhookError(400, f"webhookEventId must be a string of 1 to {MAX_EVENT_ID} characters")
            for key in ("source", "message", "postback"):
                if event.get(key) is not None and not isinstance(event[key], dict):
                    raise WebhookError(400, f"'{key}' of an event must be an object")
            out.append((event_id(event), event))
        return out

    def parse(self, raw: dict[str, Any]) -> Envelope | None:
        """The neutral form of one stored event, or None for events the desk does not act on."""
        if raw.get("mode") == "standby":
            return None  # another channel (module / chat control) holds this chat: stay silent
        source = raw.get("source") or {}
        user = source.get("userId")
        where = source.get("groupId") or source.get("roomId") or user
        if not where:
            return None
        in_group = source.get("type") in ("group", "room")
        occurred = _timestamp(raw.get("timestamp"))
        inbound = self._inbound(raw, in_group)
        if inbound is None:
            return None
        return Envelope(contact_id=user or where, reply_target=where, inbound=inbound,
                        reply_token=raw.get("replyToken"), occurred_at=occurred)

    def _inbound(self, raw: dict[str, Any], in_group: bool) -> Inbound | None:
        try:
            event = Event.from_dict(raw)
        except ValueError:
            event = None
        if isinstance(event, MessageEvent):
            content = event.message
            if isinstance(content, TextMessageContent):
                return Inbound("text", text=content.text, in_group=in_group,
                               addressed=not in_group or _mentions_bot(content))
            if isinstance(content, LocationMessageContent):
                return Inbound("location", latitude=content.latitude, longitude=content.longitude,
                               text=content.address, in_group=in_group)
            return Inbound(_MEDIA.get(getattr(content, "type", ""), "unsupported"), in_group=in_group)  # type: ignore[arg-type]
        if isinstance(event, PostbackEvent):
            return Inbound("postback", postback=event.postback.data, in_group=in_group)
        if isinstance(event, FollowEvent):
            return Inbound("follow")
        if isinstance(event, UnfollowEvent):
            return Inbound("unfollow")
        if isinstance(event, JoinEvent):
            return Inbound("join", in_group=True)
        if isinstance(event, LeaveEvent):
            return Inbound("leave", in_group=True)
        if raw.get("type") == "message":
            # The SDK refused the shape (e.g. a text without quoteToken): keep the words anyway.
            message = raw.get("message") or {}
            if message.get("type") == "text" and isinstance(message.get("text"), str):
                return Inbound("text", text=message["text"], in_group=in_group, addressed=not in_group)
            return Inbound(_MEDIA.get(message.get("type", ""), "unsupported"), in_group=in_group)  # type: ignore[arg-type]
        return None  # unsend, delivery, beacon, memberJoined, unknown types…: nothing to say

    # -- outbound --------------------------------------------------------------------------------
    def render(self, replies: list[Reply]) -> list[dict[str, Any]]:
        messages = [message for reply in replies for message in _messages(reply)]
        return [{"messages": messages[i:i + MAX_MESSAGES_PER_CALL]}
                for i in range(0, len(messages), MAX_MESSAGES_PER_CALL)]

    async def send(self, row: OutboxRow) -> SendResult:
        now = datetime.now(UTC)
        if row.reply_token and row.reply_token_expires_at and now < row.reply_token_expires_at:
            try:
                await self._post(REPLY_PATH, {"replyToken": row.reply_token, **row.payload})
                return SendResult("sent", via="reply")
            except ApiException as exc:
                if exc.status != 400:
                    return _classify(exc, "reply")
                if row.outcome_unknown:
                    # An earlier reply of ours timed out (or its worker died mid-send) and the fresh
                    # token is now used up: that reply got through. Pushing would say it twice.
                    return SendResult("sent", via="reply")
                log.info("reply token refused; pushing instead")
            except (TimeoutError, aiohttp.ClientError) as exc:
                # A reply cannot carry a retry key, so it is retried as a reply while the token
                # is fresh (see above) and becomes a keyed push only once the token expired.
                return SendResult("retry", via="reply", error=f"{REPLY_UNCERTAIN}{type(exc).__name__}",
                                  uncertain=True)
        try:
            await self._post(PUSH_PATH, {"to": row.target, **row.payload}, {"X-Line-Retry-Key": row.retry_key})
            return SendResult("sent", via="push")
        except ApiException as exc:
            if exc.status == 409:
                return SendResult("sent", via="push")  # accepted earlier under this retry key
            return _classify(exc, "push")
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendResult("retry", via="push", error=f"push: {type(exc).__name__}")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """POST a payload `render` built, through the SDK's client (auth, session, ApiException).

        The payload goes as it is: rebuilding it as the SDK's request models first, only to turn
        them back into JSON, cost more CPU than everything else in a send. LINE checks the shape.
        """
        # The SDK's aiohttp session needs a running loop: create it on first use, not at import.
        if self._client is None:
            self._client = AsyncApiClient(self._config)
        await asyncio.wait_for(self._client.call_api(
            path, "POST", header_params={"Content-Type": "application/json", **(headers or {})}, body=body,
            auth_settings=["Bearer"], response_types_map={}), self._timeout)


def event_id(event: dict[str, Any]) -> str:
    """LINE's webhookEventId; old-format events without one are keyed by their content."""
    given = event.get("webhookEventId")
    if isinstance(given, str) and given:
        return given
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"sha256:{digest[:40]}"


def _classify(exc: ApiException, via: str) -> SendResult:
    status = exc.status or 0
    if status == 429 or status >= 500:
        retry_after = None
        headers = exc.headers or {}
        value = headers.get("Retry-After") or headers.get("retry-after")
        if value:
            try:
                retry_after = float(value)
            except ValueError:
                retry_after = None
        return SendResult("retry", via=via, error=f"{via}: HTTP {status}", retry_after=retry_after)
    return SendResult("failed", via=via, error=f"{via}: HTTP {status} {_reason(exc)}")


def _reason(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message", ""))[:200]
    except (ValueError, TypeError):
        return ""


def _mentions_bot(content: TextMessageContent) -> bool:
    mention = content.mention
    return bool(mention and any(getattr(m, "is_self", False) for m in mention.mentionees or []))


def not_json(constant: str) -> None:
    """NaN and Infinity are not JSON (Python reads them; PostgreSQL would refuse to store them)."""
    raise json.JSONDecodeError(f"{constant} is not JSON", constant, 0)


def _timestamp(ms: Any) -> datetime | None:
    """LINE's milliseconds as a time; None when it is not one (not a number, infinite, out of range)."""
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _messages(reply: Reply) -> list[dict[str, Any]]:
    """One reply as LINE messages: its text, then (for resources) a carousel of cards or (for the 119
    reply) a call button; its quick replies on the last, where LINE shows them."""
    if reply.cards:
        messages = [_text(reply.summary or reply.text), _carousel(reply)]
    elif reply.call:
        messages = [_text(reply.text), _call(reply.call)]
    else:
        messages = [_text(reply.text)]
    if reply.quick_replies:
        messages[-1]["quickReply"] = {"items": [_action(q) for q in reply.quick_replies[:MAX_QUICK_REPLIES]]}
    return messages


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"}


def _call(number: str) -> dict[str, Any]:
    button = {"type": "button", "style": "primary", "color": URGENT_RED, "height": "md",
              "action": {"type": "uri", "label": f"📞 {number}に電話する", "uri": f"tel:{number}"}}
    return {"type": "flex", "altText": f"{number}に電話する",
            "contents": {"type": "bubble", "size": "kilo",
                         "body": {"type": "box", "layout": "vertical", "contents": [button]}}}


def _carousel(reply: Reply) -> dict[str, Any]:
    alt = (reply.summary or reply.text).splitlines()[0]
    return {"type": "flex", "altText": alt[:MAX_ALT_TEXT],
            "contents": {"type": "carousel", "contents": [_bubble(card) for card in reply.cards[:MAX_BUBBLES]]}}


def _bubble(card: ResourceCard) -> dict[str, Any]:
    """A resource as LINE users know one: name, kind and town, what it takes, hours (24-hour shown only
    when true), vacancy with its date (満床 in red), and buttons to call and to open the map."""
    kind = " · ".join(filter(None, [card.type_label, card.municipality]))
    body: list[dict[str, Any]] = [
        {"type": "text", "text": card.name, "weight": "bold", "size": "lg", "wrap": True},
        {"type": "text", "text": kind or " ", "size": "sm", "color": "#555555", "wrap": True},
    ]
    for label, value in card_rows(card):
        body.append({"type": "box", "layout": "baseline", "spacing": "sm", "contents": [
            {"type": "text", "text": label, "size": "sm", "color": "#777777", "flex": 2},
            {"type": "text", "text": value, "size": "sm", "wrap": True, "flex": 5,
             "color": URGENT_RED if label == "空き" and card.full else "#111111"}]})
    buttons = []
    if card.sample:
        buttons.append({"type": "button", "style": "secondary", "height": "sm",
                        "action": {"type": "postback", "label": "📞 電話する（サンプル）", "data": "action=sample",
                                   "displayText": "電話する"}})
    elif digits := dial_number(card):
        buttons.append({"type": "button", "style": "primary", "height": "sm",
                        "action": {"type": "uri", "label": "📞 電話する", "uri": f"tel:{digits}"}})
    if card.latitude is not None and card.longitude is not None:
        buttons.append({"type": "button", "style": "link", "height": "sm",
                        "action": {"type": "uri", "label": "🗺 地図で見る",
                                   "uri": f"https://www.google.com/maps/search/?api=1&query={card.latitude},{card.longitude}"}})
    bubble: dict[str, Any] = {"type": "bubble", "size": "kilo",
                              "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body}}
    if buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons}
    return bubble


def _action(option: QuickReply) -> dict[str, Any]:
    if option.data:
        action = {"type": "postback", "label": option.label, "data": option.data, "displayText": option.text}
    else:
        action = {"type": "message", "label": option.label, "text": option.text}
    return {"type": "action", "action": action}
