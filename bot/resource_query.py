"""Resource queries: 「須坂 訪看 人工呼吸器」 → type, municipality, capabilities.

Two questions are answered here:

* `looks_like_resource_search` — is the message a search for a local place or provider
  (「〜を探しています」「〜はありますか」「〜はどこ」「〜一覧」「〜の連絡先」, a bare keyword query, a
  slash command), as opposed to a question about how a service works that merely names one?
* `parse_resource_query` — which type, municipality and capabilities the message asks for.

How parsing works
-----------------
The vocabulary lives in ``knowledge/data/resource_terms.yaml``. The message is brought to the
canonical form (`bot.normalize.canonical`: NFKC, lower case, katakana folded to hiragana) and the
spaces between Japanese words are dropped (hiragana-only writers put one between every word). Every
vocabulary entry is then looked for at every position and the matches are accepted longest first,
without overlap, so 「在宅療養支援病院」 is one hospital_home_support mention and never also a
「病院」, and 「呼吸器内科」 is a clinic and not a ventilator.

When several types are named, the one being searched for wins: strong words beat loose ones
(「ケアマネ」「施設」「医者」), a word followed by a search head (「を探して」「はありますか」「、須坂で」
the end of the message) beats a word that only modifies something else (「病院の相談員」「病院と訪看」),
and otherwise the later word wins (Japanese puts the head last: 「入院できる病院」).

How the search decision works
-----------------------------
Matched words are masked in the text (type → ``T``, municipality → ``M``, capability → ``C``,
vacancy word → ``V``, as private-use characters) and a handful of phrase patterns are tried on the
masked text. A message that asks how something works (「どうやって」「仕組み」「費用」「申請」…) or
that is about the writer's own organisation (「訪看の管理者です」「うちのショート」) is not a search,
unless it is a bare keyword query or a slash command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.normalize import fold_kana, normalize

__all__ = ["ResourceQuery", "Terms", "load_terms", "looks_like_resource_search", "parse_resource_query"]

DEFAULT_TERMS_PATH = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "resource_terms.yaml"


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceQuery:
    type: str | None  # type id (../shared/eval/README.md)
    municipality: str | None  # canonical name, e.g. "須坂市"
    capabilities: tuple[str, ...]  # capability ids, in the vocabulary's order
    wants_vacancy: bool  # 空き / 空床 / 空いて

    def to_dict(self) -> dict[str, Any]:
        """The eval prediction shape."""
        return {"type": self.type, "municipality": self.municipality, "capabilities": list(self.capabilities)}


def parse_resource_query(text: str) -> ResourceQuery:
    """The best parse of `text`; fields are None / empty when the message does not say."""
    return _analyse(text).query


def looks_like_resource_search(text: str) -> bool:
    """True when the message searches for a local place or provider (see the module docstring)."""
    return _analyse(text).is_search


def load_terms(path: str | Path | None = None) -> Terms:
    """The compiled vocabulary (cached per path); default: knowledge/data/resource_terms.yaml."""
    return _load_terms(str(Path(path).resolve()) if path is not None else str(DEFAULT_TERMS_PATH))


# ------------------------------------------------------------------------------------------------
# Vocabulary
# ------------------------------------------------------------------------------------------------

# Labels a vocabulary entry can carry: (kind, value, weak). kind is type | cap | muni | vac | ignore.
Label = tuple[str, str, bool]


@dataclass
class Terms:
    """The vocabulary of resource_terms.yaml, compiled for matching."""

    type_ids: tuple[str, ...]
    capability_ids: tuple[str, ...]
    municipalities: tuple[str, ...]
    literal_labels: dict[str, tuple[Label, ...]]
    literal_pattern: re.Pattern[str] | None  # reports the longest entry at every position
    regex_terms: tuple[tuple[re.Pattern[str], Label], ...]  # the "re:" entries
    places: tuple[str, ...]
    home_visit: re.Pattern[str] | None
    cue_patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)


@lru_cache(maxsize=8)
def _load_terms(path: str) -> Terms:
    with open(path, encoding="utf-8") as fh:
        raw: dict[str, Any] = yaml.safe_load(fh) or {}

    literal: dict[str, list[Label]] = {}
    regexes: list[tuple[re.Pattern[str], Label]] = []

    def add(entry: str, label: Label) -> None:
        entry = str(entry)
        if entry.startswith("re:"):
            regexes.append((re.compile(fold_kana(entry[3:].lower())), label))
            return
        key = _prepare(entry)
        if key and label not in literal.setdefault(key, []):
            literal[key].append(label)

    types = raw.get("types") or {}
    for type_id, words in types.items():
        for word in words:
            add(word, ("type", type_id, False))
    for type_id, words in (raw.get("weak_types") or {}).items():
        if type_id not in types:
            raise ValueError(f"weak_types names an unknown type id: {type_id}")
        for word in words:
            add(word, ("type", type_id, True))
    caps = raw.get("capabilities") or {}
    for cap_id, words in caps.items():
        for word in words:
            add(word, ("cap", cap_id, False))
    munis = raw.get("municipalities") or {}
    for name, aliases in munis.items():
        for word in (name, *(aliases or ())):
            add(word, ("muni", name, False))
    for word in raw.get("vacancy") or ():
        add(word, ("vac", "", False))
    for word in raw.get("ignore") or ():
        add(word, ("ignore", "", False))

    keys = sorted(literal)
    # A lookahead, so that a match is reported at every start position (overlaps allowed), guarded
    # by the set of first characters so the engine skips other positions quickly; the trie pattern
    # is greedy, so each position reports its longest entry.
    firsts = "".join(sorted({k[0] for k in keys}))
    pattern = re.compile(f"(?=[{re.escape(firsts)}])(?=({_trie_regex(keys)}))") if keys else None
    places = tuple(sorted({_prepare(p) for p in raw.get("places") or ()}, key=len, reverse=True))
    home = [_prepare(w) for w in raw.get("home_visit") or ()]
    terms = Terms(
        type_ids=tuple(types),
        capability_ids=tuple(caps),
        municipalities=tuple(munis),
        literal_labels={k: tuple(v) for k, v in literal.items()},
        literal_pattern=pattern,
        regex_terms=tuple(regexes),
        places=places,
        home_visit=re.compile("|".join(re.escape(w) for w in home)) if home else None,
    )
    terms.cue_patterns = _compile_cues(places)
    return terms


def _trie_regex(words: list[str]) -> str:
    """One pattern for many literal words, factored by common prefix so that the regex engine
    branches on one character instead of trying every word; greedy, so the longest word wins."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return build(trie)


# ------------------------------------------------------------------------------------------------
# Analysis
# ------------------------------------------------------------------------------------------------

# Private-use characters that stand for matched words in the masked text.
T, M, C, V = "\ue000", "\ue001", "\ue002", "\ue003"
_MASK = {"type": T, "muni": M, "cap": C, "vac": V}

# Spaces matter only between Latin letters and digits ("24 h"); hiragana-only messages put them
# between words (「ほうもんかんごを　さがして　います」), which would break every entry.
_INNER_SPACE = re.compile(r"(?<![0-9a-z]) | (?![0-9a-z])")
_SLASH_COMMAND = re.compile(r"^/[a-z][a-z0-9_-]*(\s|$)")
_KANJI = r"[\u4e00-\u9fff々]"
# A municipality the vocabulary does not list (「中野市で」「足立区の」): two or three kanji and a suffix.
_OTHER_MUNICIPALITY = re.compile(
    rf"({_KANJI}{{2,3}})([市町村区])(?=で|の|に|内|周辺|エリア|近辺|付近|あたり|辺り|から|、|,|は|って|です|在住|$|\s)"
)
_NOT_MUNICIPALITY_STEMS = frozenset({
    "特別", "政令", "指定", "中核", "近隣", "隣接", "当該", "大都", "全市", "地元", "周辺", "管轄", "選挙",
    "行政", "城下", "門前", "東京", "同じ", "各市", "他市", "県内",
})
_HEAD_EXEMPT_NO = re.compile(r"の(一覧|りすと|連絡先|場所|電話|住所|所在地|空|あき|情報|" + V + ")")
_MODIFIER_AFTER = re.compile(r"(の|と(?!こ)|や|とか|に(相談|言|聞|行|申|頼|つな|連絡|かか|通)|から(?!近))")
_HEAD_AFTER = re.compile(r"(を|は|って|が|、|,|で|も|先|" + M + r"|[?？!！。]|$)")
_HONORIFIC = re.compile(r"(さん|さま|様|ちゃん)")
_MASKS = re.compile(f"[{T}{M}{C}{V}]")
_TOKEN_SPLIT = re.compile(r"[\s、,/]+")
_SENTENCE_END = re.compile(r"[。?？]|です|ます|ください|たい|ほしい")
_TRAILING = re.compile(r"[。．.!！?？、,・~ー\s笑w]+$")
_FILLER = re.compile(
    r"(探して(い)?(ます|る)?|探し|さがし|近く|周辺|エリア|あたり|付近|近辺|内|一覧|情報|対応|可能|可|ok|"
    r"あり|ある|ありますか|教えて|希望|条件|で|の|と|や|に|は|、|,|/|\?|？|!|！|・|\+|&|＆|\s)"
)


@dataclass(frozen=True)
class _Analysis:
    query: ResourceQuery
    is_search: bool


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    kind: str
    value: str
    weak: bool


# `bot.normalize.canonical` with the kana fold done by one str.translate (the table is built from
# `fold_kana` itself, so both stay the same); the per-character fold is the slow part of a call.
_FOLD_TABLE = {code: fold_kana(chr(code)) for code in range(ord("ァ"), ord("ヶ") + 1)}


def _canonical(text: str) -> str:
    return normalize(text).translate(_FOLD_TABLE)


def _prepare(text: str) -> str:
    return _INNER_SPACE.sub("", _canonical(text))


@lru_cache(maxsize=2048)
def _analyse(text: str) -> _Analysis:
    terms = load_terms()
    raw = _canonical(text)
    t = _INNER_SPACE.sub("", raw)
    mentions = _mentions(t, terms)

    type_id = _choose_type(t, mentions, terms)
    municipality = next((m.value for m in mentions if m.kind == "muni"), None)
    if municipality is None:
        municipality = _other_municipality(t, mentions)
    found_caps = {m.value for m in mentions if m.kind == "cap"}
    capabilities = tuple(c for c in terms.capability_ids if c in found_caps)
    vacancy = any(m.kind == "vac" for m in mentions)
    query = ResourceQuery(type_id, municipality, capabilities, vacancy)

    masked = _masked(t, mentions)
    return _Analysis(query, _is_search(raw, masked, query, terms))


def _mentions(t: str, terms: Terms) -> list[_Mention]:
    """Vocabulary matches, longest first without overlap, in text order."""
    candidates: list[tuple[int, int, tuple[Label, ...]]] = []
    if terms.literal_pattern is not None:
        for match in terms.literal_pattern.finditer(t):
            word = match.group(1)
            start, end = match.start(), match.start() + len(word)
            if word and not _splits_latin_word(t, start, end):
                candidates.append((start, end, terms.literal_labels[word]))
    for pattern, label in terms.regex_terms:
        for match in pattern.finditer(t):
            if match.end() > match.start():
                candidates.append((match.start(), match.end(), (label,)))
    candidates.sort(key=lambda c: (c[0] - c[1], c[0]))
    taken = [False] * len(t)
    accepted: list[_Mention] = []
    for start, end, labels in candidates:
        if any(taken[start:end]):
            continue
        for i in range(start, end):
            taken[i] = True
        for kind, value, weak in labels:
            if kind != "ignore":
                accepted.append(_Mention(start, end, kind, value, weak))
    accepted.sort(key=lambda m: m.start)
    return accepted


def _splits_latin_word(t: str, start: int, end: int) -> bool:
    """「hot」 inside 「photo」: a Latin entry must not continue a Latin word on either side."""
    def latin(i: int) -> bool:
        return 0 <= i < len(t) and t[i].isascii() and t[i].isalpha()

    return (latin(start) and latin(start - 1)) or (latin(end - 1) and latin(end))


def _choose_type(t: str, mentions: list[_Mention], terms: Terms) -> str | None:
    best: tuple[float, str] | None = None
    best_mention: _Mention | None = None
    for m in mentions:
        if m.kind != "type":
            continue
        after = t[m.end:]
        honorific = _HONORIFIC.match(after)
        if honorific:
            after = after[honorific.end():]
        score = 0.0 if m.weak else 10.0
        if _HEAD_EXEMPT_NO.match(after):
            score += 3
        elif _MODIFIER_AFTER.match(after):
            score -= 3
        elif _HEAD_AFTER.match(after) or any(after.startswith(p) for p in terms.places):
            score += 3
        score += m.start / 10_000  # later wins a tie: the head comes last in Japanese
        if best is None or score > best[0]:
            best, best_mention = (score, m.value), m
    if best is None or best_mention is None:
        return None
    type_id = best[1]
    if type_id in ("clinic", "hospital") and terms.home_visit is not None:
        clause_start = max(t.rfind("。", 0, best_mention.start), t.rfind("?", 0, best_mention.start)) + 1
        if terms.home_visit.search(t, max(clause_start, best_mention.start - 25), best_mention.start):
            type_id = "clinic_home_support" if type_id == "clinic" else "hospital_home_support"
    return type_id


def _other_municipality(t: str, mentions: list[_Mention]) -> str | None:
    for match in _OTHER_MUNICIPALITY.finditer(t):
        stem = match.group(1)
        if stem in _NOT_MUNICIPALITY_STEMS or any(ch in stem for ch in "市町村区県都府"):
            continue
        if any(m.start < match.end() and match.start() < m.end for m in mentions):
            continue
        return match.group(0)
    return None


def _masked(t: str, mentions: list[_Mention]) -> str:
    out: list[str] = []
    pos = 0
    seen: set[int] = set()
    for m in mentions:
        if m.start in seen:  # one word with two labels (「小児科」): mask it once, as its first kind
            continue
        seen.add(m.start)
        out.append(t[pos:m.start])
        out.append(_MASK[m.kind])
        pos = m.end
    out.append(t[pos:])
    return "".join(out)


# ------------------------------------------------------------------------------------------------
# The search decision
# ------------------------------------------------------------------------------------------------

_LOC = (
    rf"(?:{M}(?:に|内に|には|で|の近くに|周辺に|周辺で|近くに|の中に|内で|市内に|あたりに|辺りに)?"
    r"|この(?:へん|辺|あたり|辺り|地域|近く|近所|町|市|村)(?:に|で|には)?"
    r"|近く(?:に|で)|近所(?:に|で)|地元(?:に|で)|うちの近くに|家の近くに|市内に|町内に|村内に|区内に)"
)
_EXIST = (
    r"(?:あり(?:ます|ませ|ますでしょう)|ある(?:の|か|かな|んでしょう|でしょう|\?|？|$)|あれば|"
    r"ない(?:です|でしょう|か|の|\?|？|$)|ございます|いま(?:す|せん)か|いる(?:の|か|かな|\?|？|$)|おられ)"
)

# Questions about how a service or the programme works, money, paperwork, the writer's own work.
_PROGRAM = re.compile(
    fold_kana(
        r"どうやって|どうすれば|どうしたら|どう(選|探|頼|申し込)|方法|仕組み|しくみ|制度|とは[?？]?|って(何|なに|なん)|"
        r"何を(して|する|お願い)|なにを(して|する)|どんな(こと|人|ひと|役割|仕組み|もの|基準)|"
        r"どういう(もの|こと|仕組み|人|ひと|意味|基準|流れ|違い)|違い|ちがい|違う|ちがう|費用|料金|いくら|お金|おかね|"
        r"自己負担|手続き|申請|応募|補助|要件|計画書|研修|会議|勉強会|連絡会|登録|掲載|反映|資格|配置|選定|"
        r"位置づけ|採択|交付|要綱|手順|様式|算定|報酬|加算|事業(?!所)|拠点|一緒に考えて|うちの場合|どこが合う|"
        r"一か所|一カ所|1か所|ひとつの(所|ところ|窓口)|ワンストップ|あちこち|いっしょにきいて|まとめてきける|"
        r"(どんな|どういう)(ところ|とこ|所)|保険(が|は|で)?(使え|きく|効く|適用)|避難|停電|災害|救急車|119|"
        r"(探|さが)せば|探し方|さがしかた|探すには|見つけるには|選び方|選べば|選ぶ(時|とき|には|ぽいんと)|"
        r"どこ(に|へ|で)(頼|たの|申し込|もうしこ|相談|そうだん|言|確認|聞|連絡|電話)"
    )
)
# 「訪看の管理者です。」「在支診の事務です。」 at the start: a professional asking about their own work.
_SELF_INTRO = re.compile(rf"^[^。?？!！]{{0,15}}{T}[^。?？!！、]{{0,8}}です(?:[。、]|が)")
_OWN = re.compile(rf"(うち|当院|当施設|当事業所|弊社|私ども)の{T}")
_SEARCH_VERB = re.compile(
    r"(探して|さがして|探しており|探してる|探し中|探したい|さがしたい|探せ|さがせ|見つか(?:り|る)|みつか(?:り|る)|見つけたい|みつけたい)"
)
# 「訪問看護を使っている父が…」: the writer already has the service; a situation, not a search.
_USING = re.compile(
    rf"{T}(?:さん)?(?:を|に|が)(?:使って|つかって|使ってい|利用して|利用中|頼んで|たのんで|お願いして|来てもらって|"
    r"きてもらって|来てい|きてい|来てる|きてる|入って|はいって|通って|かよって|かかって|入所して|入院して)"
)
_NOT_SEARCH_VERB = re.compile(r"(どうやって|どこで|どう)(探|さが)|探し方|さがしかた|探しきれ|探すの")


def _compile_cues(places: tuple[str, ...]) -> dict[str, re.Pattern[str]]:
    place = "(?:" + "|".join(re.escape(p) for p in places) + ")" if places else "(?!)"
    noun = rf"(?:{T}|{place})(?:さん|さま)?"
    return {
        # 「〜はありますか」「〜、須坂にある？」「〜ってこのへんにありますか」
        "exist": re.compile(rf"{noun}(?:は|が|って|も|、|,)?{_LOC}?(?:は|も|って)?{_EXIST}"),
        # 「〜はどこですか」「〜ってどこにあるの」
        "where": re.compile(rf"{noun}(?:は|って|が|、)?(?:{_LOC})?(?:どこ|どちら)"),
        # 「〜の一覧」「〜の連絡先と場所」「〜の場所と電話番号」
        "info": re.compile(
            rf"{T}(?:さん)?(?:の|って|は)?(?:一覧|いちらん|りすと|連絡先|れんらくさき|場所|ばしょ|電話|でんわ|住所|じゅうしょ|所在地|地図|ちず|名前|"
            r"情報が(?:ほしい|欲しい|知りたい))"
        ),
        # 「〜の空きってある？」「ショート空いてますか」
        "vacancy": re.compile(
            rf"{T}[^。?？!！]{{0,8}}{V}(?:状況|情報)?(?:って|は|が|も|を)?"
            rf"(?:{_EXIST}|ます|ますか|る|か|[?？]|$|知りたい|しりたい|教えて|おしえて)"
        ),
        # 「〜を紹介して」「近くの〜を教えて」
        "ask": re.compile(rf"{noun}(?:を|が)?(?:{_LOC})?(?:紹介|しょうかい|教えて|おしえて|知りたい|しりたい)"),
        # A fragment that ends on the thing or the place: 「〜してくれる病院」「〜、小布施で」
        "ending": re.compile(
            rf"(?:{noun}|{M}(?:[^。?？!！]{{0,12}}で|です|周辺|エリア|近辺|あたり|付近|内)?|{T}(?:か|や|と){T}で)$"
        ),
    }


def _is_search(raw: str, masked: str, query: ResourceQuery, terms: Terms) -> bool:
    has_type = T in masked
    if _SLASH_COMMAND.match(raw):
        return has_type or query.municipality is not None or bool(query.capabilities)
    if not has_type:
        return False
    if _only_vocabulary(raw, masked):
        return True
    if _PROGRAM.search(masked):
        return False
    if _is_keyword_query(raw, terms):
        return True
    cues = terms.cue_patterns
    if _SEARCH_VERB.search(masked) and not _NOT_SEARCH_VERB.search(masked):
        return True
    if cues["info"].search(masked):
        return True
    if _SELF_INTRO.search(masked) or _OWN.search(masked) or _USING.search(masked):
        return False
    if cues["exist"].search(masked) or cues["where"].search(masked) or cues["vacancy"].search(masked):
        return True
    if cues["ask"].search(masked):
        return True
    return bool(cues["ending"].search(_TRAILING.sub("", masked)))


def _only_vocabulary(raw: str, masked: str) -> bool:
    """Nothing but matched words and fillers: 「須坂 訪看 人工呼吸器」「小布施町のショート空き」."""
    if len(masked) > 40 or _SENTENCE_END.search(raw):
        return False
    return len(_FILLER.sub("", _MASKS.sub("", masked))) <= 1


def _is_keyword_query(raw: str, terms: Terms) -> bool:
    """A few short space-separated tokens, at most one of them not vocabulary: 「在支病 須坂 レスパイト」."""
    if len(raw) > 40 or _SENTENCE_END.search(raw):
        return False
    tokens = [tok for tok in _TOKEN_SPLIT.split(raw) if tok]
    if len(tokens) < 2 or any(len(tok) > 12 for tok in tokens):
        return False
    unknown = 0
    for tok in tokens:
        rest = _FILLER.sub("", _MASKS.sub("", _masked(tok, _mentions(tok, terms))))
        unknown += len(rest) > 1
    return unknown <= 1 and unknown < len(tokens) - 1
