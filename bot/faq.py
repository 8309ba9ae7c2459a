"""An FAQ entry as the core answers with it, and the hub's placeholders filled into its text.

Where entries come from (YAML files, the database) is knowledge's business (knowledge.faq).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER_PATTERN = re.compile(r"\{([^{}]*)\}")

# What each seed document is, for answers that say where they come from.
SEED_TITLES = {
    "000": "在宅医療連携拠点事業に関するQ&A（厚生労働省、平成24年度）",
    "001": "広域型在宅医療連携拠点の補助事業（厚生労働省）",
    "002": "在宅医療連携拠点の事例と関連事業（厚生労働省）",
    "003": "在宅医療連携拠点事業 実施の手引き（厚生労働省）",
    "004": "在宅医療において積極的役割を担う医療機関・連携拠点の役割（厚生労働省）",
    "general": "一般的な制度情報",
}


@dataclass(frozen=True)
class FaqItem:
    id: str
    audience: str
    question: str
    answer: str
    source: str
    paraphrases: tuple[str, ...] = ()
    next_step: str | None = None
    quick_replies: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    file: str = ""
    line: int = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str = "", line: int = 0) -> FaqItem:
        return cls(
            id=str(data["id"]),
            audience=str(data["audience"]),
            question=str(data["question"]).strip(),
            answer=str(data["answer"]).strip(),
            source=str(data["source"]),
            paraphrases=tuple(str(p) for p in data.get("paraphrases") or ()),
            next_step=(str(data["next_step"]).strip() if data.get("next_step") else None),
            quick_replies=tuple(str(q) for q in data.get("quick_replies") or ()),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            file=file,
            line=line,
        )

    def to_mapping(self) -> dict[str, Any]:
        return {
            "id": self.id, "audience": self.audience, "question": self.question,
            "paraphrases": list(self.paraphrases), "answer": self.answer, "next_step": self.next_step,
            "quick_replies": list(self.quick_replies), "tags": list(self.tags), "source": self.source,
        }

    def source_label(self) -> str:
        """「出典: 在宅医療連携拠点事業に関するQ&A（…） Q1」 for the reply footer."""
        parts = []
        for piece in re.split(r"[,、]\s*", self.source):
            key = piece.split()[0] if piece.split() else ""
            title = SEED_TITLES.get(key)
            parts.append(f"{title} {piece[len(key):].strip()}".strip() if title and key != "general"
                         else (title or piece))
        return "出典: " + "／".join(parts)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill the hub's own contact placeholders; unknown names are left visible, never crash."""
    return PLACEHOLDER_PATTERN.sub(lambda m: values.get(m.group(1), m.group(0)), text)
