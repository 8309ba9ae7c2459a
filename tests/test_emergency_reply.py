"""The 119 reply tells a resident truly who at the hub knows: the staff while the desk is open, the
person on duty outside hours, or that no one is on duty (with the 24-hour lines); nobody is named for
a search box that records no conversation, or when the rota cannot be read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.desk import ConversationView, Desk
from bot.faq_match import FaqMatcher
from bot.hours import BusinessHours
from bot.messages import Inbound
from bot.route_model import model
from bot.router import Router
from knowledge.faq import load_faq, load_synonyms
from knowledge.hub import load_hub_facts

HOURS = BusinessHours.parse("mon-fri 08:30-17:15", "12-29..01-03", "Asia/Tokyo")
OPEN = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 11:00 in Tokyo
CLOSED = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # Monday 23:00


@pytest.fixture(scope="module")
def build() -> Callable[..., Desk]:
    items = load_faq()
    router = Router(FaqMatcher(items, load_synonyms()), model())
    hub = {"hub_name": "テスト拠点", "hub_phone": "000-0000-0000", **load_hub_facts(None).values}

    def desk(now: datetime, on_duty: Callable[[datetime], str | None]) -> Desk:
        return Desk(router, items, lambda *a, **k: ("", []), HOURS, hub, clock=lambda: now, on_duty=on_duty)
    return desk


def first_reply(desk: Desk, text: str = "父が息をしていない") -> str:
    return desk.respond(Inbound("text", text=text), ConversationView("bot", True)).replies[0].text


def test_while_open_the_hubs_staff_know(build: Callable[..., Desk]) -> None:
    asked: list[datetime] = []
    reply = first_reply(build(OPEN, lambda now: asked.append(now) or "看護師"))
    assert reply.startswith("🚑 今すぐ119番") and reply.endswith("拠点のスタッフにもこの相談を知らせました。")
    assert asked == []  # the rota is not even read while the desk is open


def test_outside_hours_the_person_on_duty_or_that_no_one_is(build: Callable[..., Desk]) -> None:
    assert first_reply(build(CLOSED, lambda now: "MSW")).endswith("当番のMSWにもこの相談を知らせました。")
    nobody = first_reply(build(CLOSED, lambda now: None))
    assert "当番の担当者もいません" in nobody and "24時間の連絡先" in nobody and "知らせました" not in nobody


def test_no_one_is_named_when_the_rota_cannot_be_read_or_nothing_is_recorded(build: Callable[..., Desk]) -> None:
    def broken(now: datetime) -> str | None:
        raise RuntimeError("database gone")
    reply = first_reply(build(CLOSED, broken))
    assert reply.startswith("🚑 今すぐ119番") and "知らせました" not in reply and "当番" not in reply
    (search,) = build(CLOSED, lambda now: "看護師").answer_professional("父が息をしていない")
    assert search.text.startswith("🚑 今すぐ119番") and "知らせました" not in search.text
