"""Routing evaluation: the figures SPEC.md sets as quality bars, from predictions and expectations,
and the two baselines SPEC.md asks to report beside them."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.faq import FaqItem
from bot.normalize import canonical

# Targets are lower bounds, except those in AT_MOST.
TARGETS = {
    "route_accuracy": 0.92, "route_accuracy_lenient": None, "faq_top1": 0.90, "faq_top3": 0.97, "faq_mrr": None,
    "emergency_recall": 0.97, "emergency_precision": 0.95, "safe_first_rate": 1.00, "check_rate": 0.10,
    "other_to_staff": 0, "offer_rate": 0.10, "handoff_role_accuracy": 0.90,
    "resource_type_accuracy": 0.95, "resource_municipality_accuracy": 0.95,
}
AT_MOST = frozenset({"check_rate", "other_to_staff", "offer_rate"})
LABELS = {
    "route_accuracy": "route accuracy",
    "route_accuracy_lenient": "route accuracy (also_ok)", "faq_top1": "FAQ top-1", "faq_top3": "FAQ top-3", "faq_mrr": "FAQ MRR",
    "emergency_recall": "emergency recall", "emergency_precision": "emergency precision",
    "safe_first_rate": "safe-first rate (119 or check)", "check_rate": "check rate on non-emergencies",
    "other_to_staff": "off-topic handed to staff",
    "offer_rate": "hand-offs only offered",
    "handoff_role_accuracy": "handoff role accuracy", "resource_type_accuracy": "resource type accuracy",
    "resource_municipality_accuracy": "resource municipality accuracy",
}


@dataclass(frozen=True)
class Case:
    text: str
    expect: dict[str, Any]

    def accepted(self) -> list[dict[str, Any]]:
        return [self.expect, *self.expect.get("also_ok", [])]


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                data = json.loads(line)
                cases.append(Case(data["text"], data["expect"]))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{number}: not an evaluation line ({exc})") from None
    return cases


def score(cases: Sequence[Case], predictions: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Strict figures against `expect`; `also_ok` counts only in the lenient route accuracy.

    An emergency message is handled safely when it is routed `emergency` or its first reply is the
    red-flag check (`"check": true`); the check rate counts checks on messages that are not emergencies.
    A hand-off only offered (`"offer": true`: the reply asks whether to pass the message on; staff are
    told when the button is pressed) is not counted as handed to staff; its route is still "handoff",
    so it counts against route accuracy on an off-topic message, and the offer rate counts how many
    hand-off messages got only the offer."""
    route_ok = lenient_ok = faq_n = top1 = top3 = 0
    mrr = 0.0
    em_tp = em_fp = em_fn = safe = checks = other_to_staff = offers = 0
    role_n = role_ok = res_n = type_ok = muni_ok = 0
    for case, pred in zip(cases, predictions, strict=True):
        exp = case.expect
        route_ok += pred["route"] == exp["route"]
        lenient_ok += any(_route_matches(alt, pred) for alt in case.accepted())
        if exp["route"] == "faq":
            faq_n += 1
            top = pred.get("top") or []
            chosen = pred.get("faq_id") if pred["route"] == "faq" else None
            top1 += chosen == exp["faq_id"]
            top3 += exp["faq_id"] in top[:3]
            mrr += 1 / (top.index(exp["faq_id"]) + 1) if exp["faq_id"] in top else 0.0
        is_em, said_em = exp["route"] == "emergency", pred["route"] == "emergency"
        em_tp += is_em and said_em
        em_fp += said_em and not is_em
        em_fn += is_em and not said_em
        safe += is_em and (said_em or bool(pred.get("check")))
        checks += not is_em and bool(pred.get("check"))
        other_to_staff += (exp["route"] == "other" and pred["route"] == "handoff" and not pred.get("check")
                           and not pred.get("offer"))
        if exp["route"] == "handoff":
            role_n += 1
            offers += bool(pred.get("offer"))
            role_ok += pred["route"] == "handoff" and pred.get("role") == exp["role"]
        if exp["route"] == "resource":
            res_n += 1
            got = pred.get("resource") or {}
            type_ok += pred["route"] == "resource" and got.get("type") == exp["type"]
            muni_ok += pred["route"] == "resource" and got.get("municipality") == exp.get("municipality")
    n = len(cases)
    return {
        "route_accuracy": route_ok / n if n else None,
        "route_accuracy_lenient": lenient_ok / n if n else None,
        "faq_top1": top1 / faq_n if faq_n else None,
        "faq_top3": top3 / faq_n if faq_n else None,
        "faq_mrr": mrr / faq_n if faq_n else None,
        "emergency_recall": em_tp / (em_tp + em_fn) if em_tp + em_fn else None,
        "emergency_precision": em_tp / (em_tp + em_fp) if em_tp + em_fp else None,
        "safe_first_rate": safe / (em_tp + em_fn) if em_tp + em_fn else None,
        "check_rate": checks / (n - em_tp - em_fn) if n - em_tp - em_fn else None,
        "other_to_staff": other_to_staff if n else None,
        "offer_rate": offers / role_n if role_n else None,
        "handoff_role_accuracy": role_ok / role_n if role_n else None,
        "resource_type_accuracy": type_ok / res_n if res_n else None,
        "resource_municipality_accuracy": muni_ok / res_n if res_n else None,
    }


def _route_matches(expect: dict[str, Any], pred: dict[str, Any]) -> bool:
    if expect["route"] != pred["route"]:
        return False
    if expect["route"] == "faq":
        return pred.get("faq_id") == expect["faq_id"]
    if expect["route"] == "handoff":
        return pred.get("role") == expect["role"]
    if expect["route"] == "resource":
        return (pred.get("resource") or {}).get("type") == expect["type"]
    return True


def table(columns: dict[str, dict[str, float | None]]) -> str:
    """Metrics as rows, systems as columns, with the target beside them."""
    names = list(columns)
    width = max([16, *(len(n) + 2 for n in names)])
    lines = [f"{'metric':<32}{'target':>8}" + "".join(f"{n:>{width}}" for n in names)]
    for key, label in LABELS.items():
        row = f"{label:<32}{_target_text(key):>8}"
        for name in names:
            value = columns[name].get(key)
            row += f"{'-' if value is None else _figure(key, value):>{width}}"
        lines.append(row)
    return "\n".join(lines)


def _target_text(key: str) -> str:
    target = TARGETS[key]
    if target is None:
        return "-"
    return ("≤" if key in AT_MOST else "≥") + (str(target) if isinstance(target, int) else format(target, ".2f"))


def _figure(key: str, value: float) -> str:
    return str(int(value)) if isinstance(TARGETS[key], int) else format(value, ".3f")


def meets(key: str, value: float | None) -> bool:
    target = TARGETS[key]
    if target is None or value is None:
        return True  # a figure with no cases is not a miss
    return value <= target if key in AT_MOST else value >= target


def missed_targets(figures: dict[str, float | None]) -> list[str]:
    """The labels of the targets these figures do not meet (a figure with no cases is not a miss)."""
    return [LABELS[key] for key in TARGETS if not meets(key, figures.get(key))]


def predict_all(predict: Callable[[str], dict[str, Any]], cases: Iterable[Case]) -> list[dict[str, Any]]:
    return [predict(case.text) for case in cases]


# ------------------------------------------------------------------------------------------------
# Ablation: the learned model alone
# ------------------------------------------------------------------------------------------------


class ModelAlone:
    """The learned model without the rules: an emergency at the router's EMERGENCY, the red-flag
    check at its CHECK, else the model's most likely route (the FAQ matcher's best entry for faq, the
    resource parser's reading for resource)."""

    name = "model alone"

    def __init__(self, matcher: Any, model: Any) -> None:
        self.matcher = matcher
        self.model = model

    def predict(self, text: str) -> dict[str, Any]:
        from bot import router
        from bot.resource_query import parse_resource_query

        opinion = self.model.proba(text)
        top = [m.faq_id for m in self.matcher.search(text)]
        label = max((k for k in opinion if k != "emergency"), key=opinion.__getitem__)
        base = {"text": text, "route": label, "faq_id": None, "top": top, "role": None, "resource": None,
                "check": False}
        if opinion["emergency"] >= router.EMERGENCY:
            return {**base, "route": "emergency", "role": "nurse"}
        if opinion["emergency"] >= router.CHECK:
            return {**base, "route": "handoff", "role": "nurse", "check": True}
        if label in ("nurse", "msw", "any"):
            return {**base, "route": "handoff", "role": label}
        if label == "faq":
            return {**base, "faq_id": top[0] if top else None}
        if label == "resource":
            return {**base, "resource": parse_resource_query(text).to_dict()}
        return base


# ------------------------------------------------------------------------------------------------
# Baselines: FAQ retrieval only, so every message is routed "faq" with the best entry
# ------------------------------------------------------------------------------------------------


def _faq_only(text: str, faq_id: str | None, top: list[str]) -> dict[str, Any]:
    return {"text": text, "route": "faq", "faq_id": faq_id, "top": top[:5], "role": None, "resource": None}


class RapidfuzzBaseline:
    """Plain rapidfuzz: `process.extractOne` with WRatio over the FAQ questions, the message as typed
    (the top list from `process.extract`)."""

    name = "rapidfuzz WRatio"

    def __init__(self, items: Sequence[FaqItem]) -> None:
        self._ids = [item.id for item in items]
        self._questions = [item.question for item in items]

    def predict(self, text: str) -> dict[str, Any]:
        best = process.extractOne(text, self._questions, scorer=fuzz.WRatio)
        ranked = process.extract(text, self._questions, scorer=fuzz.WRatio, limit=5)
        return _faq_only(text, self._ids[best[2]] if best else None,
                         [self._ids[index] for _question, _score, index in ranked])


class BigramBm25Baseline:
    """Okapi BM25 (k1 1.2, b 0.75) over the character bigrams of every question and paraphrase, each a
    document; an entry scores as its best document. Text in `canonical` form (NFKC, kana folded)."""

    name = "bigram BM25"

    def __init__(self, items: Sequence[FaqItem], k1: float = 1.2, b: float = 0.75) -> None:
        self._owner: list[str] = []
        documents: list[Counter[str]] = []
        for item in items:
            for text in (item.question, *item.paraphrases):
                documents.append(Counter(_bigrams(text)))
                self._owner.append(item.id)
        lengths = [sum(doc.values()) for doc in documents]
        average = sum(lengths) / max(len(lengths), 1)
        frequency = Counter(term for doc in documents for term in doc)
        n = len(documents)
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, (doc, length) in enumerate(zip(documents, lengths, strict=True)):
            norm = k1 * (1 - b + b * length / max(average, 1e-9))
            for term, tf in doc.items():
                idf = math.log1p((n - frequency[term] + 0.5) / (frequency[term] + 0.5))
                self._postings[term].append((number, idf * tf * (k1 + 1) / (tf + norm)))

    def predict(self, text: str) -> dict[str, Any]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(_bigrams(text)):
            for number, weight in self._postings.get(term, ()):
                scores[number] += weight
        best: dict[str, float] = {}
        for number, value in scores.items():
            owner = self._owner[number]
            best[owner] = max(best.get(owner, 0.0), value)
        top = [owner for owner, _ in sorted(best.items(), key=lambda kv: -kv[1])[:5]]
        return _faq_only(text, top[0] if top else None, top)


def _bigrams(text: str) -> list[str]:
    t = "".join(canonical(text).split())
    return [t[i:i + 2] for i in range(len(t) - 1)] or ([t] if t else [])
