"""FAQ entries (create, edit, retire, export) and the unanswered questions that should become FAQ.

Every change is audited and rebuilds the matcher, so the bot answers with the new text at once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import yaml
from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_api.deps import (
    CurrentStaff,
    KnowledgeStaff,
    RuntimeDep,
    SessionDep,
    actor,
    decode_upload,
    read_upload,
    staff_session,
)
from db.models import FaqEntry, Staff, UnansweredQuestion, utcnow
from knowledge.faq import PLACEHOLDERS, read_faq_text
from knowledge.input import Input
from knowledge.store import audit, claim_confirmed, item_of, upsert_faq
from zaitaku_desk.runtime import Runtime

router = APIRouter(tags=["knowledge"])
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class FaqBody(Input):
    audience: Literal["resident", "professional", "operator"]
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=5000)
    source: str = Field(min_length=1, max_length=200)
    paraphrases: list[str] = Field(default_factory=list)
    next_step: str | None = None
    quick_replies: list[str] = Field(default_factory=list, max_length=13)
    tags: list[str] = Field(default_factory=list)
    confirm: str | None = Field(default=None, max_length=500,
                                description="a claim about the hub's own services the hub has still to confirm")
    reviewed: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                 description="when the entry was last checked against its source")

    @field_validator("confirm", "reviewed", "next_step")
    @classmethod
    def blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("question", "answer", "source")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("空にはできません")
        return value.strip()

    @field_validator("answer", "next_step")
    @classmethod
    def known_placeholders(cls, value: str | None) -> str | None:
        unknown = [name for name in _PLACEHOLDER.findall(value or "") if name not in PLACEHOLDERS]
        if unknown:
            raise ValueError(f"使えない差し込み {{{unknown[0]}}}（使えるのは {', '.join(sorted(PLACEHOLDERS))}）")
        return value

    @field_validator("paraphrases", "quick_replies", "tags")
    @classmethod
    def clean_list(cls, value: list[str]) -> list[str]:
        return [v.strip() for v in value if v.strip()]


class FaqCreate(FaqBody):
    id: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$", max_length=100,
                    description="<group>.<name>, lower-case, e.g. resident.visiting_nurse")


class FaqOut(FaqCreate):
    active: bool
    updated_at: datetime
    confirmed: bool = Field(False, description="the hub confirmed this claim as it reads now")
    confirmed_at: datetime | None = Field(None, description="when it last confirmed a claim of this entry")
    confirmed_by: str | None = None


class Candidate(BaseModel):
    faq_id: str
    score: float | None  # how sure the bot was (None: an entry the matcher no longer ranks for the text)
    question: str | None


class UnansweredOut(BaseModel):
    id: int
    conversation_id: int | None
    text: str
    reason: str
    candidates: list[Candidate]
    created_at: datetime
    handled_at: datetime | None
    handled_faq_id: str | None


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int


class MakeFaq(Input):
    """Exactly one: a new entry made from the question, or the question added as a paraphrase of an entry."""
    new_entry: FaqCreate | None = None
    paraphrase_of: str | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> MakeFaq:
        if (self.new_entry is None) == (self.paraphrase_of is None):
            raise ValueError("new_entry か paraphrase_of のどちらか一方を指定してください")
        return self


def _out(row: FaqEntry) -> FaqOut:
    return FaqOut(id=row.id, audience=row.audience,  # type: ignore[arg-type]
                  question=row.question, answer=row.answer, source=row.source,
                  paraphrases=list(row.paraphrases), next_step=row.next_step, quick_replies=list(row.quick_replies),
                  tags=list(row.tags), confirm=row.confirm, reviewed=row.reviewed, active=row.active,
                  updated_at=row.updated_at, confirmed=bool(row.confirm) and claim_confirmed(row),
                  confirmed_at=row.confirmed_at, confirmed_by=row.confirmed_by)


# -- the acts, shared by the API below and the console (admin_api/console_knowledge.py) ---------------

def get_entry(session: Session, faq_id: str) -> FaqEntry:
    row = session.get(FaqEntry, faq_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"FAQ「{faq_id}」が見つかりません。")
    return row


def _add(session: Session, body: FaqCreate, who: str) -> FaqEntry:
    if session.get(FaqEntry, body.id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, [
            {"loc": ["body", "id"], "msg": f"FAQ「{body.id}」はすでにあります", "type": "conflict"}])
    row = FaqEntry(**body.model_dump(), active=True, updated_at=utcnow())
    session.add(row)
    audit(session, who, "faq.create", "faq", body.id)
    return row


def _commit_and_rebuild(session: Session, runtime: Runtime) -> None:
    """The bot answers with the new knowledge from the next message on."""
    session.commit()
    runtime.rebuild_desk()


def create_entry(session: Session, runtime: Runtime, body: FaqCreate, staff: Staff) -> FaqEntry:
    row = _add(session, body, actor(staff))
    _commit_and_rebuild(session, runtime)
    return row


def update_entry(session: Session, runtime: Runtime, faq_id: str, body: FaqBody, staff: Staff) -> FaqEntry:
    """Replace the entry's content; saving a retired entry puts it back in use."""
    row = get_entry(session, faq_id)
    values = body.model_dump()
    changed = sorted(k for k, v in values.items() if getattr(row, k) != v)
    for key, value in values.items():
        setattr(row, key, value)
    if not row.active:
        changed.append("active")
    row.active, row.updated_at = True, utcnow()
    audit(session, actor(staff), "faq.update", "faq", faq_id, {"fields": changed})
    _commit_and_rebuild(session, runtime)
    return row


def confirm_entry(session: Session, faq_id: str, staff: Staff) -> FaqEntry:
    """The hub has checked the entry's claim about its own services: off the 要確認 list, audited."""
    row = get_entry(session, faq_id)
    if not row.confirm:
        raise HTTPException(status.HTTP_409_CONFLICT, f"FAQ「{faq_id}」には確認の必要な記述がありません。")
    if not claim_confirmed(row):
        row.confirmed_at, row.confirmed_by = utcnow(), actor(staff)
        row.confirmed_digest = item_of(row).claim_digest()
        audit(session, actor(staff), "faq.confirm", "faq", faq_id, {"confirm": row.confirm})
    return row


def retire_entry(session: Session, runtime: Runtime, faq_id: str, staff: Staff) -> FaqEntry:
    row = get_entry(session, faq_id)
    row.active, row.updated_at = False, utcnow()
    audit(session, actor(staff), "faq.retire", "faq", faq_id)
    _commit_and_rebuild(session, runtime)
    return row


def export_yaml(session: Session) -> str:
    rows = session.scalars(select(FaqEntry).where(FaqEntry.active).order_by(FaqEntry.id))
    entries = [{k: v for k, v in _out(r).model_dump(exclude={"active", "updated_at"}).items() if v not in (None, [])}
               for r in rows]
    return yaml.safe_dump({"entries": entries}, allow_unicode=True, sort_keys=False)


def import_entries(session: Session, runtime: Runtime, text: str, staff: Staff) -> ImportOut:
    """All or nothing: every entry is checked as the bundled files and the API are, by line; only a
    file without problems is loaded (new ids created, known ids replaced and back in use)."""
    loaded = read_faq_text(text, "upload")
    problems = [{"loc": ["body", p.line], "msg": p.message, "type": "value_error"} for p in loaded.problems]
    for item in loaded.items:
        try:
            FaqCreate(**item.to_mapping())
        except ValidationError as exc:
            problems += [{"loc": ["body", item.line, *error["loc"]], "msg": error["msg"], "type": error["type"]}
                         for error in exc.errors()]
    if not problems and not loaded.items:
        problems.append({"loc": ["body", 1], "msg": "entries にエントリがありません", "type": "value_error"})
    if problems:
        raise HTTPException(422, problems)
    created, updated = upsert_faq(session, loaded.items)
    audit(session, actor(staff), "faq.import", "faq", "upload",
          {"created": created, "updated": updated, "ids": [item.id for item in loaded.items]})
    _commit_and_rebuild(session, runtime)
    return ImportOut(created=created, updated=updated, unchanged=len(loaded.items) - created - updated)


def export_download(session: Session) -> Response:
    """The export as a file download (API and console)."""
    return Response(export_yaml(session).encode("utf-8"), media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="faq.yaml"'})


def unanswered_questions(session: Session, include_handled: bool = False) -> list[UnansweredOut]:
    query = select(UnansweredQuestion).order_by(UnansweredQuestion.created_at.desc(), UnansweredQuestion.id.desc())
    if not include_handled:
        query = query.where(UnansweredQuestion.handled_at.is_(None))
    rows = session.scalars(query.limit(500)).all()
    ids = {c.get("faq_id") for r in rows for c in (r.candidates or []) if isinstance(c, dict)}
    questions = {f.id: f.question for f in session.scalars(select(FaqEntry).where(FaqEntry.id.in_(ids)))} if ids else {}
    return [UnansweredOut(
        id=r.id, conversation_id=r.conversation_id, text=r.text, reason=r.reason,
        candidates=[Candidate(faq_id=str(c.get("faq_id")),
                              score=None if c.get("score") is None else float(c["score"]),
                              question=questions.get(str(c.get("faq_id")))) for c in (r.candidates or [])
                    if isinstance(c, dict) and c.get("faq_id")],
        created_at=r.created_at, handled_at=r.handled_at, handled_faq_id=r.handled_faq_id) for r in rows]


def _open_question(session: Session, question_id: int) -> UnansweredQuestion:
    question = session.get(UnansweredQuestion, question_id)
    if question is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"未回答の質問 #{question_id} が見つかりません。")
    if question.handled_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "この質問はすでに処理済みです。")
    return question


def make_faq_from(session: Session, runtime: Runtime, question_id: int, body: MakeFaq, staff: Staff) -> FaqEntry:
    """One step: the question becomes a new entry, or a paraphrase of an existing one."""
    question = _open_question(session, question_id)
    if body.new_entry is not None:
        row = _add(session, body.new_entry, actor(staff))
        if question.text not in row.paraphrases and question.text != row.question:
            row.paraphrases = [*row.paraphrases, question.text]
    else:
        existing = session.get(FaqEntry, body.paraphrase_of)
        if existing is None:
            raise HTTPException(422, [
                {"loc": ["body", "paraphrase_of"], "msg": "FAQ が見つかりません", "type": "value_error"}])
        row = existing
        if question.text not in row.paraphrases:
            row.paraphrases = [*row.paraphrases, question.text]
        row.updated_at = utcnow()
        audit(session, actor(staff), "faq.add_paraphrase", "faq", row.id, {"unanswered_id": question_id})
    question.handled_at, question.handled_faq_id = utcnow(), row.id
    audit(session, actor(staff), "unanswered.handle", "unanswered_question", str(question_id), {"faq_id": row.id})
    _commit_and_rebuild(session, runtime)
    return row


def dismiss_question(session: Session, question_id: int, staff: Staff) -> UnansweredQuestion:
    """Not material for the knowledge (a test message, a name, a one-off): off the list, audited."""
    question = _open_question(session, question_id)
    question.handled_at = utcnow()
    audit(session, actor(staff), "unanswered.dismiss", "unanswered_question", str(question_id))
    return question


# -- the API ---------------------------------------------------------------------------------------

@router.get("/faq", response_model=list[FaqOut], summary="FAQ entries (retired ones too with include_retired)")
def list_faq(session: SessionDep, _: CurrentStaff, include_retired: bool = False,
             audience: Literal["resident", "professional", "operator"] | None = None) -> list[FaqOut]:
    query = select(FaqEntry).order_by(FaqEntry.id)
    if not include_retired:
        query = query.where(FaqEntry.active)
    if audience:
        query = query.where(FaqEntry.audience == audience)
    return [_out(r) for r in session.scalars(query)]


@router.get("/faq/export", summary="All active entries as YAML in the shape of knowledge/data/faq/*.yaml",
            responses={200: {"content": {"application/yaml": {}}}})
def export_faq(session: SessionDep, _: KnowledgeStaff) -> Response:
    return export_download(session)


@router.post("/faq/import", response_model=ImportOut,
             summary="Load a YAML file in the shape of the export (all or nothing; problems by line)",
             openapi_extra={"requestBody": {"required": True, "content": {"application/yaml": {}}}})
async def import_faq(request: Request, staff: KnowledgeStaff, runtime: RuntimeDep) -> ImportOut:
    text = decode_upload(await read_upload(request, runtime.settings.max_import_bytes))

    def run() -> ImportOut:
        with staff_session(runtime) as session:
            return import_entries(session, runtime, text, staff)
    return await runtime.run_db(run)


@router.get("/faq/{faq_id}", response_model=FaqOut, summary="One FAQ entry")
def get_faq(faq_id: str, session: SessionDep, _: CurrentStaff) -> FaqOut:
    return _out(get_entry(session, faq_id))


@router.post("/faq", response_model=FaqOut, status_code=201, summary="Add an FAQ entry (coordinator, admin)")
def create_faq(body: FaqCreate, session: SessionDep, staff: KnowledgeStaff, runtime: RuntimeDep) -> FaqOut:
    return _out(create_entry(session, runtime, body, staff))


@router.put("/faq/{faq_id}", response_model=FaqOut, summary="Edit an FAQ entry (coordinator, admin)")
def update_faq(faq_id: str, body: FaqBody, session: SessionDep, staff: KnowledgeStaff,
               runtime: RuntimeDep) -> FaqOut:
    return _out(update_entry(session, runtime, faq_id, body, staff))


@router.post("/faq/{faq_id}/confirm", response_model=FaqOut,
             summary="Confirm the entry's claim about the hub's own services (coordinator, admin)")
def confirm_faq(faq_id: str, session: SessionDep, staff: KnowledgeStaff) -> FaqOut:
    return _out(confirm_entry(session, faq_id, staff))


@router.post("/faq/{faq_id}/retire", response_model=FaqOut, summary="Retire an entry: the bot stops using it")
def retire_faq(faq_id: str, session: SessionDep, staff: KnowledgeStaff, runtime: RuntimeDep) -> FaqOut:
    return _out(retire_entry(session, runtime, faq_id, staff))


@router.get("/unanswered", response_model=list[UnansweredOut],
            summary="Questions the bot could not answer, newest first, with the entries it considered")
def list_unanswered(session: SessionDep, _: CurrentStaff, include_handled: bool = False) -> list[UnansweredOut]:
    return unanswered_questions(session, include_handled)


@router.post("/unanswered/{question_id}/make-faq", response_model=FaqOut,
             summary="One step: make the question a new FAQ entry, or add it as a paraphrase of entry X")
def make_faq(question_id: int, body: MakeFaq, session: SessionDep, staff: KnowledgeStaff,
             runtime: RuntimeDep) -> FaqOut:
    return _out(make_faq_from(session, runtime, question_id, body, staff))


@router.post("/unanswered/{question_id}/dismiss", status_code=204,
             summary="Take a question off the list without making FAQ of it (coordinator, admin)")
def dismiss_unanswered(question_id: int, session: SessionDep, staff: KnowledgeStaff) -> Response:
    dismiss_question(session, question_id, staff)
    return Response(status_code=204)
