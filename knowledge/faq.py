"""FAQ entries: YAML files people can edit, their loading and their validation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.faq import PLACEHOLDER_PATTERN, FaqItem
from knowledge.hub import FACTS
from knowledge.review import load_glossary, review_entry

DATA = Path(__file__).parent / "data"
FAQ_DIR = DATA / "faq"
SYNONYMS = DATA / "synonyms.yaml"
PLACEHOLDERS = frozenset({"hub_name", "hub_phone", "desk_hours", *FACTS})
AUDIENCES = frozenset({"resident", "professional", "operator"})
REQUIRED = ("id", "audience", "question", "paraphrases", "answer", "source")
_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")

@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class FaqLoad:
    items: list[FaqItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def load_faq(directory: Path = FAQ_DIR) -> list[FaqItem]:
    result = read_faq(directory)
    if result.problems:
        raise ValueError("invalid FAQ files:\n" + "\n".join(map(str, result.problems)))
    return result.items


def read_faq(directory: Path = FAQ_DIR) -> FaqLoad:
    """Every entry with its file and line, and every problem found on the way."""
    result = FaqLoad()
    seen: dict[str, Problem] = {}
    for path in sorted(directory.glob("*.yaml")):
        _read_document(path.read_text(encoding="utf-8"), path.name, result, seen)
    return result


def read_faq_text(text: str, name: str = "upload") -> FaqLoad:
    """One YAML document in the shape of knowledge/data/faq/*.yaml (an upload), checked the same way."""
    result = FaqLoad()
    _read_document(text, name, result, {})
    return result


def _read_document(text: str, name: str, result: FaqLoad, seen: dict[str, Problem]) -> None:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        result.problems.append(Problem(name, (mark.line + 1) if mark else 0, f"YAML の書式エラー: {exc}"))
        return
    entries = _entries_node(root)
    if entries is None:
        result.problems.append(Problem(name, 1, "トップレベルに entries: のリストがありません"))
        return
    for node in entries.value:
        line = node.start_mark.line + 1
        data = yaml.SafeLoader(yaml.serialize(node)).get_single_data() if node else None
        problems = _check_entry(data, name, line)
        result.problems.extend(problems)
        if problems:
            continue
        item = FaqItem.from_mapping(data, name, line)
        if item.id in seen:
            first = seen[item.id]
            result.problems.append(Problem(name, line, f"id {item.id} が重複しています（最初は {first.file}:{first.line}）"))
            continue
        seen[item.id] = Problem(name, line, "")
        result.items.append(item)


def validate(directory: Path = FAQ_DIR, topics: Path | None = None) -> list[Problem]:
    """Every problem, with file and line: the resident rules (knowledge.review), topics without an entry,
    and unknown ids in a group topics.yaml defines (other groups, such as care.*, are the hub's own)."""
    result = read_faq(directory)
    problems = list(result.problems)
    glossary = load_glossary()
    for item in result.items:
        if item.audience == "resident":
            problems += [Problem(item.file, item.line, f"{item.id}: {message}")
                         for message in review_entry(item, glossary).problems]
    if topics is not None:
        wanted = topic_ids(topics)
        groups = {topic.split(".")[0] for topic in wanted}
        have = {item.id: item for item in result.items}
        for missing in sorted(set(wanted) - set(have)):
            problems.append(Problem(topics.name, wanted[missing], f"トピック {missing} の FAQ エントリがありません"))
        for unknown in sorted(i for i in set(have) - set(wanted) if i.split(".")[0] in groups):
            item = have[unknown]
            problems.append(Problem(item.file, item.line, f"id {unknown} は topics.yaml にない未知の id です"))
    return problems


def topic_ids(topics: Path) -> dict[str, int]:
    """id → line in topics.yaml."""
    ids: dict[str, int] = {}
    for number, line in enumerate(topics.read_text(encoding="utf-8").splitlines(), start=1):
        m = re.match(r"\s*-\s*id:\s*(\S+)", line)
        if m:
            ids[m.group(1)] = number
    return ids


def load_synonyms(path: Path = SYNONYMS) -> list[list[str]]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [[str(term) for term in group] for group in data.get("groups") or [] if group]


def dump_faq(items: Iterable[FaqItem]) -> str:
    entries = [{k: v for k, v in i.to_mapping().items() if v is not None} for i in items]
    return yaml.safe_dump({"entries": entries}, allow_unicode=True, sort_keys=False)


def _entries_node(root: yaml.Node | None) -> yaml.SequenceNode | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "entries" and isinstance(value, yaml.SequenceNode):
            return value
    return None


def _check_entry(data: Any, file: str, line: int) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(file, line, "エントリがキーと値の組ではありません")]
    problems = [Problem(file, line, f"必須項目 {key} がありません") for key in REQUIRED if not data.get(key)]
    if problems:
        return problems
    if not _ID.match(str(data["id"])):
        problems.append(Problem(file, line, f"id {data['id']!r} の形式が不正です（例: resident.costs）"))
    if data["audience"] not in AUDIENCES:
        problems.append(Problem(file, line, f"audience {data['audience']!r} は {sorted(AUDIENCES)} のいずれかです"))
    if data.get("reviewed") is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(data["reviewed"])):
        problems.append(Problem(file, line, f"reviewed {data['reviewed']!r} は日付（例: 2026-12-06）にしてください"))
    if data.get("confirm") is not None and not isinstance(data["confirm"], str):
        problems.append(Problem(file, line, "confirm は確認すべきことを書いた文にしてください"))
    if not isinstance(data["paraphrases"], list):
        problems.append(Problem(file, line, "paraphrases はリストにしてください"))
    for key in ("question", "answer", "next_step"):
        for name in PLACEHOLDER_PATTERN.findall(str(data.get(key) or "")):
            if name not in PLACEHOLDERS:
                problems.append(Problem(file, line, f"{key} のプレースホルダ {{{name}}} は使えません（使えるのは {', '.join(sorted(PLACEHOLDERS))}）"))
        if str(data.get(key) or "").count("{") != str(data.get(key) or "").count("}"):
            problems.append(Problem(file, line, f"{key} の波かっこ {{ }} が対応していません"))
    return problems
