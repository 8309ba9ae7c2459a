"""Routing evaluation: the figures SPEC.md sets as quality bars, from predictions and expectations."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGETS = {
    "route_accuracy": 0.92, "route_accuracy_lenient": None, "faq_top1": 0.90, "faq_top3": 0.97, "faq_mrr": None,
    "emergency_recall": 1.00, "emergency_precision": 0.95, "handoff_role_accuracy": 0.90,
    "resource_type_accuracy": 0.95, "resource_municipality_accuracy": 0.95,
}
LABELS = {
    "route_accuracy": "route accuracy",
    "route_accuracy_lenient": "route accuracy (also_ok)", "faq_top1": "FAQ top-1", "faq_top3": "FAQ top-3", "faq_mrr": "FAQ MRR",
    "emergency_recall": "emergency recall", "emergency_precision": "emergency precision",
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
    """Strict figures against `expect`; `also_ok` counts only in the lenient route accuracy."""
    route_ok = lenient_ok = faq_n = top1 = top3 = 0
    mrr = 0.0
    em_tp = em_fp = em_fn = 0
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
        if exp["route"] == "handoff":
            role_n += 1
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
    lines = [f"{'metric':<32}{'target':>8}" + "".join(f"{n:>16}" for n in names)]
    for key, label in LABELS.items():
        target = TARGETS[key]
        row = f"{label:<32}{('≥' + format(target, '.2f')) if target is not None else '-':>8}"
        for name in names:
            value = columns[name].get(key)
            row += f"{'-' if value is None else format(value, '.3f'):>16}"
        lines.append(row)
    return "\n".join(lines)


def predict_all(predict: Callable[[str], dict[str, Any]], cases: Iterable[Case]) -> list[dict[str, Any]]:
    return [predict(case.text) for case in cases]
