"""What a hub reads before it puts its name under the answers: each entry's length and lines, terms a
resident may not know left unexplained, claims about the hub still to confirm, the hub's own facts
still blank, its source and when it was last reviewed. `kb validate` turns the resident rules into
problems; `kb review` and the console's 公開前チェック show the whole report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.faq import PLACEHOLDER_PATTERN, FaqItem
from knowledge.hub import HubFacts

GLOSSARY = Path(__file__).parent / "data" / "glossary.yaml"
# A resident's first bubble answers in about this many characters (newlines not counted; a placeholder
# counts as PLACEHOLDER_CHARS, whatever the hub fills in), in lines of at most LINE_MAX.
FIRST_BUBBLE_MAX = 200
LINE_MAX = 50
NEXT_STEP_MAX = 140
SOURCE_LINE_MAX = 60  # the 出典 line under the answer
PLACEHOLDER_CHARS = 15
PHONE_LINE = "☎ {hub_phone}"


@dataclass(frozen=True)
class Term:
    term: str
    explain: str
    entry: str | None = None  # the entry about the term, which explains it in its own words


def load_glossary(path: Path = GLOSSARY) -> list[Term]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    terms = [Term(str(t["term"]), str(t["explain"]), t.get("entry")) for t in data.get("terms") or []]
    return sorted(terms, key=lambda t: -len(t.term))  # 在宅療養支援診療所 before any shorter term inside it


def chars(text: str) -> int:
    """Length as a reader sees it on a phone: newlines not counted, a placeholder as PLACEHOLDER_CHARS."""
    return len(PLACEHOLDER_PATTERN.sub("x" * PLACEHOLDER_CHARS, text).replace("\n", ""))


def unexplained(item: FaqItem, glossary: Iterable[Term]) -> list[str]:
    """(For residents) glossary terms whose first appearance in the answer or next step has no 「（…）」 right after it."""
    text = item.answer + "\n" + (item.next_step or "")
    missing = []
    for term in glossary:
        at = text.find(term.term)
        if at < 0 or term.entry == item.id:
            continue
        if not text[at + len(term.term):].startswith("（"):
            missing.append(term.term)
    return missing


@dataclass
class EntryReview:
    item: FaqItem
    first_bubble: int
    longest_line: int
    next_step: int
    unexplained: list[str]
    hub_facts: list[str]  # the hub's facts this entry shows
    unfilled_facts: list[str]  # …of which the hub has not written its own yet
    confirm: str | None  # a claim about the hub still to confirm (None: nothing open)
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not (self.problems or self.unfilled_facts or self.confirm) and self.item.reviewed is not None


def review_entry(item: FaqItem, glossary: Iterable[Term], facts: HubFacts | None = None,
                 confirmed: bool = False) -> EntryReview:
    """`facts`: the hub's, to say which of them the entry shows still blank; `confirmed`: the hub has
    confirmed the entry's claim (in the database)."""
    values, blank = (facts.values, facts.unfilled()) if facts else ({}, [])
    lines = [line for line in (item.answer + "\n" + (item.next_step or "")).splitlines() if line.strip()]
    used = [name for name in dict.fromkeys(PLACEHOLDER_PATTERN.findall(item.answer + (item.next_step or "")))
            if name in values]
    review = EntryReview(
        item=item, first_bubble=chars(item.answer), longest_line=max((chars(line) for line in lines), default=0),
        next_step=chars(item.next_step or ""), hub_facts=used,
        unexplained=unexplained(item, glossary) if item.audience == "resident" else [],
        unfilled_facts=[name for name in used if name in blank],
        confirm=None if confirmed else item.confirm)
    if item.audience == "resident":
        review.problems = resident_problems(item, review)
    return review


def resident_problems(item: FaqItem, review: EntryReview) -> list[str]:
    """The rules a resident entry must keep: short enough for a phone, terms explained, the phone alone."""
    problems = []
    if review.first_bubble > FIRST_BUBBLE_MAX:
        problems.append(f"最初の吹き出し（answer）が {review.first_bubble} 字です（{FIRST_BUBBLE_MAX} 字まで）")
    if review.longest_line > LINE_MAX:
        problems.append(f"{LINE_MAX} 字を超える行があります（最長 {review.longest_line} 字）: 1行に1つのことを")
    if review.next_step > NEXT_STEP_MAX:
        problems.append(f"next_step が {review.next_step} 字です（{NEXT_STEP_MAX} 字まで）")
    for text in (item.answer, item.next_step or ""):
        for line in text.splitlines():
            if "{hub_phone}" in line and line.strip() != PHONE_LINE:
                problems.append(f"電話番号は1行に単独で「{PHONE_LINE}」と書きます: 「{line.strip()}」")
    problems += [f"用語「{term}」が最初に出る所に説明「（…）」がありません（glossary.yaml）"
                 for term in review.unexplained]
    if len(source := item.source_label(short=True)) > SOURCE_LINE_MAX:
        problems.append(f"出典の行が {len(source)} 字です（{SOURCE_LINE_MAX} 字まで）: {source}")
    if not item.reviewed:
        problems.append("reviewed（出典と照らして確認した日）がありません")
    return problems

