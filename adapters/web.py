"""The try-out page's channel: a person chats in the browser through the same core as LINE.

Input: the page posts {session, kind, text|postback}; the pipeline parses it like any stored event.
Output: replies are already recorded as messages by the pipeline and the page reads them back, so
sending only confirms delivery.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.base import Envelope, OutboxRow, SendResult
from bot.messages import Inbound, Reply


class WebChannel:
    name = "web"

    def parse(self, raw: dict[str, Any]) -> Envelope | None:
        session = str(raw.get("session") or "")
        if not session:
            return None
        kind = raw.get("kind")
        if kind == "postback":
            inbound = Inbound(kind="postback", postback=str(raw.get("postback") or ""),
                              text=str(raw["text"]) if raw.get("text") else None)
        elif kind == "text":
            inbound = Inbound(kind="text", text=str(raw.get("text") or ""))
        else:
            return None
        at = raw.get("at")
        return Envelope(contact_id=session, reply_target=session, inbound=inbound,
                        occurred_at=datetime.fromtimestamp(float(at), UTC) if at else None,
                        display_name="お試しページの利用者")

    def render(self, replies: list[Reply]) -> list[dict[str, Any]]:
        return [{"texts": [r.text for r in replies],
                 "quick_replies": [{"label": q.label, "text": q.text, "data": q.data}
                                   for r in replies for q in (getattr(r, "quick_replies", None) or ())]}]

    async def send(self, row: OutboxRow) -> SendResult:
        return SendResult("sent", via="push")

    async def aclose(self) -> None:
        return None
