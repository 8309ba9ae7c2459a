"""Resource-query parser: dev-set rates, hand-written cases, vocabulary coverage, speed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import resource_query
from bot.resource_query import ResourceQuery, load_terms, looks_like_resource_search, parse_resource_query

DEV = Path(__file__).parents[1].parent / "shared/eval/dev.jsonl"

TYPE_IDS = {
    "hospital_home_support", "clinic_home_support", "hospital", "clinic", "visiting_nurse", "pharmacy",
    "community_support_center", "care_management_office", "short_stay", "care_facility", "dental",
    "home_care_desk", "disability_consultation",
}
CAPABILITY_IDS = {
    "ventilator", "tracheostomy", "suction", "tube_feeding", "iv_nutrition", "oxygen", "terminal_care",
    "dementia", "pediatric", "around_the_clock",
}


def _dev() -> list[dict[str, Any]]:
    with DEV.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def dev() -> list[dict[str, Any]]:
    return _dev()


@pytest.fixture(scope="module")
def resource_lines(dev: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = [row for row in dev if row["expect"]["route"] == "resource"]
    assert lines, "dev set has no resource lines"
    return lines


def _rate(hits: list[bool]) -> float:
    return sum(hits) / len(hits)


# ------------------------------------------------------------------------------------------------
# Dev set: rates, not exact counts
# ------------------------------------------------------------------------------------------------


def test_dev_type_accuracy(resource_lines: list[dict[str, Any]]) -> None:
    hits = [parse_resource_query(r["text"]).type == r["expect"]["type"] for r in resource_lines]
    assert _rate(hits) >= 0.95, f"type accuracy {_rate(hits):.3f}"


def test_dev_municipality_accuracy(resource_lines: list[dict[str, Any]]) -> None:
    # A line without a municipality expects None.
    hits = [
        parse_resource_query(r["text"]).municipality == r["expect"].get("municipality") for r in resource_lines
    ]
    assert _rate(hits) >= 0.95, f"municipality accuracy {_rate(hits):.3f}"


def test_dev_capabilities_set_equality(resource_lines: list[dict[str, Any]]) -> None:
    hits = [
        set(parse_resource_query(r["text"]).capabilities) == set(r["expect"].get("capabilities") or [])
        for r in resource_lines
    ]
    assert _rate(hits) >= 0.85, f"capabilities set-equality {_rate(hits):.3f}"


def test_dev_search_detected_on_resource_lines(resource_lines: list[dict[str, Any]]) -> None:
    hits = [looks_like_resource_search(r["text"]) for r in resource_lines]
    assert _rate(hits) >= 0.9, f"looks_like_resource_search recall {_rate(hits):.3f}"


def test_dev_no_search_on_plain_faq_lines(dev: list[dict[str, Any]]) -> None:
    plain_faq = [
        row for row in dev
        if row["expect"]["route"] == "faq"
        and not any(alt.get("route") == "resource" for alt in row["expect"].get("also_ok") or [])
    ]
    assert plain_faq
    rejected = [not looks_like_resource_search(r["text"]) for r in plain_faq]
    assert _rate(rejected) >= 0.9, f"faq lines kept out of resource search {_rate(rejected):.3f}"


def test_dev_figures_report(dev: list[dict[str, Any]], resource_lines: list[dict[str, Any]]) -> None:
    """One line with every dev figure (visible with -rA or -s)."""
    pairs = [(parse_resource_query(r["text"]), r["expect"]) for r in resource_lines]
    plain_faq = [
        r for r in dev
        if r["expect"]["route"] == "faq"
        and not any(a.get("route") == "resource" for a in r["expect"].get("also_ok") or [])
    ]
    figures = {
        "type": _rate([q.type == e["type"] for q, e in pairs]),
        "municipality": _rate([q.municipality == e.get("municipality") for q, e in pairs]),
        "capabilities": _rate([set(q.capabilities) == set(e.get("capabilities") or []) for q, e in pairs]),
        "search_recall": _rate([looks_like_resource_search(r["text"]) for r in resource_lines]),
        "faq_rejection": _rate([not looks_like_resource_search(r["text"]) for r in plain_faq]),
    }
    print("resource_query dev figures:", {k: round(v, 3) for k, v in figures.items()})
    assert all(0.0 <= v <= 1.0 for v in figures.values())


# ------------------------------------------------------------------------------------------------
# Hand-written cases (not from the dev set)
# ------------------------------------------------------------------------------------------------

# text, type, municipality, capabilities, wants_vacancy
PARSE_CASES: list[tuple[str, str | None, str | None, set[str], bool]] = [
    # Slack-style keyword queries
    ("須坂 訪看 人工呼吸器", "visiting_nurse", "須坂市", {"ventilator"}, False),
    ("小布施町 ショート 空き", "short_stay", "小布施町", set(), True),
    ("在支診 看取り 高山村", "clinic_home_support", "高山村", {"terminal_care"}, False),
    ("訪看　小布施　ターミナル　24h", "visiting_nurse", "小布施町", {"terminal_care", "around_the_clock"}, False),
    ("/desk 高山村 特養", "care_facility", "高山村", set(), False),
    ("須坂 在支病 空床", "hospital_home_support", "須坂市", set(), True),
    ("在支病 須坂 レスパイト", "hospital_home_support", "須坂市", set(), False),
    # Hiragana only, half-width katakana
    ("おぶせで　ほうもんかんごを　さがして　います", "visiting_nurse", "小布施町", set(), False),
    ("たかやまの　ほうかつの　でんわばんごうを　おしえて　ください", "community_support_center", "高山村", set(), False),
    ("ちちが　いろうです　すざかで　はいれる　しせつを　さがして　います", "care_facility", "須坂市", {"tube_feeding"}, False),
    ("ｽｻﾞｶ ﾎｳｶﾝ", "visiting_nurse", "須坂市", set(), False),
    # Sentences
    ("高山村で往診してくれるお医者さんを探しています", "clinic_home_support", "高山村", set(), False),
    ("往診してくれるクリニック、須坂にある？", "clinic_home_support", "須坂市", set(), False),
    ("気切の子をみてくれる訪看ステーションありますか", "visiting_nurse", None, {"tracheostomy", "pediatric"}, False),
    ("胃ろうの父を受け入れてくれる老健、小布施町にありますか", "care_facility", "小布施町", {"tube_feeding"}, False),
    ("ＩＶＨの管理ができる在宅クリニックを探しています", "clinic_home_support", None, {"iv_nutrition"}, False),
    ("板橋区で夜間対応の薬局を探しています", "pharmacy", "板橋区", {"around_the_clock"}, False),
    ("高山村の特養の空き状況を知りたい", "care_facility", "高山村", set(), True),
    ("須坂の在宅医療・介護連携相談窓口はどこ？", "home_care_desk", "須坂市", set(), False),
    ("障がい児の計画相談をしてくれる事業所、須坂で", "disability_consultation", "須坂市", {"pediatric"}, False),
    ("小布施で認知症に詳しいケアマネさんがいる居宅介護支援事業所", "care_management_office", "小布施町", {"dementia"}, False),
    ("HOT導入中の人を受けてもらえる老健、小布施町で空きがあるところを探しています", "care_facility", "小布施町", {"oxygen"}, True),
    # Specificity and ambiguity
    ("須坂で呼吸器の人のレスパイト入院を受けてくれる在宅療養支援病院", "hospital_home_support", "須坂市", {"ventilator"}, False),
    ("須坂市内で入院できる病院を知りたいです", "hospital", "須坂市", set(), False),
    ("24時間対応の訪問看護を探しています", "visiting_nurse", None, {"around_the_clock"}, False),
    ("長野で訪問看護を探しています", "visiting_nurse", None, set(), False),  # 長野 alone may be the prefecture
    ("高山市の病院を探しています", "hospital", "高山市", set(), False),  # Gifu's 高山市 is not 高山村
    ("千曲市で訪問看護ステーションを探しています", "visiting_nurse", "千曲市", set(), False),
    ("呼吸器内科のクリニックを探しています", "clinic", None, set(), False),
    ("訪問看護を探しています。ケアマネさんも困っています", "visiting_nurse", None, set(), False),
]

# Programme / practice questions, situations, emergencies, small talk: not a search.
NOT_SEARCH = [
    "訪問看護ってどうやって頼むの？",
    "ショートステイの費用はどれくらいかかりますか",
    "在支診と普通のクリニックの違いは何ですか",
    "地域包括支援センターってどんなところ？",
    "ケアマネさんって何をしてくれる人ですか",
    "訪看の管理者です。研修の案内はどこで見られますか",
    "うちのショートの空き情報を更新したいです",
    "父が老健に入っていますが、最近食欲がありません",
    "呼吸器をつけた父が苦しそうで、アラームが鳴りっぱなしです",
    "訪問看護は医療保険と介護保険のどちらで使うのですか",
    "特養の入所の順番はどうやって決まるの？",
    "須坂 訪問看護 費用",
    "高山村のあたりでおいしいそば屋ある？",
    "ありがとうございました。訪問看護の件、助かりました",
]


@pytest.mark.parametrize(("text", "type_id", "municipality", "capabilities", "vacancy"), PARSE_CASES)
def test_parse_cases(text: str, type_id: str | None, municipality: str | None, capabilities: set[str],
                     vacancy: bool) -> None:
    query = parse_resource_query(text)
    assert (query.type, query.municipality, set(query.capabilities), query.wants_vacancy) == (
        type_id, municipality, capabilities, vacancy
    )


@pytest.mark.parametrize("text", [case[0] for case in PARSE_CASES])
def test_own_search_cases_are_searches(text: str) -> None:
    assert looks_like_resource_search(text)


@pytest.mark.parametrize("text", NOT_SEARCH)
def test_own_negative_cases_are_not_searches(text: str) -> None:
    assert not looks_like_resource_search(text)


def test_own_cases_figures() -> None:
    parse_ok = [
        (q.type, q.municipality, set(q.capabilities), q.wants_vacancy) == (t, m, c, v)
        for text, t, m, c, v in PARSE_CASES
        for q in [parse_resource_query(text)]
    ]
    search_ok = [looks_like_resource_search(case[0]) for case in PARSE_CASES]
    reject_ok = [not looks_like_resource_search(text) for text in NOT_SEARCH]
    print(f"resource_query own cases: parse {_rate(parse_ok):.3f} ({len(parse_ok)}), "
          f"search {_rate(search_ok):.3f}, reject {_rate(reject_ok):.3f} ({len(reject_ok)})")
    assert _rate(parse_ok) == 1.0 and _rate(search_ok) == 1.0 and _rate(reject_ok) == 1.0


def test_empty_and_unrelated_messages() -> None:
    assert parse_resource_query("") == ResourceQuery(None, None, (), False)
    assert parse_resource_query("こんにちは") == ResourceQuery(None, None, (), False)
    assert not looks_like_resource_search("")
    assert not looks_like_resource_search("👍")


def test_capabilities_come_in_vocabulary_order() -> None:
    a = parse_resource_query("吸引と気管切開と人工呼吸器の人の訪看")
    b = parse_resource_query("人工呼吸器と気管切開と吸引の人の訪看")
    assert a.capabilities == b.capabilities == ("ventilator", "tracheostomy", "suction")


def test_latin_abbreviations_need_word_boundaries() -> None:
    assert "oxygen" in parse_resource_query("HOTの人の訪問看護").capabilities
    assert "oxygen" not in parse_resource_query("photoを薬局に送れますか").capabilities


def test_to_dict_is_the_eval_prediction_shape() -> None:
    query = parse_resource_query("小布施町 ショート 空き 認知症")
    assert query.to_dict() == {"type": "short_stay", "municipality": "小布施町", "capabilities": ["dementia"]}
    assert json.loads(json.dumps(query.to_dict())) == query.to_dict()


# ------------------------------------------------------------------------------------------------
# Vocabulary file
# ------------------------------------------------------------------------------------------------


def test_vocabulary_uses_exactly_the_eval_ids() -> None:
    terms = load_terms()
    assert set(terms.type_ids) == TYPE_IDS
    assert set(terms.capability_ids) == CAPABILITY_IDS
    raw = yaml.safe_load(resource_query.DEFAULT_TERMS_PATH.read_text(encoding="utf-8"))
    assert set(raw["weak_types"]) <= TYPE_IDS
    assert {"須坂市", "小布施町", "高山村", "長野市", "板橋区"} <= set(raw["municipalities"])


def test_load_terms_is_cached_and_accepts_a_path(tmp_path: Path) -> None:
    assert load_terms() is load_terms()
    assert load_terms(resource_query.DEFAULT_TERMS_PATH) is load_terms()
    small = tmp_path / "terms.yaml"
    small.write_text("types:\n  pharmacy: [薬局]\ncapabilities: {}\nmunicipalities: {}\n", encoding="utf-8")
    terms = load_terms(small)
    assert terms.type_ids == ("pharmacy",) and terms.capability_ids == ()


# ------------------------------------------------------------------------------------------------
# Speed
# ------------------------------------------------------------------------------------------------


def test_under_a_fifth_of_a_millisecond_per_call(dev: list[dict[str, Any]]) -> None:
    texts = [row["text"] for row in dev]
    load_terms()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            resource_query._analyse.cache_clear()  # time real work, not the per-message cache
            parse_resource_query(text)
        best = min(best, (time.perf_counter() - start) / len(texts))
    assert best < 0.0002, f"{best * 1000:.3f} ms per call"
