"""The learned second opinion on routing: a linear model over character n-grams of the text and of
its reading, trained on the message corpus (`corpus/`), with the rules of `bot.red_flags` and
`bot.triage` beside it.

Features: character 1–3-grams of the prepared text (the red-flag preparation: normalised, dialect
forms and wrong conversions mended, hedges removed) and character 2–3-grams of its SudachiPy
reading (so 「地を吐いた」, 「ちをはいた」 and 「血を吐いた」 share features), each weighted
1 + ln(count) times its idf, the vector scaled to unit length. Labels: the route, with a hand-off's
role (`emergency`, `nurse`, `msw`, `any`, `faq`, `resource`, `other`).

Training (`zaitaku-desk train`) fits a multinomial logistic regression (scikit-learn) and stores the
vocabulary, idf and weights in a compressed numpy file; inference is a sparse dot product in numpy,
so serving needs no scikit-learn. The same corpus gives the same file.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.red_flags import RedFlags, red_flags

__all__ = ["LABELS", "MODEL_FILE", "RouteModel", "corpus_files", "label_of", "model", "read_corpus", "train"]

MODEL_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "route_model.npz"
# The corpus (written by people who never saw the rules, see corpus/README.md) and the dev set beside
# the repository.
CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
DEV_SET = CORPUS_DIR.parent.parent / "shared" / "eval" / "dev.jsonl"
LABELS = ("emergency", "nurse", "msw", "any", "faq", "resource", "other")
MIN_DF = 2  # an n-gram seen in one message only says nothing about the next one
C = 8.0  # inverse regularisation, chosen by cross-validation on the corpus (see README)


def label_of(expect: dict[str, Any]) -> str:
    """The model's label for an evaluation line's `expect`."""
    route = expect["route"]
    return (expect.get("role") or "any") if route == "handoff" else route


def ngrams(text: str, flags: RedFlags | None = None, readings: bool = True) -> Counter[str]:
    """The features of one message before weighting. `flags` and `readings` are for ablations: the
    preparation of another red-flag file (e.g. without its spellings), no reading n-grams."""
    flags = flags or red_flags()
    prepared = flags.prepare(text).replace(" ", "")
    grams: Counter[str] = Counter()
    for n in (1, 2, 3):
        grams.update(prepared[i:i + n] for i in range(len(prepared) - n + 1))
    if readings:
        kana = flags.reading_of(text)
        for n in (2, 3):
            grams.update("~" + kana[i:i + n] for i in range(len(kana) - n + 1))
    return grams


@dataclass(frozen=True)
class RouteModel:
    vocabulary: dict[str, int]
    idf: np.ndarray  # per feature
    weights: np.ndarray  # labels × features
    bias: np.ndarray  # per label
    labels: tuple[str, ...] = LABELS
    flags: RedFlags | None = None  # ablations only: features prepared by another red-flag file
    readings: bool = True  # ablations only: False for a model without reading n-grams

    def proba(self, text: str) -> dict[str, float]:
        columns, values = self._vector(ngrams(text, self.flags, self.readings))
        logits = self.bias + (self.weights[:, columns] @ values if len(columns) else 0.0)
        exp = np.exp(logits - logits.max())
        return dict(zip(self.labels, (exp / exp.sum()).tolist(), strict=True))

    def _vector(self, grams: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        pairs = [(self.vocabulary[g], 1.0 + math.log(c)) for g, c in grams.items() if g in self.vocabulary]
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        columns = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        values = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs)) * self.idf[columns]
        return columns, values / max(float(np.linalg.norm(values)), 1e-12)

    def save(self, path: Path = MODEL_FILE) -> None:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        np.savez_compressed(path, terms=np.array(terms), idf=self.idf.astype(np.float32),
                            weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32),
                            labels=np.array(self.labels))

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> RouteModel:
        with np.load(path, allow_pickle=False) as data:
            terms = data["terms"].tolist()
            return cls({t: i for i, t in enumerate(terms)}, data["idf"].astype(np.float64),
                       data["weights"].astype(np.float64), data["bias"].astype(np.float64),
                       tuple(data["labels"].tolist()))


@cache
def model() -> RouteModel:
    return RouteModel.load()


def train(texts: Sequence[str], labels: Sequence[str], c: float = C, flags: RedFlags | None = None,
          readings: bool = True) -> RouteModel:
    """Fit the model on messages and their labels (deterministic: same input, same model)."""
    from scipy.sparse import csr_matrix  # training only
    from sklearn.linear_model import LogisticRegression

    grams = [ngrams(t, flags, readings) for t in texts]
    df: Counter[str] = Counter(g for doc in grams for g in doc)
    terms = sorted(g for g, n in df.items() if n >= MIN_DF)
    vocabulary = {t: i for i, t in enumerate(terms)}
    idf = np.array([math.log((1 + len(texts)) / (1 + df[t])) + 1.0 for t in terms])
    partial = RouteModel(vocabulary, idf, np.zeros((len(LABELS), len(terms))), np.zeros(len(LABELS)))
    rows, cols, vals = [], [], []
    for row, doc in enumerate(grams):
        columns, values = partial._vector(doc)
        rows += [row] * len(columns)
        cols += columns.tolist()
        vals += values.tolist()
    x = csr_matrix((vals, (rows, cols)), shape=(len(texts), len(terms)))
    y = np.array([LABELS.index(label) for label in labels])
    fit = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, y)
    weights = np.zeros((len(LABELS), len(terms)))
    bias = np.zeros(len(LABELS)) - 30.0  # a label with no training message is never predicted
    for index, label in enumerate(fit.classes_):
        weights[label] = fit.coef_[index]
        bias[label] = fit.intercept_[index]
    return RouteModel(vocabulary, idf, weights, bias, flags=flags, readings=readings)


def corpus_files() -> list[Path]:
    """What the model is trained on: every corpus file, including the rounds already scored, and the dev set."""
    files = sorted(CORPUS_DIR.glob("*/*.jsonl"))
    if not DEV_SET.exists():
        raise FileNotFoundError(f"{DEV_SET}: the dev set is part of the training data")
    return [*files, DEV_SET]


def read_corpus(paths: Iterable[Path]) -> tuple[list[str], list[str]]:
    """Texts and labels from evaluation-shaped JSON Lines files."""
    texts, labels = [], []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                texts.append(data["text"])
                labels.append(label_of(data["expect"]))
    return texts, labels
