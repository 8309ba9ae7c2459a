"""FAQ retrieval: which entries answer this message, best first, with a score in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.normalize import canonical
from knowledge.faq import FaqItem


@dataclass(frozen=True)
class Match:
    faq_id: str
    score: float  # 0..1, comparable across messages (used for the answer / alternatives / hand-off bands)


class FaqMatcher:
    """Replaceable: anything with `search(text, k) -> list[Match]` fits the router."""

    def __init__(self, items: Sequence[FaqItem], synonyms: Sequence[Sequence[str]] = ()) -> None:
        self.items = {item.id: item for item in items}
        self._rewrites = sorted(
            ((canonical(term), canonical(group[0])) for group in synonyms for term in group[1:]),
            key=lambda pair: -len(pair[0]),
        )
        self._docs: list[str] = []
        self._owners: list[str] = []
        for item in items:
            for text in (item.question, *item.paraphrases):
                self._docs.append(self._prepare(text))
                self._owners.append(item.id)

    def search(self, text: str, k: int = 5) -> list[Match]:
        query = self._prepare(text)
        if not query or not self._docs:
            return []
        hits = process.extract(query, self._docs, scorer=fuzz.WRatio, limit=k * 8)
        best: dict[str, float] = {}
        for _doc, score, index in hits:
            owner = self._owners[index]
            best[owner] = max(best.get(owner, 0.0), score / 100.0)
        return [Match(i, s) for i, s in sorted(best.items(), key=lambda kv: -kv[1])[:k]]

    def _prepare(self, text: str) -> str:
        text = canonical(text)
        for variant, canon in self._rewrites:
            text = text.replace(variant, canon)
        return text
