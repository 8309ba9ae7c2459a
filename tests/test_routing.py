"""Routing: the FAQ matcher and the router on the bundled knowledge and on ../shared/eval/dev.jsonl.

Scores are never pinned to values: the tests pin what the desk must do (emergencies first, every
entry findable by its own wording, the quality bars, the bands) and the properties the matcher's
parts promise (folding, longest-match synonyms, the n-gram index equal to plain BM25).
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from pathlib import Path

import pytest

from bot.evaluation import (
    TARGETS,
    BigramBm25Baseline,
    Case,
    RapidfuzzBaseline,
    missed_targets,
    predict_all,
    read_cases,
    score,
)
from bot.faq import FaqItem
from bot.faq_match import FaqMatcher, MatchText, NgramIndex, SynonymRewriter, fold_variants, read
from bot.router import ALTERNATIVES, ANSWER, Router
from knowledge.faq import load_faq, load_synonyms

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
needs_dev = pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev.jsonl is not beside the repo")


@pytest.fixture(scope="module")
def items() -> list[FaqItem]:
    return load_faq()


@pytest.fixture(scope="module")
def router(items: list[FaqItem]) -> Router:
    return Router(FaqMatcher(items, load_synonyms()))


@pytest.fixture(scope="module")
def dev_cases() -> list[Case]:
    return read_cases(DEV)


@pytest.fixture(scope="module")
def dev_predictions(router: Router, dev_cases: list[Case]) -> list[dict]:
    return predict_all(lambda text: router.decide(text).prediction(text), dev_cases)


# --- the dev set, through the whole router ----------------------------------------------------------


@needs_dev
def test_every_dev_emergency_is_routed_emergency(dev_cases: list[Case], dev_predictions: list[dict]) -> None:
    missed = [c.text for c, p in zip(dev_cases, dev_predictions, strict=True)
              if c.expect["route"] == "emergency" and p["route"] != "emergency"]
    assert not missed


@needs_dev
def test_dev_non_emergencies_are_not_routed_emergency(dev_cases: list[Case], dev_predictions: list[dict]) -> None:
    said = [(c, p) for c, p in zip(dev_cases, dev_predictions, strict=True) if p["route"] == "emergency"]
    false_alarms = [c.text for c, _ in said if c.expect["route"] != "emergency"]
    assert said and 1 - len(false_alarms) / len(said) >= (TARGETS["emergency_precision"] or 0.0), false_alarms


@needs_dev
def test_dev_figures_meet_the_quality_bars(dev_cases: list[Case], dev_predictions: list[dict]) -> None:
    assert not missed_targets(score(dev_cases, dev_predictions))


@needs_dev
def test_the_engine_beats_both_baselines_on_the_faq(items: list[FaqItem], dev_cases: list[Case],
                                                     dev_predictions: list[dict]) -> None:
    ours = score(dev_cases, dev_predictions)
    for baseline in (RapidfuzzBaseline(items), BigramBm25Baseline(items)):
        predictions = predict_all(baseline.predict, dev_cases)
        assert {p["route"] for p in predictions} == {"faq"}
        theirs = score(dev_cases, predictions)
        for figure in ("faq_top1", "route_accuracy"):
            assert (ours[figure] or 0.0) > (theirs[figure] or 0.0), (baseline.name, figure)


# --- the knowledge base finds itself -------------------------------------------------------------------


def test_every_question_and_paraphrase_finds_its_own_entry(items: list[FaqItem], router: Router) -> None:
    texts = [(item.id, text) for item in items for text in (item.question, *item.paraphrases)]
    wrong = []
    for faq_id, text in texts:
        matches = router.matcher.search(text, k=1)
        if not matches or matches[0].faq_id != faq_id:
            wrong.append((faq_id, text, matches[0].faq_id if matches else None))
    assert 1 - len(wrong) / len(texts) >= 0.97, wrong


def test_every_question_is_answered_directly_with_its_own_entry(items: list[FaqItem], router: Router) -> None:
    for item in items:
        decision = router.decide(item.question)
        if decision.route == "faq":  # a few questions are searches or triage's by nature
            assert (decision.faq_id, decision.band) == (item.id, "answer"), item.question


# --- bands ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "faq_id"), [
    ("訪問看護ってどうやって頼むんですか", "resident.visiting_nurse"),
    ("ほうもんかんごを　たのみたいです　どうすれば　いいですか", "resident.visiting_nurse"),
    ("ｹｱﾏﾈｰｼﾞｬｰってどんな仕事をする人？", "resident.care_manager"),
    ("往診と訪問診療って何がちがうの", "resident.visit_vs_house_call"),
    ("介護保険の申請のしかたを教えてください", "resident.care_insurance_application"),
    ("ここの受付時間は何時から何時まで？", "resident.desk_hours"),
])
def test_a_clear_question_is_answered_directly(router: Router, text: str, faq_id: str) -> None:
    decision = router.decide(text)
    assert (decision.route, decision.faq_id, decision.band) == ("faq", faq_id, "answer")
    assert decision.confidence >= ANSWER


@pytest.mark.parametrize("text", [
    "相談したいことがあるのですが", "家族のことでちょっと困ってます", "聞きたいことがいくつかあります",
    "どうしたらいいのかよくわからない", "いろいろ心配で",
])
def test_a_vague_message_gets_alternatives_or_a_person(router: Router, text: str) -> None:
    decision = router.decide(text)
    assert decision.band != "answer"
    assert (decision.route, decision.band) in (("faq", "alternatives"), ("handoff", None))
    if decision.route == "faq":
        assert ALTERNATIVES <= decision.confidence < ANSWER and len(decision.top) >= 3


@pytest.mark.parametrize("text", ["はい", "了解しました", "よろしくお願いします", "ありがとうございました", "OK", "👍"])
def test_an_acknowledgement_is_never_answered_from_the_faq(router: Router, text: str) -> None:
    assert router.decide(text).band != "answer"


def test_an_emergency_is_decided_before_anything_else(router: Router) -> None:
    decision = router.decide("父が急に倒れて呼びかけても反応がありません")
    assert (decision.route, decision.role) == ("emergency", "nurse")


def test_scores_are_probabilities_best_first(router: Router) -> None:
    for text in ("在宅医療の費用はどのくらい？", "こんにちは", "須坂の広域型の補助"):
        scores = [m.score for m in router.matcher.search(text)]
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert scores == sorted(scores, reverse=True)
    assert router.matcher.search("") == [] and router.matcher.search("　、。") == []


# --- preparation ---------------------------------------------------------------------------------------


def test_spellings_that_mean_the_same_fold_together() -> None:
    assert fold_variants("ｼｮｰﾄｽﾃｲ") == fold_variants("ショートステイ") == fold_variants("しょーとすてい")
    assert fold_variants("ざいたくいりょー") == fold_variants("ざいたくいりょう")
    assert fold_variants("1ヶ所") == fold_variants("1カ所") == fold_variants("1か所")
    assert fold_variants("ディサービス") == fold_variants("デイサービス")
    assert fold_variants("ほうもん　かんご　って") == "ほうもんかんごって"
    assert fold_variants("しょうと") != fold_variants("しようと")  # small ゃゅょ are kept


def test_synonyms_are_rewritten_longest_first_in_one_pass() -> None:
    rewrite = SynonymRewriter([["地域包括支援センター", "包括", "ほうかつ"], ["人工呼吸器", "呼吸器"],
                               ["訪問看護", "訪看", "訪問看護ステーション"]])
    assert rewrite(fold_variants("包括に相談")) == fold_variants("地域包括支援センターに相談")
    assert rewrite(fold_variants("地域包括支援センター")) == fold_variants("地域包括支援センター")
    assert rewrite(fold_variants("呼吸器をつけた父")) == fold_variants("人工呼吸器をつけた父")
    assert rewrite(fold_variants("人工呼吸器")) == fold_variants("人工呼吸器")
    assert rewrite(fold_variants("訪問看護ステーション")) == fold_variants("訪問看護")


def test_polite_frames_and_punctuation_do_not_count() -> None:
    prepare = MatchText()
    assert prepare("ショートステイについて教えてください。") == prepare("ショートステイ")
    assert prepare("在宅医療・介護連携って何ですか？") == prepare("在宅医療、介護連携って何")


def test_a_reading_bridges_kana_and_kanji() -> None:
    assert read(MatchText()("訪問看護")).kana == read(MatchText()("ほうもんかんご")).kana


def test_readings_are_safe_from_many_threads() -> None:
    expected = read("訪問看護を頼みたい")
    results: list[bool] = []

    def work() -> None:
        results.extend(read("訪問看護を頼みたい") == expected for _ in range(200))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 800 and all(results)


# --- the n-gram index ----------------------------------------------------------------------------------


def test_the_ngram_index_scores_exactly_as_plain_bm25() -> None:
    documents = ["在宅医療 訪問看護", "訪問診療と往診", "ショートステイの空き", "在宅医療の費用 費用"]
    index = NgramIndex(documents, k1=1.2, b=0.75)
    held, most = index.information("在宅医療の費用")
    bigram_docs = [Counter(d[i:i + 2] for i in range(len(d) - 1) if " " not in d[i:i + 2]) for d in documents]
    average = sum(sum(c.values()) for c in bigram_docs) / len(bigram_docs)
    query = {"在宅", "宅医", "医療", "療の", "の費", "費用"}
    for number, doc in enumerate(bigram_docs):
        bm25 = 0.0
        for term in query & set(doc):
            df = sum(term in other for other in bigram_docs)
            idf = math.log1p((len(documents) - df + 0.5) / (df + 0.5))
            tf = doc[term]
            bm25 += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * sum(doc.values()) / average))
        assert held[number] == pytest.approx(bm25 / 2.2, rel=1e-5)
    assert index.coverage("在宅医療の費用") == pytest.approx(held / most)
    assert index.coverage("").tolist() == [0.0] * 4


def test_a_larger_knowledge_base_still_finds_the_real_entries(items: list[FaqItem]) -> None:
    # the real entries among 1,000 spliced from their texts (as bench/routing.py does), asked as written
    rng = random.Random(7)
    texts = [text for item in items for text in (item.question, *item.paraphrases)]

    def spliced() -> str:
        return rng.choice(texts)[:12] + rng.choice(texts)[-12:]

    extra = [FaqItem(id=f"synthetic.e{n:04d}", audience="resident", question=spliced(), answer="-",
                     source="general", paraphrases=tuple(spliced() for _ in range(4))) for n in range(1000)]
    matcher = FaqMatcher([*items, *extra], load_synonyms())
    found = sum(matcher.search(item.question, k=1)[0].faq_id == item.id for item in items)
    assert found / len(items) >= 0.9


@needs_dev
def test_eval_prints_the_targets_beside_the_engine_and_both_baselines(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path) -> None:
    from server.cli import main

    predictions = tmp_path / "predictions.jsonl"
    assert main(["eval", str(DEV), "--predictions", str(predictions)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert all(name in header for name in ("target", "zaitaku-desk", "rapidfuzz WRatio", "bigram BM25"))
    assert "≥0.92" in out and "all targets met" in out
    assert len(predictions.read_text(encoding="utf-8").splitlines()) == len(read_cases(DEV))
