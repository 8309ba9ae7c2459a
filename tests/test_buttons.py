"""Buttons carry their meaning: every button the bot offers is a postback naming what it does (an FAQ
entry, a resource search, a hand-off), so pressing it never goes back through the router as text; the
alternatives offered to a resident are resident entries; courtesies are answered as what they are.
Real server, signed bodies, the fake LINE platform."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from sqlalchemy import select

from bot.messages import postback_fields
from db.models import Contact, Conversation, Message
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user
from zaitaku_desk.kb_commands import offline_desk


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def test_every_follow_up_button_of_the_bundled_knowledge_is_a_postback_with_a_meaning() -> None:
    desk = offline_desk()
    meanings = {text: postback_fields(button.data) for text, button in desk.buttons.items()}
    assert all(m.get("action") in ("faq", "search", "handoff") for m in meanings.values()), \
        [t for t, m in meanings.items() if m.get("action") not in ("faq", "search", "handoff")]
    assert meanings["訪問看護ステーションを探す"] == {"action": "search", "q": "訪問看護ステーションを探す"}
    assert meanings["居宅介護支援事業所を探す"]["action"] == "search"
    assert meanings["ケアマネジャーとは"] == {"action": "faq", "faq": "resident.care_manager"}
    assert meanings["地域包括支援センターとは"] == {"action": "faq", "faq": "resident.community_support_center"}
    assert meanings["担当者と話したい"]["action"] == "handoff"
    assert meanings["災害への備えは？"] == {"action": "faq", "faq": "resident.disaster_preparedness"}  # a paraphrase
    assert desk._button("明日の天気は？", "resident").data is None  # nothing fits: no meaning made up
    assert [postback_fields(b.data).get("faq") for b in desk.starters[:-1]] == \
        ["resident.visiting_nurse", "resident.costs", "resident.consultation_desk"]


def _buttons(delivery: object) -> list[dict]:
    return [item["action"] for item in delivery.messages[-1]["quickReply"]["items"]]  # type: ignore[attr-defined]


def test_a_search_button_under_an_answer_searches_and_never_hands_off(desk: DeskServer, line: FakeLinePlatform,
                                                                       db: Database) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="訪問看護ってどうやって頼むの？"))
    buttons = _buttons(line.wait_for_deliveries(1)[0])
    search = next(b for b in buttons if b["label"] == "訪問看護ステーションを探す")
    assert search["type"] == "postback" and search["displayText"] == "訪問看護ステーションを探す"
    assert unquote(search["data"]) == "action=search&q=訪問看護ステーションを探す"
    assert all(b["type"] == "postback" for b in buttons)  # nothing the bot offers goes back as text
    desk.press(user, search["data"])
    found = "\n".join(m.get("text", "") for m in line.wait_for_deliveries(2)[1].messages)
    assert "訪問看護" in found and "おつなぎします" not in found
    with db.session() as session:
        conversation = session.scalars(select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
                                       .where(Contact.external_id == user)).one()
        said = session.scalars(select(Message.text).where(Message.conversation_id == conversation.id,
                                                          Message.kind == "postback")).all()
    assert conversation.status == "bot" and said == ["訪問看護ステーションを探す"]


def test_a_resident_is_offered_resident_entries_only(desk: DeskServer, line: FakeLinePlatform) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="事業計画書はどこに出すの？"))
    feedback = [postback_fields(b["data"]) for b in _buttons(line.wait_for_deliveries(1)[0])
                if postback_fields(b["data"]).get("value") == "no"]
    assert feedback, "the answer offers 「解決しない」"
    offered = [a for a in feedback[0].get("alt", "").split(",") if a]
    assert not any(a.startswith(("program.", "wide_area.")) for a in offered), offered


def test_greetings_thanks_and_goodbyes_each_get_their_own_answer(desk: DeskServer, line: FakeLinePlatform) -> None:
    answers = []
    for n, text in enumerate(["こんにちは", "ありがとうございました", "おやすみなさい"]):
        user = new_user()
        desk.post_line(line_body("message-text", user=user, text=text))
        answers.append(line.wait_for_deliveries(n + 1)[n].answer[0]["text"])
    greeting, thanks, goodbye = answers
    assert greeting.startswith("こんにちは。") and thanks.startswith("どういたしまして") and "お大事に" in goodbye
