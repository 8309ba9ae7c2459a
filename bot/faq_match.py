"""FAQ retrieval: which entries answer this message, best first, with a calibrated score in [0, 1].

How a message is matched
------------------------
1. **Preparation** (`MatchText`): the canonical form of `bot.normalize` (NFKC, lower case, katakana
   folded to hiragana), then the spellings people mix up folded together (spaces between Japanese
   words, 「ヶ」「ヵ」, small kana, a long-vowel mark written as the vowel it stands for), every synonym
   rewritten to its group's first term in one longest-match pass, and polite stop phrases
   (「について教えてください」「ですか」…) dropped.
2. **Reading** (`read`): SudachiPy (with sudachidict_core from PyPI) turns the prepared text into
   its reading in hiragana and into its content words. The reading lets a hiragana-only message
   (「ほうもんかんごを　たのみたい」) meet an entry written in kanji (「訪問看護を頼みたい」).
3. **Candidates** (`NgramIndex`): two BM25 indexes over character n-grams, one document per entry
   (question, paraphrases and tags together): bigrams of the prepared text and trigrams of its
   reading. Postings live in numpy arrays, so a message costs the postings of its own n-grams, not a
   scan of the knowledge base. Each index gives the share of the message's n-gram information an
   entry covers (0..1).
4. **Rescoring**: rapidfuzz `token_set_ratio` between the message's words and each question and
   paraphrase of the best lexical candidates (word order and extra words matter less than with a
   plain ratio).
5. **Fusion and calibration**: `fused = surface + READING_WEIGHT * reading + FUZZY_WEIGHT * fuzzy`;
   `score = logistic(fused, lead over the rival, evidence)`, an estimate of the chance that the
   entry is the right answer (see `CALIBRATION`). The router's bands compare it with thresholds.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process
from sudachipy import Dictionary, SplitMode, Tokenizer  # type: ignore[import-untyped]

from bot.faq import FaqItem
from bot.normalize import normalize

__all__ = ["FaqMatcher", "Match", "MatchText", "NgramIndex", "Ranked", "Reading", "SynonymRewriter", "fold_variants",
           "read", "read_entry_text"]


@dataclass(frozen=True)
class Match:
    faq_id: str
    score: float  # 0..1, comparable across messages (used for the answer / alternatives / hand-off bands)


@dataclass(frozen=True)
class Ranked:
    """One candidate with the signals behind its score, for evaluation, tuning and tests."""

    faq_id: str
    fused: float  # surface + READING_WEIGHT * reading + FUZZY_WEIGHT * fuzzy
    surface: float  # 0..1 share of the message's bigram information found in the entry (`NgramIndex`)
    reading: float  # the same over readings
    fuzzy: float  # 0..1 best rapidfuzz token_set_ratio against the entry's question and paraphrases
    evidence: float  # the surface information the entry holds, not divided by the message's (idf units)


# Fusion weights: a grid sweep maximising FAQ top-1 on dev plus top-1 on the knowledge base's own
# paraphrases held out five ways (each fifth matched against an index of the other four); a plateau,
# not a peak (reading 1.0–2.0 and fuzzy 0.05–0.15 are all within one message of the best).
READING_WEIGHT = 1.5
FUZZY_WEIGHT = 0.1
# Kana readings are matched by trigrams: kana bigrams (「りよ」「よう」) are too common to carry much.
READING_NGRAM = 3
# A message's coverage is shrunk as if it had this many more average bigrams that no entry holds, so
# that 「はい」 or 「了解です」, whose one or two bigrams occur somewhere, cannot look like a full match.
PRIOR_TERMS = 4.0
# How many entries the rapidfuzz rescoring looks at (the lexical top).
RESCORE_CANDIDATES = 10
# score = logistic(a * fused + b * (fused - rival's fused) + c * ln(1 + evidence) + d), the rival being
# the runner-up for the best entry and the best entry for the others. Evidence (the idf the entry
# shares with the message, undivided) tells a vague 「相談したいことがあります」, made of common
# bigrams only, from a real question that merely has many words besides its topic. (a, b, c, d) is a
# logistic regression of "the best entry is the expected one" on the dev messages that reach the FAQ
# stage: the FAQ ones, and the hand-off and small-talk ones as messages the FAQ must not answer.
# Cross-validated (5 × 5 folds) its scores bin as 0–0.2: 0 % right (n 45), 0.2–0.4: 55 % (11),
# 0.4–0.6: 44 % (9), 0.6–0.8: 71 % (24), 0.8–1: 97 % (203). Refit when the knowledge base changes much.
CALIBRATION = (5.44, 9.29, 2.11, -8.51)


class FaqMatcher:
    """Replaceable: anything with `search(text, k) -> list[Match]` fits the router."""

    def __init__(self, items: Sequence[FaqItem], synonyms: Sequence[Sequence[str]] = (),
                 reader: Reader | None = None) -> None:
        self.items = {item.id: item for item in items}
        self.prepare = MatchText(synonyms)
        self.reader = reader or read
        read_entry = reader or read_entry_text
        self._ids = [item.id for item in items]
        surface_docs: list[str] = []
        reading_docs: list[str] = []
        self._phrase_words: list[str] = []  # every question and paraphrase, as words, entry by entry
        phrase_counts: list[int] = []
        for item in items:
            phrases = [self.prepare(text) for text in (item.question, *item.paraphrases)]
            tags = [self.prepare(tag) for tag in item.tags]
            readings = [read_entry(text) for text in (*phrases, *tags)]
            surface_docs.append(" ".join((*phrases, *tags)))
            reading_docs.append(" ".join(reading.kana for reading in readings))
            self._phrase_words.extend(reading.words for reading in readings[:len(phrases)])
            phrase_counts.append(len(phrases))
        self._phrase_start = np.concatenate(([0], np.cumsum(phrase_counts)[:-1])).astype(np.int64)
        self._phrase_count = np.asarray(phrase_counts, dtype=np.int64)
        self.surface_index = NgramIndex(surface_docs, prior_terms=PRIOR_TERMS)
        self.reading_index = NgramIndex(reading_docs, READING_NGRAM, prior_terms=PRIOR_TERMS)

    def search(self, text: str, k: int = 5) -> list[Match]:
        ranked = self.rank(text, k + 1)
        if not ranked:
            return []
        best = ranked[0].fused
        runner_up = ranked[1].fused if len(ranked) > 1 else 0.0
        matches: list[Match] = []
        for position, candidate in enumerate(ranked[:k]):
            rival = runner_up if position == 0 else best
            chance = calibrated(candidate, candidate.fused - rival)
            if matches:  # best first: a lower entry never scores above the one before it
                chance = min(chance, matches[-1].score)
            matches.append(Match(candidate.faq_id, chance))
        return matches

    def rank(self, text: str, k: int = 5) -> list[Ranked]:
        """The best `k` entries with their raw signals, best first."""
        prepared = self.prepare(text)
        if not prepared.strip() or not self._ids:
            return []
        reading = self.reader(prepared)
        held, most = self.surface_index.information(prepared)
        surface = held / most if most else held
        kana = self.reading_index.coverage(reading.kana)
        lexical = surface + READING_WEIGHT * kana
        candidates = _top(lexical, min(RESCORE_CANDIDATES, len(self._ids)))
        candidates = candidates[lexical[candidates] > 0]
        if not len(candidates):
            return []
        fuzzy = self._fuzzy(reading.words, candidates)
        fused = lexical[candidates] + FUZZY_WEIGHT * fuzzy
        order = np.argsort(-fused, kind="stable")[:k]
        return [Ranked(self._ids[candidates[i]], float(fused[i]), float(surface[candidates[i]]),
                       float(kana[candidates[i]]), float(fuzzy[i]), float(held[candidates[i]]))
                for i in order]

    def _fuzzy(self, words: str, entries: np.ndarray) -> np.ndarray:
        """Best token_set_ratio of `words` against each entry's phrases (0..1)."""
        starts, counts = self._phrase_start[entries], self._phrase_count[entries]
        choices = [self._phrase_words[i] for s, n in zip(starts, counts, strict=True) for i in range(s, s + n)]
        if not words or not choices:
            return np.zeros(len(entries))
        similarity = process.cdist([words], choices, scorer=fuzz.token_set_ratio, dtype=np.uint8)[0]
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        return np.maximum.reduceat(similarity, offsets).astype(np.float64) / 100.0


def calibrated(candidate: Ranked, margin: float) -> float:
    """The chance that this entry, with this lead over its rival, is the answer (see CALIBRATION)."""
    fused_slope, margin_slope, evidence_slope, intercept = CALIBRATION
    logit = (fused_slope * candidate.fused + margin_slope * margin
             + evidence_slope * math.log1p(candidate.evidence) + intercept)
    return 1.0 / (1.0 + math.exp(-logit))


def _top(values: np.ndarray, n: int) -> np.ndarray:
    if n >= len(values):
        return np.arange(len(values))
    return np.argpartition(-values, n - 1)[:n]


# ------------------------------------------------------------------------------------------------
# Preparation
# ------------------------------------------------------------------------------------------------

_SPACE_BETWEEN_JAPANESE = re.compile(r"(?<![0-9a-z]) | (?![0-9a-z])")
_SEPARATORS = re.compile(r"[\s、。，．,.!?！？「」『』（）()\[\]【】・…:：;；/／|｜\"'“”‘’〜~＊*#＃@＠★☆※♪-]+")
# bot.normalize.fold_kana as a translation table (the same range, ァ..ヶ), which is much faster.
_KATAKANA_TO_HIRAGANA = {code: code - (ord("ァ") - ord("ぁ")) for code in range(ord("ァ"), ord("ヶ") + 1)}
# Small vowels and ゕゖ (ヵヶ once folded) read か (「ディ」 = 「デイ」, 「1ヶ所」 = 「1か所」); ゃゅょっ are kept, as
# 「しょう」 and 「しよう」 are different words.
_SMALL_KANA = str.maketrans("ぁぃぅぇぉゎゕゖ", "あいうえおわかか")
# The vowel a long-vowel mark after each kana stands for (「ざいたくいりょー」 = 「ざいたくいりょう」;
# e-row kana take い, o-row う, as Japanese spells long vowels); a run of marks counts as one.
_VOWEL_OF = {kana: vowel for row, vowel in (
    ("あかさたなはまやらわがざだばぱぁゃゎ", "あ"), ("いきしちにひみりぎじぢびぴぃ", "い"),
    ("うくすつぬふむゆるぐずづぶぷぅゅゔ", "う"), ("えけせてねへめれげぜでべぺぇ", "い"),
    ("おこそとのほもよろをごぞどぼぽぉょ", "う")) for kana in row}
_LONG_VOWEL = re.compile(f"([{''.join(_VOWEL_OF)}])ー+")
# Polite frames that say nothing about the topic, in the spellings people use.
STOP_PHRASES = ("について教えてください", "について教えて", "について知りたい", "を教えてください", "教えてください",
                "教えてほしい", "についておしえてください", "についておしえて", "おしえてください", "おしえてほしい",
                "のでしょうか", "でしょうか", "ですか", "ますか", "ください")


def fold_variants(text: str) -> str:
    """`bot.normalize.canonical`, then the spellings that mean the same folded together (see the
    module docstring)."""
    text = normalize(text).translate(_KATAKANA_TO_HIRAGANA)
    text = _SPACE_BETWEEN_JAPANESE.sub("", text)
    if "ー" in text:
        text = _LONG_VOWEL.sub(lambda m: m.group(1) + _VOWEL_OF[m.group(1)], text).replace("ー", "")
    return text.translate(_SMALL_KANA)


class MatchText:
    """Message or entry text → the form the indexes compare (one space between phrases)."""

    def __init__(self, synonyms: Iterable[Sequence[str]] = ()) -> None:
        self.rewrite = SynonymRewriter(synonyms)
        stops = "|".join(sorted({re.escape(fold_variants(s)) for s in STOP_PHRASES}, key=len, reverse=True))
        self._stops = re.compile(stops)

    def __call__(self, text: str) -> str:
        text = self.rewrite(fold_variants(text))
        text = self._stops.sub(" ", text)
        return _SEPARATORS.sub(" ", text).strip()


class SynonymRewriter:
    """Every term of a group → the group's first term, in one pass, longest term first at each place.

    One pass means a rewritten term is never rewritten again, and longest first means a full term
    (「地域包括支援センター」) is taken whole before any shorter term inside it (「包括」).
    """

    def __init__(self, groups: Iterable[Sequence[str]]) -> None:
        self._canonical: dict[str, str] = {}
        for group in groups:
            terms = [fold_variants(str(term)) for term in group if str(term).strip()]
            for term in terms:
                self._canonical.setdefault(term, terms[0])
        alternatives = sorted(self._canonical, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._canonical[m.group(0)], text)


# ------------------------------------------------------------------------------------------------
# Reading and words (SudachiPy)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    kana: str  # the text read in hiragana, variants folded; digits and Latin (ASCII) kept as written
    words: str  # content words (no particles, auxiliaries, symbols), space-separated, for rapidfuzz


Reader = Callable[[str], Reading]

_CONTENT, _FUNCTION, _SYMBOL = "content", "function", "symbol"
_BREAK = "|"
_CHUNK = 10_000  # characters; at most 4 bytes each in UTF-8
_sudachi_dictionary: Dictionary | None = None
_sudachi_lock = threading.Lock()
_per_thread = threading.local()


def read(prepared: str) -> Reading:
    """The reading and the content words of a prepared text."""
    kana: list[str] = []
    words: list[str] = []
    tokenizer_ = tokenizer()
    for start in range(0, len(prepared), _CHUNK):  # SudachiPy refuses inputs over 49,149 bytes
        for morpheme in tokenizer_.tokenize(prepared[start:start + _CHUNK]):
            kind = _kind_of(morpheme.part_of_speech_id())
            if kind == _SYMBOL:
                kana.append(_BREAK)
                continue
            surface = morpheme.surface()
            kana.append(surface if surface.isascii() else morpheme.reading_form())
            if kind == _CONTENT:
                words.append(surface)
    # Folding drops spaces between Japanese words, so phrase breaks are marked with _BREAK meanwhile.
    return Reading(fold_variants("".join(kana)).replace(_BREAK, " "), " ".join(words))


@lru_cache(maxsize=65536)
def read_entry_text(prepared: str) -> Reading:
    """`read`, cached: every matcher built in a process (tests, a reload after a knowledge edit)
    reads the same entry texts again. Messages are not cached: they seldom repeat."""
    return read(prepared)


@lru_cache(maxsize=4096)
def _kind_of(part_of_speech_id: int) -> str:
    """Content word, particle or auxiliary, or symbol and space: from the part of speech."""
    assert _sudachi_dictionary is not None  # a tokenizer exists, so the dictionary does
    head = _sudachi_dictionary.pos_of(part_of_speech_id)[0]
    if head in ("補助記号", "空白"):
        return _SYMBOL
    return _FUNCTION if head in ("助詞", "助動詞") else _CONTENT


def tokenizer() -> Tokenizer:
    """One SudachiPy dictionary per process, one tokenizer per thread (a tokenizer must not be
    shared between threads)."""
    tokenizer: Tokenizer | None = getattr(_per_thread, "tokenizer", None)
    if tokenizer is None:
        global _sudachi_dictionary
        with _sudachi_lock:
            if _sudachi_dictionary is None:
                _sudachi_dictionary = Dictionary(dict="core")
        tokenizer = _per_thread.tokenizer = _sudachi_dictionary.tokenizer(SplitMode.C)
    return tokenizer


# ------------------------------------------------------------------------------------------------
# BM25 over character n-grams, postings in numpy arrays
# ------------------------------------------------------------------------------------------------


class NgramIndex:
    """Okapi BM25 over the character n-grams of each document (n-grams never cross a space).

    `coverage(text)` gives every document's BM25 score divided by the most the message could
    score, (k1 + 1) × the sum of the idf of its n-grams (an n-gram no document has counts with the
    highest idf) plus `prior_terms` average ones: the share of the message's information the
    document holds, 0..1.
    """

    def __init__(self, documents: Sequence[str], n: int = 2, k1: float = 1.2, b: float = 0.75,
                 prior_terms: float = 0.0) -> None:
        self.n, self.k1, self.b = n, k1, b
        self.size = len(documents)
        doc_of, keys = _ngram_keys(documents, n)
        self.keys, term_of = np.unique(keys, return_inverse=True)
        n_terms = len(self.keys)
        # term frequency per (term, document), term-major so that a term's postings are contiguous
        pair = term_of.astype(np.int64) * max(self.size, 1) + doc_of
        pairs, tf = np.unique(pair, return_counts=True)
        posting_term = pairs // max(self.size, 1)
        self.posting_doc = (pairs % max(self.size, 1)).astype(np.int32)
        df = np.bincount(posting_term, minlength=n_terms)
        self.idf = np.log1p((self.size - df + 0.5) / (df + 0.5))
        self.unseen_idf = math.log1p((self.size + 0.5) / 0.5)
        length = np.bincount(doc_of, minlength=self.size).astype(np.float64)
        norm = k1 * (1 - b + b * length / max(length.mean() if self.size else 1.0, 1e-9))
        self.posting_weight = (self.idf[posting_term] * tf * (k1 + 1)
                               / (tf + norm[self.posting_doc])).astype(np.float32)
        self.indptr = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        self.prior = prior_terms * (float(self.idf.mean()) if n_terms else 0.0)

    def coverage(self, text: str) -> np.ndarray:
        """Every document's share of the message's n-gram information, 0..1."""
        held, most = self.information(text)
        return held / most if most else held

    def information(self, text: str) -> tuple[np.ndarray, float]:
        """What each document holds of the message (BM25 / (k1 + 1): the idf of the n-grams it has,
        saturated by their frequency), and the most it could hold (the message's own idf plus the
        prior)."""
        held = np.zeros(self.size)
        query = np.unique(np.asarray(_text_keys(text, self.n), dtype=np.int64))
        if not len(query) or not self.size:
            return held, 0.0
        at = np.searchsorted(self.keys, query)
        known = at < len(self.keys)
        known[known] = self.keys[at[known]] == query[known]
        terms = at[known]
        most = float(self.idf[terms].sum() + self.unseen_idf * (len(query) - len(terms)) + self.prior)
        if len(terms):
            spans = [(self.indptr[t], self.indptr[t + 1]) for t in terms]
            docs = np.concatenate([self.posting_doc[s:e] for s, e in spans])
            weights = np.concatenate([self.posting_weight[s:e] for s, e in spans])
            held = np.bincount(docs, weights=weights, minlength=self.size) / (self.k1 + 1)
        return held, most

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.keys, self.idf, self.posting_doc, self.posting_weight, self.indptr))


def _text_keys(text: str, n: int) -> list[int]:
    keys = []
    for start in range(len(text) - n + 1):
        gram = text[start:start + n]
        if " " not in gram:
            key = 0
            for ch in gram:
                key = (key << 21) | ord(ch)
            keys.append(key)
    return keys


def _ngram_keys(documents: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(document number, n-gram key) for every n-gram of every document, vectorised."""
    if not documents:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    joined = " ".join(documents) + " "
    chars = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.int64)
    lengths = np.fromiter((len(d) + 1 for d in documents), dtype=np.int64, count=len(documents))
    doc_of_char = np.repeat(np.arange(len(documents), dtype=np.int64), lengths)
    space = ord(" ")
    count = len(chars) - n + 1
    valid = np.ones(count, dtype=bool)
    keys = np.zeros(count, dtype=np.int64)
    for offset in range(n):
        part = chars[offset:offset + count]
        valid &= part != space
        keys = (keys << 21) | part
    return doc_of_char[:count][valid], keys[valid]
