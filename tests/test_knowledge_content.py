"""The knowledge a hub puts its name under: attributions right, safety wording kept, resident answers short
enough for a phone with their terms explained, the hub's own facts from its settings, and the answer as
a resident receives it on LINE (two bubbles) through the real server."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import replies
from bot.faq import SEED_TITLES, FaqItem, render
from knowledge.faq import FAQ_DIR, load_faq, validate
from knowledge.hub import FACTS, load_hub_facts
from knowledge.review import FIRST_BUBBLE_MAX, LINE_MAX, chars, load_glossary, review_entry
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until

ITEMS = {item.id: item for item in load_faq()}
HUB = {"hub_name": "テスト拠点", "hub_phone": "000-0000-0000", "desk_hours": "平日 9:00-17:00",
       **load_hub_facts().values}


def _shown(item: FaqItem) -> str:
    """What a resident reads: the answer and next step with the bundled hub's facts filled in."""
    return render(item.answer + "\n" + (item.next_step or ""), HUB)


def _reply_texts() -> Iterator[tuple[str, str]]:
    """Every fixed text the bot says (bot.replies), called with sample arguments."""
    samples = {"consult": replies.CONSULT, "role": "nurse", "is_open": False, "hours": "平日", "next_opening": None, "hub_name": "テスト拠点",
               "kind": "goodbye", "question": "どれかに当てはまりますか？", "options": [("none", "どれもない")],
               "conversation_id": 1, "helped": True, "kind_label": "画像"}
    for name, function in inspect.getmembers(replies, inspect.isfunction):
        if function.__module__ != replies.__name__ or name.startswith("_"):
            continue
        parameters = inspect.signature(function).parameters
        if not all(p in samples or parameters[p].default is not inspect.Parameter.empty for p in parameters):
            continue
        result = function(**{p: samples[p] for p in parameters if p in samples})
        for reply in result if isinstance(result, list) else [result]:
            yield name, reply if isinstance(reply, str) else getattr(reply, "text", "")


# -- attribution --------------------------------------------------------------------------------------

def test_the_wide_area_programme_is_a_past_prefectural_subsidy_not_a_ministry_programme() -> None:
    wide = [item for item in ITEMS.values() if item.id.startswith("wide_area.")]
    assert wide
    for item in wide:
        text = item.question + item.answer + (item.next_step or "")
        assert "厚生労働省" not in text and "厚労省" not in text, item.id
    assert any(re.search(r"平成30|令和2", item.answer) for item in wide)  # its years, in the past
    assert "厚生労働省" not in SEED_TITLES["001"][0] and "県" in SEED_TITLES["001"][0]


def test_seed_titles_and_answers_carry_no_internal_file_numbers_or_wrong_titles() -> None:
    assert SEED_TITLES["003"][0].startswith("在宅医療連携拠点事業実施手順書")
    for item in ITEMS.values():
        text = item.answer + (item.next_step or "")
        assert not re.search(r"[（(]00\d[）)]", text), f"{item.id}: an internal file number in the answer"
        assert "実施の手引き" not in text, item.id
    assert "社会福祉士が望ましい" not in _shown(ITEMS["resident.msw"])  # the 2012 model hubs' rule, not a hospital's


# -- safety wording ---------------------------------------------------------------------------------

_SUDDEN = re.compile(r"急な(体調の)?変化|体調が急|急変|容体|急に(具合|様子|体調)")
_CARE_TEAM = re.compile(r"主治医|訪問看護|かかりつけ")


def _safety_problems(where: str, text: str) -> list[str]:
    problems = []
    for match in re.finditer(r"#7119", text):
        if "救急安心センター" not in text[match.start():match.end() + 30]:
            problems.append(f"{where}: #7119 without 救急安心センター: …{text[match.start():match.end() + 30]}…")
    at = 0
    for sentence in re.split(r"(?<=[。\n])", text):
        if "119" in sentence.replace("#7119", "") and _SUDDEN.search(sentence) and not _CARE_TEAM.search(
                text[:at + len(sentence)]):  # the care team named in this sentence or before it
            problems.append(f"{where}: 「{sentence}」 sends a sudden change to 119 without the care team's line first")
        at += len(sentence)
    return problems


def test_no_answer_sends_a_sudden_change_to_119_without_the_care_team_and_7119_is_named() -> None:
    problems = [p for item in ITEMS.values() for p in _safety_problems(item.id, _shown(item))]
    problems += [p for name, text in _reply_texts() for p in _safety_problems(f"replies.{name}", text)]
    assert problems == []


def test_the_safety_rule_catches_what_it_is_for() -> None:
    assert _safety_problems("x", "急な体調の変化は119番、迷ったら #7119 へ。")  # both faults, as before
    assert _safety_problems("x", "急に具合が悪くなったら119番へ。主治医にも知らせてください。")  # the care team after
    assert not _safety_problems("x", "体調が急に変わったら、まず主治医や訪問看護の24時間の連絡先へ。命に関わるときは"
                                     "119番、迷ったら #7119（救急安心センター）へ。")


@pytest.mark.parametrize(("faq_id", "must_say"), [
    ("resident.end_of_life_at_home", [r"死亡診断書", r"訪問看護|主治医", r"119"]),
    ("resident.pediatric_home_care", [r"119", r"#8000|主治医|訪問看護"]),
    ("resident.caregiver_burden", [r"ご自身|あなた自身|介護する方の"]),
    ("resident.disaster_preparedness", [r"2\s*m|2メートル|２メートル", r"ボンベ|酸素"]),
    ("resident.desk_hours", [r"主治医|訪問看護", r"119"]),
    ("resident.sudden_change_plan", [r"主治医|訪問看護", r"救急安心センター", r"119"]),
    ("resident.night_and_holiday", [r"主治医|訪問看護", r"救急安心センター"]),
])
def test_answers_the_review_found_unsafe_now_say_what_they_must(faq_id: str, must_say: list[str]) -> None:
    text = _shown(ITEMS[faq_id])
    for pattern in must_say:
        assert re.search(pattern, text), f"{faq_id} does not say {pattern}: {text}"


# -- what differs by hub ------------------------------------------------------------------------------

def test_hub_specific_claims_come_from_the_hub_facts_and_are_marked_to_confirm() -> None:
    for faq_id, fact in (("resident.privacy", "retention_period"), ("resident.emergency_bed", "backup_beds"),
                         ("resident.desk_hours", "hub_staff")):
        item = ITEMS[faq_id]
        assert "{" + fact + "}" in item.answer + (item.next_step or ""), f"{faq_id} should show {{{fact}}}"
    assert "拠点の規程で定める期間" not in ITEMS["resident.privacy"].answer
    for faq_id in ("resident.one_stop", "resident.visiting_nurse_call_center", "resident.emergency_bed"):
        assert ITEMS[faq_id].confirm, f"{faq_id}: a claim about the hub's services without `confirm:`"


def test_the_hub_facts_file_is_checked_with_a_clear_error(tmp_path: Path) -> None:
    assert set(load_hub_facts().values) == set(FACTS) and load_hub_facts().sample
    path = tmp_path / "hub.yaml"
    path.write_text("facts:\n  hub_staff: 看護師\n", encoding="utf-8")
    with pytest.raises(ValueError, match="emergency_consult"):
        load_hub_facts(path)
    facts = {**{k: "x" for k in FACTS}, "emergency_consult": "#7119（救急安心センター）"}
    path.write_text("facts: {" + ", ".join(f"{k}: '{v}'" for k, v in facts.items()) + ", wifi: x}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="wifi"):
        load_hub_facts(path)
    path.write_text("facts: {" + ", ".join(f"{k}: x" for k in FACTS) + "}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="救急安心センター"):  # a bare #7119 says nothing to a resident
        load_hub_facts(path)


# -- short enough for a phone -------------------------------------------------------------------------

def test_every_resident_answer_keeps_the_phone_rules_and_explains_its_terms() -> None:
    glossary = load_glossary()
    resident = [item for item in ITEMS.values() if item.audience == "resident"]
    assert len(resident) >= 28 + 30
    for item in resident:
        review = review_entry(item, glossary)
        assert review.first_bubble <= FIRST_BUBBLE_MAX and review.longest_line <= LINE_MAX, item.id
        assert review.unexplained == [] and review.problems == [], (item.id, review.problems)
        assert item.reviewed, f"{item.id} has no review date"
        assert len(item.paraphrases) >= 10, item.id


GOOD = """  - id: resident.costs
    audience: resident
    question: 費用はいくら？
    paraphrases: [いくらかかる]
    answer: 医療保険と介護保険が使えます。
    source: general
    reviewed: "2026-12-06"
"""


@pytest.mark.parametrize(("change", "expected"), [
    (("answer: 医療保険と介護保険が使えます。", "answer: " + "とても長い説明です。" * 25), "最初の吹き出し"),
    (("answer: 医療保険と介護保険が使えます。", "answer: " + "一行にたくさんのことを書いてしまうと読みにくくなります" * 2), "字を超える行"),
    (("answer: 医療保険と介護保険が使えます。", "answer: ケアプランを作ります。"), "用語「ケアプラン」"),
    (("    source: general\n", "    next_step: 電話は{hub_name}（{hub_phone}）へ。\n    source: general\n"), "電話番号は1行に単独で"),
    (('    reviewed: "2026-12-06"\n', "    reviewed: きのう\n"), "reviewed"),
    (('    reviewed: "2026-12-06"\n', ""), "reviewed（出典と照らして確認した日）がありません"),
])
def test_kb_validate_reports_each_resident_rule(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    (tmp_path / "one.yaml").write_text("entries:\n" + GOOD.replace(*change), encoding="utf-8")
    assert any(expected in p.message for p in validate(tmp_path)), [p.message for p in validate(tmp_path)]
    (tmp_path / "one.yaml").write_text("entries:\n" + GOOD.replace("ケアプランを作ります。", ""), encoding="utf-8")
    assert validate(tmp_path) == []


def test_an_explained_term_and_the_entry_about_the_term_pass() -> None:
    glossary = load_glossary()
    explained = FaqItem("resident.x", "resident", "q", "ケアプラン（介護サービスの利用計画）を作ります。", "general")
    own = FaqItem("resident.care_manager", "resident", "q", "ケアマネジャーはケアプラン（計画）を作る人です。", "general")
    assert review_entry(explained, glossary).unexplained == []
    assert review_entry(own, glossary).unexplained == []
    assert chars("{hub_phone}\nあ") == 16  # a placeholder counts as 15, a newline not at all


def test_the_bundled_knowledge_is_valid_with_the_new_rules() -> None:
    assert validate(FAQ_DIR) == []


# -- as a resident receives it ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def hub_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hub") / "hub.yaml"
    values = {**load_hub_facts().values, "retention_period": "7年間（テスト拠点の規程）"}
    path.write_text("sample: false\nfacts:\n" + "".join(f"  {k}: \"{v}\"\n" for k, v in values.items()),
                    encoding="utf-8")
    return path


def test_an_faq_answer_on_line_is_the_answer_then_whom_to_call_with_a_short_source(
        database_url: str, fake_line: FakeLinePlatform, hub_file: Path) -> None:
    desk = DeskServer(database_url, fake_line.url, HUB_FACTS_FILE=str(hub_file)).start()
    try:
        fake_line.reset()
        user = new_user()
        desk.post_line(line_body("message-text", user=user, text=ITEMS["resident.privacy"].question))
        wait_until(lambda: fake_line.delivered, timeout=10)
        messages = fake_line.delivered[0].messages
        texts = [m["text"] for m in messages]
        assert texts[0].startswith("【記録について】")  # first contact: the notice in its own bubble
        answer, after = texts[1], texts[2]
        assert "7年間（テスト拠点の規程）" in answer + after  # the hub's own fact, from its file
        assert len(answer.replace("\n", "")) <= FIRST_BUBBLE_MAX and "出典" not in answer
        assert "出典: " in after and after.rstrip().endswith("解決しましたか？")
        assert "☎ 000-0000-0000" in after.splitlines()  # the phone alone on its line
        assert "quickReply" in messages[2] and "quickReply" not in messages[1]
    finally:
        desk.stop()


def test_the_source_line_keeps_a_law_whole_and_short() -> None:
    item = FaqItem("care.x", "resident", "q", "a", "general: 墓地、埋葬等に関する法律 第5条（火葬許可）, 004 (相談窓口)")
    assert item.source_label(short=True) == "出典: 墓地、埋葬等に関する法律 第5条／積極的役割を担う医療機関・連携拠点"
    assert "（火葬許可）" in item.source_label() and "(相談窓口)" in item.source_label()
