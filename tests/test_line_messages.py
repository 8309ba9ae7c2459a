"""Every kind of reply as LINE messages, checked against the SDK's own models (line-bot-sdk v3 validates
each field as the Messaging API would) and, for the ones that matter most, their exact JSON; then
resource cards and the 119 call button through the real server at the fake platform."""

from __future__ import annotations

import json

import httpx
import pytest
from linebot.v3.messaging import ReplyMessageRequest

from adapters.line import LineChannel
from bot import replies
from bot.messages import QuickReply, ResourceCard
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import LINE_SECRET, LINE_TOKEN, DeskServer, line_body, new_user

CARD = ResourceCard(name="すざか訪問看護ステーション（サンプル）", type_label="訪問看護ステーション", municipality="須坂市",
                    address="須坂市架空町1-2", phone="000-0000-0000", hours="平日 9:00-17:00",
                    capabilities=("人工呼吸器", "小児"), around_the_clock=True, sample=True,
                    latitude=36.65, longitude=138.31)
FULL = ResourceCard(name="ながの短期入所（サンプル）", type_label="短期入所", municipality="長野市", address=None,
                    phone="026-000-0000", hours=None, vacancy="満床（2026-12-01時点）", full=True)
KINDS = {
    "an FAQ answer with its buttons": replies.faq_answer("答え", "次に", "出典: 一般", [
        replies.button("訪問看護ステーションを探す", "action=search&q=%E8%A8%AA"), replies.button("費用は？", "action=faq&faq=resident.costs")],
        "resident.visiting_nurse", ["resident.costs"], offer_role="msw"),
    "resources as cards": [replies.resources("須坂市の訪問看護ステーション", [CARD, FULL], True)],
    "no resource found": [replies.resources("須坂市の短期入所", [], False)],
    "the 119 reply": [replies.emergency(replies.CONSULT, replies.emergency_told(False, "看護師"))],
    "the red-flag check": [replies.red_flag_check("今、次のどれかに当てはまりますか？", [("breathing", "息が苦しい・していない"),
                                                                               ("none", "どれもない")])],
    "a hand-off only offered": [replies.handoff_offer("nurse", replies.CONSULT)],
    "the greeting": [replies.greeting("架空の拠点", "平日 9:00-17:00",
                                      (QuickReply("訪問看護とは", "訪問看護とは", "action=faq&faq=resident.visiting_nurse"),))],
    "a closed emergency's follow-up": [replies.after_emergency()],
}


@pytest.fixture(scope="module")
def channel() -> LineChannel:
    return LineChannel(LINE_SECRET, LINE_TOKEN, "http://127.0.0.1:9", timeout=1.0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_reply_kind_is_a_valid_messaging_api_request(channel: LineChannel, fake_line: FakeLinePlatform,
                                                           kind: str) -> None:
    for call in channel.render(KINDS[kind]):
        assert 1 <= len(call["messages"]) <= 5
        parsed = ReplyMessageRequest.from_dict({"replyToken": "x", **call})  # the SDK's models: types and shapes
        assert parsed is not None and len(parsed.messages) == len(call["messages"])
        # The fake platform's limits (lengths, counts, sizes) that the SDK's models do not check.
        sent = httpx.post(f"{fake_line.url}/v2/bot/message/push", json={"to": "Ucheck", **call},
                          headers={"Authorization": f"Bearer {LINE_TOKEN}"}, timeout=10)
        assert sent.status_code == 200, sent.text
        for message in call["messages"]:
            for item in (message.get("quickReply") or {}).get("items", []):
                assert item["action"]["type"] == "postback", item  # nothing the bot offers goes back as text
                assert 1 <= len(item["action"]["label"]) <= 20


def test_the_119_reply_is_the_instruction_then_a_call_button(channel: LineChannel) -> None:
    (call,) = channel.render([replies.emergency(replies.CONSULT, replies.emergency_told(False, "看護師"))])
    text, button = call["messages"]
    assert text["type"] == "text" and text["text"].startswith("🚑 今すぐ119番に電話してください。")
    assert button == {"type": "flex", "altText": "119に電話する", "contents": {
        "type": "bubble", "size": "kilo", "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "style": "primary", "color": "#C62828", "height": "md",
             "action": {"type": "uri", "label": "📞 119に電話する", "uri": "tel:119"}}]}}}


def test_a_resource_card_says_what_a_resident_needs_and_a_full_home_is_not_a_vacancy(channel: LineChannel) -> None:
    (call,) = channel.render(KINDS["resources as cards"])
    summary, carousel = call["messages"]
    assert summary["text"].startswith("須坂市の訪問看護ステーション：空きあり0件（満床1件も表示）")
    assert carousel["altText"] == "須坂市の訪問看護ステーション：空きあり0件（満床1件も表示）"
    sample, full = carousel["contents"]["contents"]
    rows = {box["contents"][0]["text"]: box["contents"][1] for box in sample["body"]["contents"][2:]}
    assert rows["受付"]["text"] == "平日 9:00-17:00" and rows["24時間"]["text"] == "夜間・休日も対応"
    assert rows["受け入れ"]["text"] == "人工呼吸器・小児"
    call_button, map_button = sample["footer"]["contents"]
    assert call_button["action"] == {"type": "postback", "label": "📞 電話する（サンプル）", "data": "action=sample",
                                     "displayText": "電話する"}  # a fictional number is never dialled
    assert map_button["action"]["uri"] == "https://www.google.com/maps/search/?api=1&query=36.65,138.31"
    full_rows = {box["contents"][0]["text"]: box["contents"][1] for box in full["body"]["contents"][2:]}
    assert full_rows["空き"]["text"] == "満床（2026-12-01時点）" and full_rows["空き"]["color"] == "#C62828"
    assert "24時間" not in full_rows  # shown only when true
    assert full["footer"]["contents"][0]["action"] == {"type": "uri", "label": "📞 電話する", "uri": "tel:0260000000"}


def test_cards_and_the_call_button_reach_the_platform(desk: DeskServer, line: FakeLinePlatform) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="須坂市の訪問看護ステーションを探しています"))
    messages = line.wait_for_deliveries(1)[0].messages
    carousel = next(m for m in messages if m["type"] == "flex")
    assert carousel["contents"]["type"] == "carousel" and carousel["contents"]["contents"]
    sample = carousel["contents"]["contents"][0]["footer"]["contents"][0]["action"]
    assert sample["data"] == "action=sample"
    desk.press(user, sample["data"])
    assert "サンプルデータ" in line.wait_for_deliveries(2)[1].answer[0]["text"]

    desk.post_line(line_body("message-text", user=new_user(), text="父が息をしていない"))
    emergency = line.wait_for_deliveries(3)[2].messages
    assert json.dumps(emergency, ensure_ascii=False).count("tel:119") == 1
