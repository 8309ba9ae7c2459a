"""Red flags: is a life at risk now? The findings are data (`knowledge/data/red_flags.yaml`, from the
消防庁 緊急度判定プロトコル and 救急車利用マニュアル); this module is the grammar that reads them.

How `assess` decides
--------------------
The message is prepared once: normalised (NFKC, lower case, katakana folded to hiragana), the file's
`spellings` applied (dialect forms read as standard ones, common wrong kanji conversions mended),
hedges removed (「かも」「みたい」「気がする」 never make a sign less live), and cut into sentences.
A space between Japanese words is a clause break when it separates phrases (「返事しない　息してない」)
and nothing when it separates single words (「ちちが　いきを　してない」).

Every finding and sign is looked for in every sentence, on the text (`patterns` and `says`) and on
its reading (`says`, via SudachiPy), so homophone typos and hiragana-only messages meet the same
finding. A match counts only when it is *live*:

* not negated right after it (「息苦しさはない」「頭は打っていなくて」);
* not a habit or an old story (「〜ことがあります」「時々〜」);
* not hypothetical or a list of warning signs (「苦しくなったら」「もし」「〜などの症状が出たら」), not a
  figure of speech (「血を吐くような思い」);
* not in the past: the last time word before it in its clause is not 「去年」「先月」「以前」… unless a
  present word (「今」「さっき」「急に」) comes after it;
* not told as over (「〜していましたが、今は元気に退院しました」), not a chronic state;
* for the milder ones, not resolved later in the sentence (「今は落ち着いています」).

A live finding is red on its own; signs are red in the file's `combinations`. What is live but not
red (`Assessment.signs`) tells the router that something acute may be going on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from bot.normalize import canonical, fold_kana

__all__ = ["Assessment", "RedFlags", "assess", "red_flags"]

RED_FLAGS_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "red_flags.yaml"
# The gap ` … ` allows between the parts of a `says` phrase (characters of text; kana of the reading).
_GAP_TEXT, _GAP_READING = 10, 16


@dataclass(frozen=True)
class Finding:
    id: str
    family: str | None  # None for a sign (red only in combination)
    patterns: re.Pattern[str] | None  # `patterns`, over the prepared text
    says: re.Pattern[str] | None  # `says`, over the prepared text
    reading: re.Pattern[str] | None  # `says`, over the reading (hiragana)
    dead_tail: re.Pattern[str] | None
    dead_head: re.Pattern[str] | None
    resolvable: bool
    acute: bool = False  # a sign of the body now (not a circumstance such as 「急に」「お風呂で」)

    @property
    def red(self) -> bool:
        return self.family is not None


@dataclass(frozen=True)
class Assessment:
    red: tuple[str, ...]  # ids of the live findings (or sign combinations) that call for 119
    signs: frozenset[str]  # live signs, red or not
    acute: bool = False  # a sign of the body (`acute: true` in the file) is live now, nothing is certainly red
    calm: bool = False  # said laughing (笑, ｗ, 😂) or told as a false alarm (お騒がせしました), nothing acute live

    @property
    def emergency(self) -> bool:
        return bool(self.red)


@dataclass(frozen=True, eq=False)  # compared (and cached) by identity
class RedFlags:
    """The red-flag file, compiled."""

    findings: tuple[Finding, ...]
    combinations: tuple[tuple[str, frozenset[str]], ...]
    spellings: tuple[tuple[re.Pattern[str], str], ...]
    hedges: re.Pattern[str]
    check: dict[str, Any]

    readings: bool = True  # ablations only: False matches `says` on the text alone

    @classmethod
    def load(cls, path: Path = RED_FLAGS_FILE, *, readings: bool = True, spellings: bool = True) -> RedFlags:
        """The file, compiled. `readings` and `spellings` off are for ablations only."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        families = {f["id"]: f for f in data["families"]}
        findings = []
        for entry in data["findings"]:
            if entry["family"] not in families:
                raise ValueError(f"{path}: finding {entry['id']} names an unknown family {entry['family']}")
            findings.append(_finding(entry, entry["family"]))
        for entry in data["signs"]:
            if "family" in entry:
                raise ValueError(f"{path}: sign {entry['id']} names a family: red findings go under `findings`")
            findings.append(_finding(entry, None))
        ids = [f.id for f in findings]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{path}: finding ids must be unique")
        signs = {f.id for f in findings if not f.red}
        combinations = []
        for first, others in data["combinations"]:
            unknown = {first, *others} - signs
            if unknown:
                raise ValueError(f"{path}: combination names unknown signs {sorted(unknown)}")
            combinations.append((first, frozenset(others)))
        mended = tuple((re.compile(fold_kana(a)), fold_kana(b)) for a, b in data["spellings"]) if spellings else ()
        hedges = re.compile("|".join(f"(?:{fold_kana(h)})" for h in data["hedges"]))
        return cls(tuple(findings), tuple(combinations), mended, hedges, data["check"], readings)

    def assess(self, text: str) -> Assessment:
        red: list[str] = []
        found: set[str] = set()
        pieces = _sentences(*self._prepare(text))
        sentences = [sentence for sentence, _ in pieces]
        for number, (sentence, words) in enumerate(pieces):
            reading = _reading(sentence, words) if self.readings else _NO_READING
            after = "。".join(sentences[number + 1:])
            for finding in self.findings:
                if _live_match(finding, sentence, reading, after):
                    found.add(finding.id)
                    if finding.red:
                        red.append(finding.id)
        for first, others in self.combinations:
            if first in found and not found.isdisjoint(others):
                red.append(f"{first}+{'/'.join(sorted(others & found))}")
        acute = not red and any(finding.acute and finding.id in found for finding in self.findings)
        calm = not red and not acute and any(_JEST.search(sentence) or _FALSE_ALARM.search(sentence)
                                             for sentence in sentences)
        return Assessment(tuple(dict.fromkeys(red)), frozenset(found), acute, calm)

    def reading_of(self, text: str) -> str:
        """The reading of a message, prepared, in hiragana, without word breaks (the sentences'
        readings, which `assess` has usually made already)."""
        return "".join(_reading(sentence, words).kana for sentence, words in _sentences(*self._prepare(text))
                       ).replace(_SEP, "")

    def prepare(self, text: str) -> str:
        """The text findings are matched on: canonical, spellings mended, hedges removed, spaces read."""
        return self._prepare(text)[0]

    def _prepare(self, text: str) -> tuple[str, tuple[int, ...]]:
        """The prepared text, and where the spaces between single words were (word breaks the reading
        keeps: 「さっき　ちを　はいた」 is read 「さっき|ち|を|はいた」, not 「さっ|きち…」). The router asks
        for it twice per message (the rules, the model's features): the last few are kept."""
        return _prepared(self, text)

    def _prepare_now(self, text: str) -> tuple[str, tuple[int, ...]]:
        t = canonical(text)
        for pattern, replacement in self.spellings:
            t = pattern.sub(replacement, t)
        t = _QUESTION_WORDS.sub("¿", self.hedges.sub("", t))
        return _spaces(t)


@lru_cache(maxsize=64)
def _prepared(flags: RedFlags, text: str) -> tuple[str, tuple[int, ...]]:
    return flags._prepare_now(text)


@lru_cache(maxsize=1024)
def _reading(sentence: str, breaks: tuple[int, ...]) -> _Reading:
    return _Reading(sentence, breaks)


@cache
def red_flags() -> RedFlags:
    return RedFlags.load()


def assess(text: str) -> Assessment:
    return red_flags().assess(text)


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


def _finding(entry: dict[str, Any], family: str | None) -> Finding:
    patterns = [fold_kana(p) for p in entry.get("patterns", [])]
    says = entry.get("says", [])
    text_parts = [_phrase(s, _text_word, _GAP_TEXT) for s in says]
    reading_parts = [_phrase(s, _reading_word, _GAP_READING, boundary=rf"(?:^|(?<={_SEP}))") for s in says]
    tail, head = entry.get("not_when_followed_by"), entry.get("not_when_preceded_by")
    return Finding(
        id=entry["id"], family=family,
        patterns=_alternatives(patterns),
        says=_alternatives(text_parts),
        reading=_alternatives(reading_parts),
        dead_tail=re.compile(fold_kana(tail)) if tail else None,
        dead_head=re.compile(fold_kana(head)) if head else None,
        resolvable=entry.get("can_be_resolved", family is None),
        acute=bool(entry.get("acute")),
    )


def _alternatives(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def _phrase(says: str, word: Any, gap: int, boundary: str = "") -> str:
    """「息|いき … してない|止まって」 → a pattern: alternatives of each part, a short gap between parts.
    On the reading every part starts where a word starts, so 「ち」 (血) is never the end of 「うち」."""
    alternatives = []
    for part in says.split("…"):
        words = sorted({w for w in (word(a.strip()) for a in part.split("|") if a.strip()) if w}, key=len, reverse=True)
        alternatives.append(boundary + "(?:" + "|".join(words) + ")")
    return f"[^。¿]{{0,{gap}}}?".join(alternatives)


def _text_word(word: str) -> str | None:
    """A word of a `says` phrase as typed; one or two kana alone (「ち」「はい」) would match inside any
    word, so they are left to the reading, which knows where words begin and end."""
    w = fold_kana(canonical(word))
    return None if len(w) <= 2 and all("ぁ" <= ch <= "ゖ" for ch in w) else re.escape(w)


def _reading_word(word: str) -> str:
    """A word's reading, matched whatever word boundaries the message's reading has inside it."""
    kana = _Reading(fold_kana(canonical(word))).kana.replace(_SEP, "")
    pattern = f"{_SEP}?".join(re.escape(ch) for ch in kana)
    # A short reading must be whole words: 「ち」 (血) is not the start of 「ちち」 (父).
    return f"{pattern}(?={_SEP})" if len(kana) <= 2 else pattern


# ------------------------------------------------------------------------------------------------
# Reading with offsets: a match in the reading maps back to the text, so liveness reads the text
# ------------------------------------------------------------------------------------------------

_SEP = "/"  # between the words of a reading
_CHUNK = 10_000  # characters; at most 4 bytes each in UTF-8


class _Reading:
    """A sentence's reading in hiragana, words separated by _SEP, each character knowing the span of
    its word in the sentence."""

    __slots__ = ("ends", "kana", "starts")

    def __init__(self, sentence: str, breaks: tuple[int, ...] = ()) -> None:
        from bot.faq_match import tokenizer  # one SudachiPy tokenizer per thread, shared with the matcher

        parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        # SudachiPy refuses inputs over 49,149 bytes: a long sentence is read a piece at a time.
        edges = sorted({0, *breaks, *range(_CHUNK, len(sentence), _CHUNK), len(sentence)})
        for start, end in pairwise(edges):
            for morpheme in tokenizer().tokenize(sentence[start:end]) if end > start else ():
                surface = morpheme.surface()
                reading = surface if surface.isascii() else fold_kana(morpheme.reading_form() or surface)
                if reading == "きごう":  # SudachiPy reads symbols as 「キゴウ」
                    reading = surface
                reading = reading.replace(_SEP, "") + _SEP
                parts.append(reading)
                self.starts += [start + morpheme.begin()] * len(reading)
                self.ends += [start + morpheme.end()] * len(reading)
        self.kana = "".join(parts)

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]


_NO_READING = _Reading("")


def _live_match(finding: Finding, sentence: str, reading: _Reading, after: str) -> bool:
    if finding.patterns is not None:
        for match in finding.patterns.finditer(sentence):
            if _is_live(sentence, match.start(), match.end(), finding, after=after):
                return True
    if finding.says is not None:
        for match in finding.says.finditer(sentence):
            if _is_live(sentence, match.start(), match.end(), finding, phrase=True, after=after):
                return True
    if finding.reading is not None:
        for match in finding.reading.finditer(reading.kana):
            if match.end() > match.start() \
                    and _is_live(sentence, *reading.span(match.start(), match.end()), finding, phrase=True, after=after):
                return True
    return False


# ------------------------------------------------------------------------------------------------
# Preparation
# ------------------------------------------------------------------------------------------------

_NUM = r"[0-9一二三四五六七八九十数何]+"
_LATIN_OR_DIGIT = re.compile(r"[0-9a-z]")


def _spaces(text: str) -> tuple[str, tuple[int, ...]]:
    """Spaces between Latin letters and digits stay ("spo2 80"). Between Japanese words, a space is a
    clause break when the pieces are phrases (average 6 characters or more), else it goes, and where it
    was is kept as a word break for the reading."""
    pieces = text.split(" ")
    if len(pieces) == 1:
        return text, ()
    phrases = sum(len(p) for p in pieces) / len(pieces) >= 6
    out, breaks, length = [pieces[0]], [], len(pieces[0])
    for piece in pieces[1:]:
        if out[-1] and piece and _LATIN_OR_DIGIT.match(out[-1][-1]) and _LATIN_OR_DIGIT.match(piece[0]):
            out.append(" ")
            length += 1
        elif phrases:
            out.append("、")
            length += 1
        else:
            breaks.append(length)
        out.append(piece)
        length += len(piece)
    return "".join(out), tuple(breaks)



# 「どうしたら」「どうすれば」 end the description of a sign; they must not read as 「〜たら」.
_QUESTION_WORDS = re.compile(r"どう(?:したら|すれば|しよう|しよ|しょう|すりゃ|したらいい|すっぺ)|どないしたら")
_SENTENCE_END = re.compile(r"[。!?！？¿\n]|(?<!\d)\.(?!\d)")

_NEGATED = re.compile(fold_kana(
    r"^(?:さ|み|く|感|げ|気|そう|の症状|などの症状|の訴え|症状|とか|など|なんて|なんか)?(?:で|じゃ)?(?:は|も|が)?"
    r"(?:特に|全く|まったく|あまり|ほとんど|一度も|まだ|今は|いまは|今のところ)?"
    r"(?:ない|無い|なく|無く|なし|無し|ありませ|ございませ|見られ(?:ない|ませ)|みられ(?:ない|ませ)|なかった|なさそう|ず(?!っ))"
    r"(?!らい|ぐらい)"
    r"|^(?:っ|て|って|ってい|てい|ってはい|てはい|ては|っては|てな|ても|っても|でも)(?:ない|なく|ませ|なかった|ねぇ|い(?:な|ませ))"
    # 「死にたいとかそういうのではない」「消えたいってほどじゃない」
    r"|^[^。]{0,3}?(?:とか|って|という)?(?:そういう|そんな)?(?:の|こと|わけ|ほど)(?:では|じゃ)(?:ない|なく|ありませ)"))
_HYPOTHETICAL_TAIL = re.compile(fold_kana(
    r"^[^。、¿]{0,7}?(?:たら|だら|たとき|た時|だとき|た場合|る場合|の場合|な場合|るとき|る時|ときは|ときに|時に|時は|ときの|時の"
    r"|とき用|時用|際|ないよう|ないか(?:心配|不安)|ないため|たらと|ても大丈夫|ないか(?!も|な))|^時"
    r"|^[ぁ-ゖ]{0,2}?る(?:無呼吸|病気|症状|症候群|人|方|患者|子|ケース)"
    r"|^[ぁ-ゖ]{0,2}?(?:ても|でも|も)[、,]|(?:^|^[ぁ-ゖ]{1,2})(?:とか|など)(?=[?？、,]|$|の|で|が|って)|^[ぁ-ゖ]{0,2}?とか(?!し|す)"
    r"|^[ぁ-ゖ]{0,3}?(?:ような|ように)(?:思い|気持ち|苦労|毎日|日々|努力|生活)"
    r"|^[ぁ-ゖ]{0,2}?る(?:事故|こと|の|ような事)(?:が|を|は)?(?:心配|不安|怖|こわ|防|予防|避け)"
    r"|^[^。¿]{0,24}?(?:など|とか|等)の?(?:症状|サイン|兆候|とき|時|場合)"
    r"|^[^。、¿]{0,12}?(?:あったら|あれば|出たら|でたら|起きたら|なったら|あった場合|出た場合|見られたら|みられたら|あったとき|出たとき"
    r"|見つけたら|見つけた時|見つけたとき|した時|したとき|なった時|なったとき)"
    # questions about such a moment: 「反応がないときって」「息できない時って」「〜のとき、どこまでなら」
    r"|^[^。、¿]{0,8}?(?:とき|時)(?:って|[、,]|は|に|の)|^[^。]{0,4}?[」』\"]?って[、,]?(?:どういう|どんな|なに|何(?!度|回|日|時|分|年|か月|ヶ月)|どう(?:やる|やって|すれば|したら))"
    r"|^[^。]{0,10}?(?:どのくらい|どの程度|どれくらい|どれぐらい|目安)|^[^。]{0,4}?(?:てから|でから)$"
    r"|^[^。]{0,8}?(?:のでは|んじゃ)(?:ないか)?と?(?:心配|不安|思|おも)"
    # worry, prevention, degree, a figure of speech: 「アナフィラキシーが怖い」「誤飲が危ない」「止まるかと思った」
    r"|^[^。]{0,3}?(?:が|は|も)?(?:怖|こわ|心配|不安|危な|あぶな|多い|多く|増え|防|予防|対策)"
    r"|^[^。]{0,4}?か(?:と|って)?(?:思|おも)|^[ぁ-ゖ]{0,4}?(?:思い|おもい)(?:で|です|だ|がし)"
    # a simile: 「喉に何か詰まったみたいに言葉が出ない」 (but 「息が止まったように見える」 is what is seen)
    r"|^[ぁ-ゖ]{0,3}?(?:みたいに|みたいな|ように|ような)(?!見|み|思|おも|感|かん|気|き|な|痛|いた|苦|くる)"
    r"|^[^。]{0,5}?(?:ほど|くらい|ぐらい)の?(?:飲|の[みん]|笑|わら|疲|忙|働|恥|はず|暑|寒|眠|嬉|うれ|喜|よろこ|楽し|悔|くや|緊張|ばたばた|大変|しんど|つら|辛|きつ|びっくり|驚|おどろ|さみし|寂し|淋し|悲し|かなし|切な|せつな)"
    # 「心臓マッサージのやり方」: learning a skill, not using it
    r"|^の?(?:やり方|やりかた|仕方|しかた|方法|講習|練習|研修|訓練)"
    # 「息苦しさやじんましんはありません」: a list of signs, all denied
    r"|^[^。、]{0,3}?(?:や|とか|と)[^。、]{0,10}?(?:は|も)(?:ない|なく|ありませ|なし|出てい?ない|出ていませ)"))
# Said in jest or about someone else's story: a laugh, a news item, a film, hearsay.
_JEST = re.compile(fold_kana(
    # Only laughter: an anxious emoji (😅🥹) or a link's "www" is no joke.
    r"笑(?=$|[、。!?！？\s]|[^\u3040-\u30ff\u4e00-\u9fff])|(?<=[ぁ-ゖ一-鿿ー])w+(?=$|[、。!?\s])|[🤣😂😆😇]"
    r"|(?<![ぁ-ゖ])草(?=$|[、。!?\s])|ははは|あはは|わはは"))
_STORY = re.compile(fold_kana(
    r"ニュース|テレビで|記事|ドラマ|朝ドラ|番組|映画|漫画|ホラー|(?:と|って)聞(?:いた|きました|きます|く|いて(?!くだ|下さ|ほし|もら))"
    r"|でしたっけ|だっけ|(?:サイン|さいん|兆候|前兆)(?:って|は|とは)"))
# A figure of speech: 「恥ずかしくて死にたい」「暑くて倒れそう」.
_FIGURE_HEAD = re.compile(fold_kana(
    r"(?:恥ずかし|はずかし|暑|あつ|寒|さむ|眠|ねむ|忙し|いそがし|面倒|めんどう|めんどくさ)(?:くて|すぎて)$"
    r"|(?:言いたいこと|いいたいこと|言葉|ことば|気持ち|きもち|思い)が$"))
# About a pet, with no person in the sentence: 「うちの柴犬が今朝けいれんしてた」.
_PET = re.compile(fold_kana(r"(?:犬|いぬ|猫|ねこ|ペット|わんちゃん|ワンコ|にゃんこ|インコ|うさぎ|ハムスター|金魚)(?:ちゃん)?(?:が|は|も)"))
_PERSON = re.compile(fold_kana(
    r"父|母|夫|妻|主人|祖父|祖母|息子|娘|孫|子|兄|姉|弟|妹|じいちゃん|ばあちゃん|利用者|本人|私|わたし|自分|人|さん|様"))
# Not answering because busy with something else, said after it: 「反応なし。テレビの野球に夢中で」.
_DISTRACTED = re.compile(fold_kana(r"夢中|スマホ|すまほ|テレビ|ゲーム|新聞|聞こえてない|聞いてない|無視|寝たふり|狸寝入り"))
# Remembered, not happening: 「その時のことを思い出すと…」.
_MEMORY = re.compile(fold_kana(r"思い出(?:す|し|すと)|思い返"))
# An alarm that turned out to be nothing, told in the past tense: 「…電池が切れてただけでした」「お騒がせしました」
# (「勘違いかもしれないけど」 is a hedge, not a false alarm).
_FALSE_ALARM = re.compile(fold_kana(
    r"だけ(?:でした|だった|やった)|(?:勘違い|かんちがい)(?:でした|だった|やった)|(?:お騒がせ|おさわがせ)(?:しました|してすみ|して申し訳)"))
# Over by now, said anywhere after the sign: 「すぐ咳き込んで、今は普通に話してます」「5分ほどで元に戻り」.
_OVER = re.compile(fold_kana(
    r"(?:今|(?<![てでし])いま|もう|今日は|きょうは)(?!のところ)(?:は|では)?[^。]{0,10}?(?:普通|元気|落ち着|おちつ|なんとも|何とも"
    r"|ケロッ|けろっ|ご飯も|遊んで|話して|しゃべって)|元に戻|もとに戻|もとにもど|回復し|戻りました|すぐ(?:に)?(?:戻|回復|おさま|治ま|収ま)"
    r"|すぐ[^。]{0,6}?(?:吐き出|はきだ|出てき|でてき|治る|治った|なおる|なおった|取れた|とれた)|いつも通り|いつもどおり|普段通り|普段どおり|本人は元気|元気にして|ぴんぴん"
    r"|何ともなかった|なんともなかった|(?:体調|様子|具合)(?:は|も)?(?:特に)?(?:変わりな|変わりありませ|かわりな)"))
# A lasting state, not an event: 「後遺症で言葉がうまく出ない状態がずっと続いてます」.
_CHRONIC_HEAD = re.compile(fold_kana(r"後遺症|持病|障害で|障がいで|麻痺が残|まひが残|ずっと前から|以前から|昔から|前々から"))
_CHRONIC_TAIL = re.compile(fold_kana(
    r"^[^。]{0,12}?(?:ずっと続|続いて(?:い|お)|もう[0-9一二三四五六七八九十数何]+年|年続|いつものこと|いつもの)"))
_CHRONIC_AFTER = re.compile(fold_kana(r"^[^。]{0,8}?(?:ずっと前から|前からこう|いつもこう|いつものこと)"))
# 「自殺未遂をしてから半年」: counted from the event, long ago.
_SINCE = re.compile(fold_kana(
    rf"^[^。]{{0,4}}?(?:てから|して(?:から|以来)|から)[^。]{{0,4}}?(?:{_NUM}|半)(?:年|か月|ヶ月|カ月|週間|日)"))
# A phrase whose parts straddle a condition (「停電したら吸引器が止まって」) describes a what-if.
_INNER_CONDITIONAL = re.compile(fold_kana(r"(?:た|だ)ら(?!け)|なら|場合|ときは|時は"))
_HABIT_TAIL = re.compile(fold_kana(
    r"ことがあ|こともあ|ことが(?:多|よく|何度|時々|たまに|増え)|ことはあ|時期|ころが|頃が|たびに|がち|やすい|持病|既往"
    r"|口にし|口癖|くちぐせ|と言うことが|日もあ|日があ|ときもあ|時もあ|ときがあ|時があ|人が多|方が多|人も多|方も多"))
# Habit adverbs count only right before the sign (「時々呼吸が止まっている」).
# So does a habitual 「〜すると」 (「ひげ剃りで切るとなかなか血が止まりません」) and a habit of speech (「口癖が」).
_HABIT_HEAD = re.compile(fold_kana(
    r"(?:時々|ときどき|たまに|しょっちゅう|毎晩|毎年|口癖|くちぐせ|口ぐせ)[^。、]{0,12}$|(?<=[るくすつむぐぶ])と(?:[、,]|なかなか|いつも|すぐ|必ず|毎回)[^。、]{0,10}$"
    r"|(?:ている|てる|でいる|でる|とる)と[^。、]{0,12}$"))
# 「…していましたが、今は元気に退院しました」: a past episode told as over.
_PAST_THEN_NOW = re.compile(fold_kana(
    r"^[^。]{0,12}?(?:ました|ていた|でいた|った|た)(?:が|けど|けれど|けれども)[、,]?(?:今|いま)は[^。]{0,10}?"
    r"(?:元気|落ち着|おちつ|普通|大丈夫|回復|退院|安定|戻|治|なんとも|何とも)"
    r"|^[^。]{0,8}?ていた[^。]{0,10}?(?:最近|今は|いまは|このごろ)[^。]{0,8}?(?:笑顔|元気|落ち着|明る|普通|よく)"))
# 「意識を失って救急搬送されました」: told after the event, the person is already in hospital.
_ALREADY_IN_CARE = re.compile(fold_kana(
    r"^[^。]{0,12}?(?:搬送され|運ばれ(?:ま|た)|入院(?:し(?:ま|た)|中|になり|となり)|手術を?受け)"))
_HYPOTHETICAL_HEAD = re.compile(fold_kana(r"もし(?![てたかくな])|万一|万が一|いざ(?!り)|仮に|備え|将来|前もって|あらかじめ|事前に"))
_TIME_CUE = re.compile(fold_kana(
    r"(?P<past>去年|昨年|一昨年|先月|先々月|先週|先々週|以前(?!から)|昔(?!から)|かつて|当時|その時|その頃|あの時|若い頃"
    rf"|{_NUM}(?:年|か月|ヶ月|カ月|ヵ月|ケ月|箇月|週間|日)(?:ほど|くらい|ぐらい)?前|(?:^|[、,])(?:前に|前は|この前|この間)|おととい|一昨日"
    r"|(?:^|[^0-9])[12][0-9]{3}年|平成|昭和)"
    r"|(?P<present>今(?!後|まで|頃|ごろ)|(?<![てでし])いま(?!まで|す|せ|ごろ)|さっき|先ほど|さきほど|現在|また|再び|本日|今朝|今夜|今日|けさ)"))
_RESOLVED = re.compile(fold_kana(
    r"(?:今は|いまは|もう|すぐに|すぐ)[^。]{0,6}?(?:落ち着|おちつ|おさま|治ま|収ま|元気|大丈夫|普通|平気|なんとも|何とも|痛くな|戻|回復|止まっ)"
    r"|いつも通り|いつもどおり"))
_GRADUAL = re.compile(fold_kana(r"最近|このところ|ここ[^。]{0,3}(?:日|週|月|年)|徐々に|少しずつ|以前から|昔から|もともと|前々から|持病"))
# A time word only reaches as far as its own clause: in 「先月退院した父が、トイレで倒れて」 or
# 「先月退院した父がトイレで倒れて」 the collapse is today's.
_CLAUSE_RESTART = re.compile(fold_kana(
    r"[てでたしがどけ][、,]|(?:た|だ|い|な)(?:父|母|夫|妻|主人|祖父|祖母|義父|義母|息子|娘|子|人|方|利用者|本人|患者"
    r"|じいちゃん|ばあちゃん|おじいちゃん|おばあちゃん)(?:さん|様)?(?:が|は|の|も|、)"))
_GRADUAL_MATTERS = frozenset({"stroke", "stroke_face_arm", "limb", "breath", "chest", "chest_pain_sweat", "collapse", "color"})
_CHRONIC_STATE = re.compile(fold_kana(
    r"^[^。]{0,4}?(?:状態|まま)(?:で[^。]{0,10}?(?:帰|退院|在宅|療養|過ご|暮ら|生活)|の(?:人|方|患者|父|母|夫|妻))"))
# Someone bedridden or in terminal care who is "barely conscious" is a care situation, not an event —
# unless the sentence says something has just happened.
_CHRONIC_CONTEXT = re.compile(fold_kana(r"寝たきり|ねたきり|植物状態|遷延性|看取|終末期|末期|ターミナル|最期|余命"))
_PRESENT_CUE = re.compile(fold_kana(r"今|(?<![てでし])いま(?!す|せ)|さっき|先ほど|急に|突然|いきなり|たった今"))
_CAUSE_BEFORE_COLLAPSE = re.compile(fold_kana(r"(?:梗塞|出血|病気|疾患|がん|癌)で$"))


def _sentences(text: str, breaks: tuple[int, ...] = ()) -> list[tuple[str, tuple[int, ...]]]:
    """The sentences, each with its word breaks (positions in the sentence)."""
    out, start = [], 0
    for end in [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        if end > start:
            out.append((text[start:end], tuple(b - start for b in breaks if start < b < end)))
        start = end + 1
    return out


def _is_live(sentence: str, start: int, end: int, signal: Finding, phrase: bool = False, after: str = "") -> bool:
    """Whether the sign at sentence[start:end] is happening now; `after` is the rest of the message."""
    head, tail = sentence[:start], sentence[end:]
    if _JEST.search(sentence, start) or _STORY.search(sentence) or _MEMORY.search(sentence) \
            or _FALSE_ALARM.search(tail + after) or _FIGURE_HEAD.search(head) \
            or (_PET.search(sentence) and not _PERSON.search(sentence)):
        return False
    if _OVER.search(tail) or _OVER.search(after[:60]) or _SINCE.match(tail):
        return False
    if _CHRONIC_TAIL.match(tail) or _CHRONIC_AFTER.search(after[:40]) \
            or (_CHRONIC_HEAD.search(head) and not _PRESENT_CUE.search(head)):
        return False
    if sentence[start:end].endswith("くな") and tail.startswith(("い", "かった")):
        return False  # 「息は苦しくないし」: the pattern's 「苦しくな(って)」 read a negative
    # The conditional may start inside the match: 「倒れ|たら」 matched as 「倒れた」+「ら」.
    around_end = sentence[max(start, end - 2):]
    if _NEGATED.match(tail) or _CHRONIC_STATE.match(tail):
        return False
    if _HYPOTHETICAL_TAIL.match(tail) or _HYPOTHETICAL_TAIL.match(around_end) \
            or (phrase and _INNER_CONDITIONAL.search(sentence, start, end)):
        return False
    if _PAST_THEN_NOW.match(tail) or _ALREADY_IN_CARE.match(tail):
        return False
    if _HABIT_TAIL.search(tail.split("、", 1)[0][:16]):
        return False
    if signal.dead_tail is not None and signal.dead_tail.search(tail):
        return False
    if signal.dead_head is not None and signal.dead_head.search(head):
        return False
    if _HYPOTHETICAL_HEAD.search(head) or _HABIT_HEAD.search(head):
        return False
    cues = list(_TIME_CUE.finditer(head))
    if cues and cues[-1].group("past") and not _CLAUSE_RESTART.search(head, cues[-1].end()):
        return False
    if signal.family == "unresponsive" and _DISTRACTED.search(tail + "。" + after[:30]):
        return False
    if signal.family in ("unresponsive", "not_breathing") and _CHRONIC_CONTEXT.search(sentence) \
            and not _PRESENT_CUE.search(sentence):
        return False
    if signal.id == "collapsed" and _CAUSE_BEFORE_COLLAPSE.search(head):
        return False
    if signal.resolvable and _RESOLVED.search(tail):
        return False
    # 「最近歩くと息苦しい」: a slow change is for the nurse, not for 119.
    gradual = _GRADUAL.search(head) if signal.id in _GRADUAL_MATTERS else None
    return not (gradual and not _CLAUSE_RESTART.search(head, gradual.end()))

