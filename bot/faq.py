"""An FAQ entry as the core answers with it, and the hub's placeholders filled into its text.

Where entries come from (YAML files, the database) is knowledge's business (knowledge.faq).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER_PATTERN = re.compile(r"\{([^{}]*)\}")

# What each seed document is: (full title for the console and staff, short line for a resident's bubble).
SEED_TITLES = {
    "000": ("在宅医療連携拠点事業に関するQ&A（厚生労働省、平成24年度）", "厚生労働省 拠点事業Q&A（平成24年度）"),
    "001": ("在宅医療介護連携促進事業「広域型在宅医療連携拠点運営支援事業」の概要（県の補助事業）",
            "県の広域型拠点補助事業の概要"),
    "002": ("在宅医療連携拠点の事例と関連事業", "拠点の事例と関連事業"),
    "003": ("在宅医療連携拠点事業実施手順書（平成23年度）", "拠点事業実施手順書（平成23年度）"),
    "004": ("在宅医療において積極的役割を担う医療機関・連携拠点の役割", "積極的役割を担う医療機関・連携拠点"),
    "general": ("一般的な制度情報", "一般的な制度情報"),
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
    confirm: str | None = None  # a claim about the hub's own services the hub has still to confirm
    reviewed: str | None = None  # when the entry was last checked against its source (ISO date)
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
            confirm=(str(data["confirm"]).strip() if data.get("confirm") else None),
            reviewed=(str(data["reviewed"]) if data.get("reviewed") else None),
            file=file,
            line=line,
        )

    def to_mapping(self) -> dict[str, Any]:
        return {
            "id": self.id, "audience": self.audience, "question": self.question,
            "paraphrases": list(self.paraphrases), "answer": self.answer, "next_step": self.next_step,
            "quick_replies": list(self.quick_replies), "tags": list(self.tags), "source": self.source,
            "confirm": self.confirm, "reviewed": self.reviewed,
        }

    def claim_digest(self) -> str:
        """What a hub confirms when it confirms the entry's claim: the claim and the text that makes it.
        A confirmation holds while this is unchanged."""
        text = "\x1f".join((self.confirm or "", self.answer, self.next_step or ""))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def source_label(self, short: bool = False) -> str:
        """「出典: 在宅医療連携拠点事業に関するQ&A（…） Q1」 for the console; `short`: the one line under an
        answer (titles only). `general: 介護保険法 第8条` names the law: 「一般的な制度情報（介護保険法 第8条）」."""
        parts = []
        for piece in re.split(r"[,，]\s*|、(?=\s*(?:\d{3}\b|general\b))", self.source):
            key, _, rest = piece.strip().partition(" ")
            key, colon, law = key.partition(":")
            titles = SEED_TITLES.get(key)
            if titles is None:
                parts.append(piece.strip())
                continue
            detail = (law + " " + rest).strip() if colon else rest.strip()
            if short:  # the title only; a general entry names its law, without the details in brackets
                law_only = re.sub(r"（[^）]*）|\([^)]*\)", "", detail).strip()
                parts.append(law_only if key == "general" and colon and law_only else titles[1])
            elif key == "general":
                parts.append(f"{titles[0]}（{detail}）" if detail else titles[0])
            else:
                parts.append(f"{titles[0]} {detail}".strip())
        return "出典: " + "／".join(dict.fromkeys(parts))


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill the hub's own contact placeholders; unknown names are left visible, never crash."""
    return PLACEHOLDER_PATTERN.sub(lambda m: values.get(m.group(1), m.group(0)), text)
