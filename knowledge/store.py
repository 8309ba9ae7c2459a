"""The knowledge in the database: loading the files (idempotent), upserting imports, reading back."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.faq import FaqItem
from db.models import AuditLog, FaqEntry, Resource, Vacancy, utcnow
from db.session import Database
from knowledge.faq import DATA, FAQ_DIR, load_faq
from knowledge.hub import HubFacts
from knowledge.opendata import import_key, read_resources_csv, read_vacancies_csv
from knowledge.resource_facts import check_change
from knowledge.review import EntryReview, load_glossary, review_entry

log = logging.getLogger(__name__)

RESOURCES_CSV = DATA / "resources.csv"
VACANCIES_CSV = DATA / "vacancies.csv"
_RESOURCE_FIELDS = ("name", "type", "municipality", "address", "latitude", "longitude", "phone", "hours",
                    "around_the_clock", "capabilities", "accepting_new", "notes", "source", "source_row",
                    "external_code", "sample")


@dataclass
class LoadSummary:
    faq_created: int = 0
    faq_updated: int = 0
    resources_created: int = 0
    resources_updated: int = 0
    vacancies: int = 0
    problems: list[str] = field(default_factory=list)


def ensure_knowledge(db: Database) -> None:
    """A fresh database gets the bundled sample knowledge, so the desk answers from the first start."""
    with db.session() as session:
        empty = not session.scalar(select(func.count()).select_from(FaqEntry))
    if empty:
        summary = load_bundled(db, actor="system")
        log.info("loaded bundled knowledge: %s FAQ entries, %s resources",
                 summary.faq_created, summary.resources_created)


def load_bundled(db: Database, faq_dir: Path = FAQ_DIR, resources: Path = RESOURCES_CSV,
                 vacancies: Path = VACANCIES_CSV, actor: str = "cli") -> LoadSummary:
    summary = LoadSummary()
    items = load_faq(faq_dir)
    resource_rows = _read(read_resources_csv, resources, summary)
    vacancy_rows = _read(read_vacancies_csv, vacancies, summary)
    with db.session() as session:
        summary.faq_created, summary.faq_updated = upsert_faq(session, items)
        summary.resources_created, summary.resources_updated = upsert_resources(session, resource_rows)
        summary.vacancies = upsert_vacancies(session, vacancy_rows)
        audit(session, actor, "kb.load", "knowledge", "bundled", {
            "faq": len(items), "resources": len(resource_rows), "vacancies": len(vacancy_rows)})
    return summary


def upsert_faq(session: Session, items: Iterable[FaqItem]) -> tuple[int, int]:
    """Insert or replace by id; an entry in a loaded file is in use, so a retired one comes back."""
    created = updated = 0
    for item in items:
        values = {**item.to_mapping(), "active": True}
        row = session.get(FaqEntry, item.id)
        if row is None:
            session.add(FaqEntry(**values, updated_at=utcnow()))
            created += 1
            continue
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            updated += 1
    return created, updated


def upsert_resources(session: Session, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Insert or update by import key (事業所番号 / 医療機関コード, else name + address)."""
    created = updated = 0
    for data in rows:
        key = import_key(data)
        row = session.scalars(select(Resource).where(Resource.import_key == key)).first()
        if row is None and data.get("id"):
            row = session.get(Resource, data["id"])
        values = {f: data.get(f) for f in _RESOURCE_FIELDS if f in data}
        values["capabilities"] = list(values.get("capabilities") or [])
        values["updated_at"] = _as_datetime(data.get("updated_at"))
        if row is None:
            rid = data.get("id") or "od-" + hashlib.sha1(key.encode()).hexdigest()[:16]
            session.add(Resource(id=rid, import_key=key, active=True, **values))
            created += 1
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.import_key = key
            updated += 1
    session.flush()
    return created, updated


def upsert_vacancies(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    for data in rows:
        if session.get(Resource, data["resource_id"]) is None:
            continue
        as_of = data["as_of"] if isinstance(data["as_of"], date) else date.fromisoformat(str(data["as_of"]))
        row = session.get(Vacancy, data["resource_id"])
        if row is None:
            row = Vacancy(resource_id=data["resource_id"], available_beds=0, as_of=as_of)
            session.add(row)
        row.available_beds = int(data["available_beds"])
        row.as_of = as_of
        row.note = data.get("note") or None
        row.updated_at = utcnow()
        count += 1
    return count


def faq_items(db: Database) -> list[FaqItem]:
    with db.session() as session:
        return [item_of(r) for r in session.scalars(select(FaqEntry).where(FaqEntry.active).order_by(FaqEntry.id))]


def claim_confirmed(row: FaqEntry) -> bool:
    """The hub confirmed this very claim and answer (a changed one is open again)."""
    return row.confirmed_digest is not None and row.confirmed_digest == item_of(row).claim_digest()


def item_of(row: FaqEntry) -> FaqItem:
    """A stored entry as the core answers with it."""
    return FaqItem.from_mapping({
        "id": row.id, "audience": row.audience, "question": row.question, "answer": row.answer,
        "source": row.source, "paraphrases": row.paraphrases, "next_step": row.next_step,
        "quick_replies": row.quick_replies, "tags": row.tags, "confirm": row.confirm, "reviewed": row.reviewed})


def audit(session: Session, actor: str, action: str, target_type: str, target_id: str,
          detail: dict[str, Any] | None = None) -> None:
    session.add(AuditLog(actor=actor, action=action, target_type=target_type, target_id=target_id,
                         detail=detail, at=utcnow()))


def _read(reader: Any, path: Path, summary: LoadSummary) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    result = reader(path)
    summary.problems.extend(f"{path.name}:{p.row}: {p.reason}" for p in result.problems)
    return list(result.resources if hasattr(result, "resources") else result.rows)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and value:
        return _as_datetime(date.fromisoformat(value[:10]))
    return utcnow()


def update_vacancy(session: Session, resource_ref: str, beds: int, staff_id: int, actor: str) -> str:
    """Set a short stay's free beds as of today; answers in Japanese for the staff member."""
    resource = session.get(Resource, resource_ref) or session.scalars(
        select(Resource).where(Resource.name.contains(resource_ref), Resource.type == "short_stay")).first()
    if resource is None:
        return f"事業所「{resource_ref}」が見つかりません。事業所IDか名称の一部を指定してください。"
    if resource.type != "short_stay":
        return f"{resource.name} は短期入所ではないため、空床は登録できません。"
    today = date.today()
    row = session.get(Vacancy, resource.id)
    before = row.available_beds if row else None
    if row is None:
        row = Vacancy(resource_id=resource.id, available_beds=beds, as_of=today)
        session.add(row)
    row.available_beds, row.as_of, row.updated_at, row.updated_by = beds, today, utcnow(), staff_id
    audit(session, actor, "vacancy.update", "resource", resource.id, {"before": before, "after": beds})
    return f"{resource.name} の空床を {beds} 床（{today.isoformat()}時点）に更新しました。"


# Resource facts staff may change from a chat tool: Japanese name → (column, parser).
RESOURCE_FACTS: dict[str, tuple[str, Any]] = {
    "電話": ("phone", str), "時間": ("hours", str), "備考": ("notes", str),
    "受入": ("accepting_new", lambda v: {"可": True, "不可": False}[v]),
}


def update_resource_fact(session: Session, resource_id: str, fact: str, value: str, staff_id: int, actor: str) -> str:
    """Change one fact of a resource (電話・時間・備考・受入); audited with the value before and after."""
    resource = session.get(Resource, resource_id)
    if resource is None:
        return f"事業所ID「{resource_id}」が見つかりません。"
    if fact not in RESOURCE_FACTS:
        return f"変更できる項目は {'・'.join(RESOURCE_FACTS)} です。"
    column, parse = RESOURCE_FACTS[fact]
    try:
        new = parse(value)
    except KeyError:
        return "受入は「可」か「不可」で指定してください。"
    try:
        check_change(resource, {column: new})
    except ValidationError as exc:
        return f"{fact}を更新できません: {exc.errors()[0]['msg'].removeprefix('Value error, ')}"
    before = getattr(resource, column)
    setattr(resource, column, new)
    resource.updated_at = utcnow()
    audit(session, actor, "resource.update", "resource", resource.id,
          {"field": column, "before": before, "after": new})
    return f"{resource.name} の{fact}を「{value}」に更新しました。"


def review_stored(session: Session, facts: HubFacts) -> list[EntryReview]:
    """Every entry in use as the desk answers with it, with the hub's confirmations: resident entries
    first, then by audience and question (what `kb review` prints and the console's 公開前チェック shows)."""
    glossary = load_glossary()
    rows = session.scalars(select(FaqEntry).where(FaqEntry.active)).all()
    found = [review_entry(item_of(r), glossary, facts, confirmed=claim_confirmed(r)) for r in rows]
    return sorted(found, key=lambda r: (r.item.audience != "resident", r.item.audience, r.item.question))
