"""Everything the bot says, in one place, in plain and kind Japanese."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.messages import QuickReply, Reply, ResourceCard
from bot.roles import RESIDENT_NAMES

ASK_PERSON = QuickReply("担当者と話したい", "担当者と話したい", data="action=handoff")
OFFER_DECLINED = "大丈夫です"
SAMPLE_NOTICE = "※これはサンプルデータ（架空の事業所）です。実在しないため電話をかけないでください。"
LABEL_MAX = 20  # LINE quick-reply labels are at most 20 characters
# The prefecture's 救急安心センター in its plainest form; the desk uses the hub's own line
# (`emergency_consult` in knowledge/data/hub.yaml), which says when and for whom it answers.
CONSULT = "#7119（救急安心センター）"


def urgent_line(consult: str) -> str:
    """What ends a reply that leaves someone waiting: the care team's 24-hour line first (someone cared
    for at home), 119 when life may be at risk, the 救急安心センター when unsure."""
    return f"体調が急に変わったら、まず主治医や訪問看護の24時間の連絡先へ。命に関わるときは119番、迷ったら{consult}へ。"


def emergency(consult: str, told: str) -> Reply:
    """The 119 instruction; `told` says truly who at the hub knows (emergency_told), or nothing."""
    return Reply(
        "🚑 今すぐ119番に電話してください。\n"
        "呼吸や意識がおかしい、強い痛み・出血・けいれんがあるときは、迷わず119番です。\n"
        f"救急車を呼ぶか迷うときは {consult}へ。" + (f"\n{told}" if told else ""),
        urgent=True, call="119",
    )


def emergency_told(desk_open: bool, on_duty: str | None) -> str:
    """Who at the hub has been told of an emergency: the staff while the desk is open, the person on
    duty (「看護師」) outside hours, or, with no one on duty, that no one is and whom to call instead."""
    if desk_open:
        return "拠点のスタッフにもこの相談を知らせました。"
    if on_duty:
        return f"当番の{on_duty}にもこの相談を知らせました。"
    return ("今は窓口の時間外で、当番の担当者もいません。"
            "119番のあと、主治医や訪問看護の24時間の連絡先にも知らせてください。")


# The rich menu's own items (adapters/line_menu.py): postback `action=menu&item=<key>`, and what the
# resident's bubble says when pressed.
MENU_SAID = {"consult": "相談したい", "nearby": "近くの事業所を探したい", "emergency": "緊急のとき"}


def emergency_guide(consult: str) -> Reply:
    """The rich menu's 「緊急のとき」: what to do, with the call button (no emergency is assumed)."""
    return Reply("命に関わるとき（息をしていない、呼びかけに反応しない、強い痛みや大量の出血、けいれんが続く）は、"
                 "すぐに119番へ。\nかかりつけ医や訪問看護の24時間の連絡先があれば、そちらへ。\n"
                 f"救急車を呼ぶか迷うときは {consult}へ。",
                 urgent=True, call="119")


def ask_where() -> Reply:
    """The rich menu's 「近くの事業所」: where and what to look for."""
    return Reply("お探しの事業所の種類と市町村を送ってください（例: 須坂市 訪問看護）。\n"
                 "LINEの「＋」から位置情報を送ると、近い順にご案内します。")


def sample_notice() -> Reply:
    """Pressed on a sample resource's call button: there is no one to call."""
    return Reply(SAMPLE_NOTICE)


def red_flag_check(question: str, options: Sequence[tuple[str, str]]) -> Reply:
    """The protocol's first questions (「はじめに必ず確認する症状」), asked when a message describes
    something acute now but no red flag is certain. `options`: (answer id, label); "none" last. The
    119 instruction is in the question itself, so no one waits on a button."""
    signs = "\n".join(f"・{label}" for answer, label in options if answer != "none")
    buttons = tuple(QuickReply(_label(label), label, data=f"action=redflag&answer={answer}") for answer, label in options)
    return Reply(f"{question}\n{signs}\n\n当てはまるものがあれば、ボタンを押す前に今すぐ119番に電話してください。",
                 quick_replies=buttons, urgent=True)


def red_flag_none(consult: str) -> str:
    return ("お答えありがとうございます。\n"
            "かかりつけ医や訪問看護の24時間の連絡先があれば、まずそちらへ電話してください。"
            f"救急車を呼ぶか迷うときは {consult}へ。\n様子が変わったら、すぐに119番へ。")


def privacy_notice(hub_name: str) -> str:
    return (
        f"【記録について】{hub_name}では、ご相談にお答えし担当者へ引き継ぐために、"
        "このトークのメッセージ・表示名・日時を記録します。"
        "個人が特定されない件数は、拠点の年次報告に使います。"
        "記録の削除を希望されるときは「記録を削除して」と送ってください。"
    )


def greeting(hub_name: str, hours: str, starters: Sequence[QuickReply] = ()) -> Reply:
    return Reply(
        f"友だち追加ありがとうございます。{hub_name}です。\n"
        "在宅医療や介護のこと、訪問看護・ショートステイ・費用・退院の準備などを、ふだんの言葉で送ってください。"
        f"担当の看護師・医療ソーシャルワーカーにもつなげます（受付: {hours}）。\n"
        "命に関わるときは、すぐに119番へ。",
        quick_replies=tuple(starters),
    )


def handoff(role: str, is_open: bool, hours: str, next_opening: str | None, consult: str) -> Reply:
    who = RESIDENT_NAMES.get(role, RESIDENT_NAMES["any"])
    if is_open:
        when = "受付時間内です。順番にお返事しますので、このトークでお待ちください。"
    else:
        when = (f"ただいま受付時間外です（受付: {hours}）。"
                + (f"{next_opening}以降に順番にお返事します。" if next_opening else "次の受付時間に順番にお返事します。"))
    return Reply(f"担当の{who}におつなぎします。\n{when}\n{urgent_line(consult)}")


def handoff_offer(role: str, consult: str) -> Reply:
    """Asked instead of a hand-off when the message reads more like chit-chat than a request: staff are
    told only if the resident presses the first button."""
    who = RESIDENT_NAMES.get(role, RESIDENT_NAMES["any"])
    return Reply(
        f"お話しくださりありがとうございます。\nこのことで担当の{who}に相談なさいますか？\n"
        + urgent_line(consult),
        quick_replies=(QuickReply("相談する", ASK_PERSON.text, data=f"action=handoff&role={role}"),
                       QuickReply(OFFER_DECLINED, OFFER_DECLINED, data="action=offer_declined")),
    )


def offer_declined() -> Reply:
    return Reply("わかりました。気になることがあれば、いつでも送ってください。")


def already_waiting(consult: str) -> Reply:
    return Reply(f"担当者にお伝えしています。もうしばらくお待ちください。\n{urgent_line(consult)}")


def faq_answer(answer: str, next_step: str | None, source: str, follow_ups: Sequence[QuickReply], faq_id: str,
               alternatives: Sequence[str], offer_role: str | None = None) -> list[Reply]:
    """Two bubbles: the answer; then the next step (whom to call), where it comes from in one line, and
    whether it helped, with the buttons. `offer_role`: the message told someone's own situation, so the
    nurse or MSW is offered beside the answer (staff are told only if it is pressed)."""
    alt = ",".join(alternatives)
    feedback = (
        QuickReply("解決した", "はい、解決しました", data=f"action=feedback&value=yes&faq={faq_id}"),
        QuickReply("解決しない", "いいえ、解決しません", data=f"action=feedback&value=no&faq={faq_id}&alt={alt}"),
    )
    person: tuple[QuickReply, ...] = ()
    offer = None
    if offer_role:
        who = RESIDENT_NAMES.get(offer_role, RESIDENT_NAMES["any"])
        label = {"nurse": "看護師に相談する", "msw": "MSWに相談する"}.get(offer_role, ASK_PERSON.label)
        person = (QuickReply(label, ASK_PERSON.text, data=f"action=handoff&role={offer_role}"),)
        offer = f"ご事情にあわせたご相談は、担当の{who}にもできます。"
    after = "\n\n".join(part for part in (next_step, offer, source, "解決しましたか？") if part)
    return [Reply(answer), Reply(after, quick_replies=feedback + person + tuple(follow_ups[:3]))]


def button(text: str, data: str | None) -> QuickReply:
    """A button showing `text` (shortened to LINE's label limit) that says `text` when pressed."""
    return QuickReply(_label(text), text, data=data)


def alternatives(questions: Sequence[tuple[str, str]]) -> Reply:
    """questions: (faq id, canonical question) best first."""
    options = tuple(QuickReply(_label(q), q, data=f"action=faq&faq={faq_id}") for faq_id, q in questions[:3])
    listing = "\n".join(f"・{q}" for _id, q in questions[:3])
    return Reply(f"お尋ねは次のどれに近いですか？ 選んでください。\n{listing}", quick_replies=options + (ASK_PERSON,))


def feedback_thanks() -> Reply:
    return Reply("お役に立ててよかったです。ほかにも気になることがあれば、いつでも送ってください。")


def feedback_sorry() -> str:
    return "お役に立てず申し訳ありません。"


def resources(heading: str, cards: Sequence[ResourceCard], vacancy_wanted: bool, more: Any = None) -> Reply:
    if not cards:
        return Reply(f"{heading}：条件に合う事業所が見つかりませんでした。条件を減らすか、担当者にご相談ください。",
                     quick_replies=(ASK_PERSON,))
    if vacancy_wanted:
        free = sum(1 for card in cards if card.vacancy and not card.full)
        count = f"空きあり{free}件" + (f"（満床{sum(c.full for c in cards)}件も表示）" if any(c.full for c in cards) else "")
    else:
        count = f"{len(cards)}件"
    notes = [SAMPLE_NOTICE] if any(card.sample for card in cards) else []
    if vacancy_wanted:
        notes.append("空き状況は各事業所の報告時点のものです。利用の前に必ずご確認ください。")
    lines = [f"{heading}：{count}", *(card_text(card) for card in cards), *notes]
    return Reply("\n\n".join(lines), cards=tuple(cards), more=more, summary="\n".join([f"{heading}：{count}", *notes]))


def card_rows(card: ResourceCard) -> list[tuple[str, str]]:
    """A resource's facts as (label, value) rows, the same on every channel: what it takes, hours (the
    24-hour line only when true), vacancy with its date, distance, address."""
    rows = [("受け入れ", "・".join(card.capabilities)), ("受付", card.hours or ""),
            ("24時間", "夜間・休日も対応" if card.around_the_clock else ""), ("空き", card.vacancy or ""),
            ("距離", f"約{card.distance_km:.1f}km" if card.distance_km is not None else ""),
            ("住所", card.address or "")]
    return [(label, value) for label, value in rows if value]


_FIRST_NUMBER = re.compile(r"^\s*(\+?[0-9][0-9-]*)")


def dial_number(card: ResourceCard) -> str | None:
    """The number a call button may dial: the first number written (「026-123-4567 内線12」 → 0261234567),
    only if it has the 10–11 digits of a Japanese number; never for sample data, which is fictional."""
    match = _FIRST_NUMBER.match(card.phone or "")
    digits = re.sub(r"[^0-9]", "", match.group(1)) if match else ""
    return digits if not card.sample and 10 <= len(digits) <= 11 else None


def display(reply: Reply) -> dict[str, Any] | None:
    """What a transcript needs beyond a reply's text to draw it as the resident saw it (cards with their
    rows and call number, the urgent style, a call button); None for plain text."""
    if not (reply.cards or reply.urgent or reply.call):
        return None
    cards = [{"name": c.name, "kind": " · ".join(filter(None, [c.type_label, c.municipality])), "rows": card_rows(c),
              "full": c.full, "sample": c.sample, "dial": dial_number(c), "latitude": c.latitude,
              "longitude": c.longitude} for c in reply.cards]
    return {"display": {"cards": cards, "urgent": reply.urgent, "call": reply.call, "summary": reply.summary}}


def card_text(card: ResourceCard) -> str:
    parts = [f"■ {card.name}（{card.type_label}）"]
    if card.phone:
        parts.append(f"電話: {card.phone}" + ("（サンプル・架空）" if card.sample else ""))
    parts += [f"{label}: {value}" for label, value in card_rows(card)]
    return "\n".join(parts)


def ask_location_type() -> str:
    return "送っていただいた場所の近くの事業所です。"


def unsupported(kind_label: str) -> Reply:
    return Reply(
        f"{kind_label}は読み取れません。ご相談は文章で送ってください。\n"
        "例：「訪問看護ってどうやって頼むの？」「須坂市のショートステイの空き」「担当者と話したい」\n"
        "位置情報を送ると、近くの事業所をお知らせします。"
    )


def group_notice() -> Reply:
    return Reply("個人的なご相談は、このアカウントとの1対1のトークで送ってください。グループでは、呼びかけられたときだけお答えします。")


def small_talk(kind: str, consult: str, starters: Sequence[QuickReply] = ()) -> Reply:
    """A courtesy answered as what it is (triage.small_talk_kind); the starter buttons where a
    conversation may begin."""
    if kind == "thanks":
        return Reply("どういたしまして。お役に立てたならうれしいです。\nまた気になることがあれば、いつでも送ってください。")
    if kind == "goodbye":
        return Reply(f"ご連絡ありがとうございました。どうぞお大事になさってください。\n{urgent_line(consult)}")
    if kind == "greeting":
        return Reply("こんにちは。在宅医療・介護の相談窓口です。\n"
                     "訪問看護、ショートステイ、費用、退院の準備、近くの事業所などについて、ふだんの言葉で送ってください。",
                     quick_replies=tuple(starters))
    return Reply("ありがとうございます。こちらは在宅医療・介護の相談窓口です。\n"
                 "訪問看護、ショートステイ、費用、退院の準備、近くの事業所などについて、お気軽に送ってください。",
                 quick_replies=tuple(starters))


def after_emergency() -> Reply:
    """Sent when staff close a consultation that began with an emergency, instead of a survey."""
    return Reply("先日は大変でしたね。その後、ご様子はいかがですか。\n"
                 "急に具合が変わったら、まず主治医や訪問看護の24時間の連絡先へ。命に関わるときは迷わず119番へ。\n"
                 "落ち着かれたら、これからの療養や介護のことも、いつでもこのトークでご相談ください。",
                 quick_replies=(ASK_PERSON,))


def satisfaction_question(conversation_id: int) -> Reply:
    base = f"action=satisfaction&conversation={conversation_id}&value="
    return Reply("ご相談は役に立ちましたか？",
                 quick_replies=(QuickReply("役に立った", "役に立った", data=base + "yes"),
                                QuickReply("役に立たなかった", "役に立たなかった", data=base + "no")))


def satisfaction_thanks(helped: bool) -> Reply:
    if helped:
        return Reply("ご回答ありがとうございます。またいつでもご相談ください。")
    return Reply("ご回答ありがとうございます。至らず申し訳ありません。いただいた声は窓口の改善に使います。")


def handoff_by_message() -> Reply:
    return Reply("個別のご相談は、このアプリへのDMか @メンションで送ってください。担当の看護師・MSWにおつなぎします。")


def not_found() -> Reply:
    return Reply("該当する情報が見つかりませんでした。言い方を変えるか、事業所の種類・地域名（例: 須坂 訪看）で探してください。")


def empty_message() -> Reply:
    return Reply("メッセージが空のようです。ご相談の内容を文章で送ってください。")


def deletion_requested() -> Reply:
    return Reply("記録の削除のご依頼を受け付けました。担当者が確認のうえ対応し、このトークでお知らせします。")


def _label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"
