"""The terminal as a channel: `zaitaku-desk chat` talks to the same core as LINE does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.base import OutboxRow, SendResult
from bot.messages import Reply

NAME = "terminal"


class TerminalChannel:
    name = NAME

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self.write = write
        self.options: list[dict[str, Any]] = []  # the quick replies last shown, for "1", "2", …

    def parse(self, raw: dict[str, Any]) -> None:
        return None  # the terminal chat hands its envelopes to the pipeline itself; nothing is stored

    def render(self, replies: list[Reply]) -> list[dict[str, Any]]:
        return [{"messages": [{"text": r.text, "options": [
            {"label": q.label, "text": q.text, "data": q.data} for q in r.quick_replies]} for r in replies]}]

    async def send(self, row: OutboxRow) -> SendResult:
        for message in row.payload["messages"]:
            self.write(f"\nデスク> {message['text']}")
            if message["options"]:
                self.options = message["options"]
                self.write("  " + "  ".join(f"[{i}] {o['label']}" for i, o in enumerate(self.options, 1)))
        return SendResult("sent", via="push")

    def choice(self, typed: str) -> dict[str, Any] | None:
        """The quick reply picked by number, if the person typed one."""
        if typed.isdigit() and 1 <= int(typed) <= len(self.options):
            return self.options[int(typed) - 1]
        return None

    async def aclose(self) -> None:
        return None
