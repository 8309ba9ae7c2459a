"""The red-flag check end to end on LINE: a message that describes something acute but no certain red
flag gets the protocol's first questions; any sign brings the 119 reply, none the nurse with the
24-hour line and #7119 first. Real server, signed bodies, the fake LINE platform."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.faq_match import FaqMatcher
from bot.route_model import model
from bot.router import Router
from db.models import Message
from db.session import Database
from knowledge.faq import load_faq, load_synonyms
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, conversation_of, line_body, new_user

ACUTE = "母がトイレで立ち上がれなくなりました"


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def _answer(desk: DeskServer, user: str, answer: str) -> None:
    desk.press(user, f"action=redflag&answer={answer}")


def test_the_message_is_one_the_router_checks() -> None:
    decision = Router(FaqMatcher(load_faq(), load_synonyms()), model()).decide(ACUTE)
    assert decision.check and decision.route != "emergency"


def test_an_acute_message_gets_the_check_first_with_postback_buttons_and_the_nurse_is_told(desk: DeskServer, line: FakeLinePlatform,
                                                                     db: Database) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text=ACUTE))
    delivery = line.wait_for_deliveries(1)[0]
    assert delivery.kind == "reply"
    first = delivery.messages[0]["text"]
    assert first.startswith("念のため確認させてください。") and "今すぐ119番" in first
    actions = [item["action"] for item in delivery.messages[-1]["quickReply"]["items"]]
    assert {a["type"] for a in actions} == {"postback"}
    assert actions[0] == {"type": "postback", "label": "呼びかけに反応しない",
                          "data": "action=redflag&answer=unresponsive", "displayText": "呼びかけに反応しない"}
    assert actions[-1]["data"] == "action=redflag&answer=none"
    conversation = conversation_of(db, user)  # the nurse is told at once: an unanswered check still reaches a person
    assert (conversation.status, conversation.urgency, conversation.needed_role) == ("waiting", "normal", "nurse")


@pytest.mark.parametrize("answer", ["unresponsive", "breathing", "color", "stroke", "pain_bleeding"])
def test_any_sign_brings_the_119_reply_and_alerts_the_nurse(desk: DeskServer, line: FakeLinePlatform, db: Database,
                                                            answer: str) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text=ACUTE))
    line.wait_for_deliveries(1)
    _answer(desk, user, answer)
    delivery = line.wait_for_deliveries(2)[1]
    assert delivery.messages[0]["text"].startswith("🚑 今すぐ119番に電話してください。")
    conversation = conversation_of(db, user)
    assert (conversation.status, conversation.urgency, conversation.needed_role) == ("waiting", "emergency", "nurse")
    with db.session() as session:  # staff see what was pressed, though LINE sends only the button's data
        said = session.scalars(select(Message.text).where(Message.conversation_id == conversation.id,
                                                          Message.kind == "postback")).one()
    labels = {"unresponsive": "呼びかけに反応しない", "breathing": "息が苦しい・していない", "color": "顔色が悪い・唇が紫",
              "stroke": "話せない・顔や手足が動かない", "pain_bleeding": "激しい痛み・大量の出血"}
    assert said == labels[answer]


def test_none_hands_to_the_nurse_with_the_24_hour_line_and_7119_first(desk: DeskServer, line: FakeLinePlatform,
                                                                     db: Database) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text=ACUTE))
    line.wait_for_deliveries(1)
    _answer(desk, user, "none")
    text = "\n".join(m["text"] for m in line.wait_for_deliveries(2)[1].messages)
    assert text.index("訪問看護") < text.index("#7119") < text.index("おつなぎします")
    assert "看護師" in text
    conversation = conversation_of(db, user)
    assert (conversation.status, conversation.urgency, conversation.needed_role) == ("waiting", "normal", "nurse")
