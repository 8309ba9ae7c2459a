"""The red-flag file (knowledge/data/red_flags.yaml), the router that reads it with the learned model,
and the corpus that pins both.

Every family of the protocol has real emergencies and near misses in the corpus, written by people who
never saw the rules; every emergency there must get the 119 reply or the red-flag check, and near
misses must not be taken for emergencies.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.faq_match import FaqMatcher
from bot.red_flags import RED_FLAGS_FILE, RedFlags, assess, red_flags
from bot.route_model import MODEL_FILE, RouteModel, corpus_files, model, read_corpus, train
from bot.router import Router
from knowledge.faq import load_faq, load_synonyms

FLAGS = yaml.safe_load(RED_FLAGS_FILE.read_text(encoding="utf-8"))
FAMILIES = [family["id"] for family in FLAGS["families"]]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(FaqMatcher(load_faq(), load_synonyms()), model())


def _corpus_by_family() -> dict[str, dict[str, list[str]]]:
    cases: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in corpus_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                meta = case.get("meta") or {}
                if meta.get("family"):
                    cases[meta["family"]][meta.get("kind", "")].append(case["text"])
    return cases


CORPUS = _corpus_by_family()


# -- the file --------------------------------------------------------------------------------------

def test_every_family_names_its_source_and_has_findings() -> None:
    found = {finding["family"] for finding in FLAGS["findings"]}
    for family in FLAGS["families"]:
        assert family["name"] and family["source"], family
        assert family["id"] in found, f"{family['id']} has no finding"
    assert len(FAMILIES) >= 21


def test_every_finding_says_what_it_is_and_how_it_is_found() -> None:
    for entry in FLAGS["findings"] + FLAGS["signs"]:
        assert entry["finding"], entry["id"]
        assert entry.get("patterns") or entry.get("says"), entry["id"]


def test_the_check_asks_the_first_questions_of_the_protocol() -> None:
    options = [option["id"] for option in FLAGS["check"]["options"]]
    assert options[-1] == "none" and len(options) == 6


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["findings"].append({"id": "x", "family": "nosuch", "finding": "x", "says": ["x"]}), "unknown family"),
    (lambda d: d["combinations"].append(["nosuch", ["breath"]]), "unknown signs"),
    (lambda d: d["findings"].append(dict(d["findings"][0])), "unique"),
])
def test_a_broken_file_is_refused_with_the_reason(tmp_path: Path, change, message: str) -> None:
    data = yaml.safe_load(RED_FLAGS_FILE.read_text(encoding="utf-8"))
    change(data)
    broken = tmp_path / "red_flags.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        RedFlags.load(broken)


# -- the corpus pins every family -------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_has_emergencies_and_near_misses_in_the_corpus(family: str) -> None:
    assert len(CORPUS[family]["positive"]) >= 20
    assert len(CORPUS[family]["near_miss"]) >= 10


@pytest.mark.parametrize("family", FAMILIES)
def test_every_emergency_of_a_family_gets_119_or_the_check_first(router: Router, family: str) -> None:
    unsafe = [text for text in CORPUS[family]["positive"]
              if not ((decision := router.decide(text)).route == "emergency" or decision.check)]
    assert not unsafe


@pytest.mark.parametrize("family", FAMILIES)
def test_near_misses_of_a_family_are_seldom_taken_for_emergencies(router: Router, family: str) -> None:
    texts = CORPUS[family]["near_miss"]
    alarms = [text for text in texts if router.decide(text).route == "emergency"]
    assert len(alarms) <= max(1, len(texts) // 20), alarms


# -- how people type --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    # The phrasings that reached a queue before this file existed (issue #10).
    "うちの人、息してないかもしれない",
    "母が息をしていないかも",
    "父が返事しない　息してないかも",
    "ばあちゃんのかおが かたっぽ下がって よだれ出とる",
    "父が地をたくさん吐いて顔が白い",
    "ばっちゃが田んぼでへたりこんで、からだ熱っついのに汗かいてねえ、水も飲めねえ",
    "停電して呼吸器の電池が残りわずか、アラームがずっと鳴ってる",
    "もう限界　屋上にいる　みんなごめん",
    "気のせいかもしれませんが、父が箸を右手で持てなくて、言葉もはっきりしません",
    "利用者様、本日訪問時にベッドでぐったりされており、声かけへの反応が乏しく顔色不良です",
    "介護保険の更新の書類のことで聞きたいんですが、書き方がわからなくて。それとさっき母が急に今まで経験したことの"
    "ない頭痛だと言って吐いて、今は横になっています。書類は来週までに出せばいいですか",
    # Beside the care-home and after-a-stroke exceptions below, the real thing is still found.
    "もう限界　駅のホームにいる　みんなごめん",
    "脳梗塞のあと、さっき急に言葉が出なくなった",
    "脳梗塞のあと父が昨日から言葉が出にくくなっています",
])
def test_red_flags_hold_in_dialect_hiragana_typos_hedges_and_long_messages(text: str) -> None:
    assert assess(text).emergency


@pytest.mark.parametrize(("typed", "meant"), [
    ("さっき ちを はいた", "父が血を吐いた"),
    ("父が地を吐いた", "父が血を吐いた"),
    ("母が行きをしていない", "母が息をしていない"),
])
def test_the_reading_meets_the_finding_whatever_the_script(typed: str, meant: str) -> None:
    assert assess(meant).emergency
    assert assess(typed).emergency


@pytest.mark.parametrize("text", [
    "恥ずかしくて死にたい…さっきのメッセージ、送る相手まちがえてました",
    "息止まるかと思うくらい笑った",
    "血を吐く思いで10年母の介護をしてきました",
    "ニュースで、お風呂で溺れたお年寄りの話を見ました",
    "父は去年、脳梗塞で倒れてから右半身にまひが残っています",
    "停電したら吸引器が止まってしまうので、足踏み式を買うべきか迷っています",
    "心臓マッサージのやり方を家族で覚えておきたいです",
    "さっき呼んでも返事しなくて驚いたら、補聴器の電池が切れてただけでした",
    # First-sight round 25: a care home is not a station platform; a stroke long past is not one now.
    "認知症の父をずっと家で見てきましたが、もう限界かもしれません。施設を考え始めたけど、グループホーム、有料、サ高住…",
    "脳梗塞のあと主人が言葉が出にくくなり、飲み込みも悪くなりました。言葉や飲み込みの練習を家でしてもらうことはできますか",
])
def test_figures_of_speech_stories_and_what_ifs_are_not_red(text: str) -> None:
    assert not assess(text).emergency


# -- the model --------------------------------------------------------------------------------------

def test_the_bundled_model_is_reproducible_from_the_corpus(tmp_path: Path) -> None:
    texts, labels = read_corpus(corpus_files())
    out = tmp_path / "model.npz"
    train(texts, labels).save(out)
    rebuilt, bundled = RouteModel.load(out), RouteModel.load(MODEL_FILE)
    assert rebuilt.vocabulary == bundled.vocabulary
    assert np.allclose(rebuilt.weights, bundled.weights, atol=1e-4)
    assert np.allclose(rebuilt.bias, bundled.bias, atol=1e-4)


def test_the_model_gives_a_probability_for_every_route() -> None:
    opinion = model().proba("訪問看護ってどうやって頼むの？")
    assert set(opinion) == {"emergency", "nurse", "msw", "any", "faq", "resource", "other"}
    assert abs(sum(opinion.values()) - 1) < 1e-6
    assert max(opinion, key=opinion.get) == "faq"


def test_the_router_asks_the_check_when_something_acute_is_not_certainly_red(router: Router) -> None:
    decision = router.decide("母がトイレで立ち上がれなくなりました")
    assert decision.check and decision.route == "handoff" and decision.role == "nurse"
    assert decision.prediction("x")["check"] is True
    assert not router.decide("訪問看護ってどうやって頼むの？").check


@pytest.mark.parametrize("text", ["あ" * 40_000, "介護の書類について" * 3_000 + "。父が息をしていない", " ", "/", "\x1f", "🙏" * 50])
def test_any_text_is_routed_without_error_and_a_sign_at_the_end_of_a_long_one_is_found(router: Router,
                                                                                      text: str) -> None:
    decision = router.decide(text)
    assert decision.route == "emergency" if text.endswith("息をしていない") else decision.route != "emergency"


@pytest.mark.parametrize("text", ["父が息をしていない🥹", "母が倒れて返事がない😅どうしよう", "母が意識がない https://www.city.example.jp",
                                  "いま父が倒れて動かない。勘違いかもしれないけど", "Help! my father is not breathing",
                                  "my mother collapsed and is not responding"])
def test_emoji_links_doubts_and_english_do_not_hide_an_emergency(router: Router, text: str) -> None:
    assert router.decide(text).route == "emergency"


def test_a_sign_is_never_turned_into_small_talk_and_a_person_asked_for_is_kept(router: Router) -> None:
    assert router.decide("胸が痛い").route != "other"
    asked = router.decide("看護師さんに相談したい")
    assert (asked.route, asked.role) == ("handoff", "nurse")


def test_the_flags_load_once_per_process() -> None:
    assert red_flags() is red_flags()


@pytest.mark.parametrize("text", ["もうしんどい。今から嫁と一緒に死ぬわ。練炭も買うてきた", "今から橋まで行く。介護もう無理",
                                  "今夜しのうと思う", "練炭買ってきた",
                                  "わたしがいなくなれば娘も楽になると思います。今夜このまま川へ行くつもりです。"
                                  "これまで本当にありがとうございました"])
def test_imminent_suicide_is_the_119_reply_not_the_body_check(router: Router, text: str) -> None:
    """The red-flag check asks about the body (breathing, colour, speech): no answer to someone about to
    end their life. "Now" with dying or with a place to die, or the means at hand, is 119 at once."""
    assert router.decide(text).route == "emergency"


@pytest.mark.parametrize("text", ["今から死ぬほど働かなきゃ", "これから死ぬまで家で過ごしたい", "練炭こたつって今も売ってるの？",
                                  "今から橋の工事を見に行く", "今から川に行く", "これまで本当にありがとうございました"])
def test_time_words_beside_dying_or_a_bridge_are_not_by_themselves_an_emergency(router: Router, text: str) -> None:
    assert router.decide(text).route != "emergency"
