"""The console's knowledge pages: FAQ editor, resource editor, and the unanswered questions.

Forms become the API's own models (FaqCreate, ResourceBody, MakeFaq), so a form is validated exactly
as an API call is and its errors are shown beside the fields; saving calls the same acts as the API
(admin_api.routes.faq / .resources), which audit every change and rebuild the matcher.
Everyone signed in may read; coordinators and admins may change (as in the API).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from admin_api.console import (
    Console,
    ConsoleStaff,
    Form,
    KnowledgeEditor,
    PostedKnowledgeForm,
    field_errors,
)
from admin_api.deps import decode_upload, read_upload
from admin_api.routes import faq as faq_acts
from admin_api.routes import resources as resource_acts
from bot.roles import KNOWLEDGE_ROLES
from db.models import FaqEntry, Resource, UnansweredQuestion, Vacancy
from knowledge.faq import PLACEHOLDERS
from knowledge.hub import FACTS as HUB_FACTS
from knowledge.opendata import CAPABILITIES, RESOURCE_TYPES
from knowledge.review import FIRST_BUBBLE_MAX, LINE_MAX, EntryReview
from knowledge.store import claim_confirmed, item_of, review_stored, update_vacancy

AUDIENCES = {"resident": "住民・家族", "professional": "専門職", "operator": "拠点・運営"}
REASONS = {"no_match": "答えが見つからなかった", "unhelpful": "回答が役に立たなかった"}
FORM_CAPABILITIES = {k: v for k, v in CAPABILITIES.items() if k != "around_the_clock"}
ACCEPTING = {"": "不明", "true": "受け入れ可", "false": "受け入れ停止中"}
IMPORT_KINDS = {"care": "介護サービス事業所一覧", "medical": "医療機関一覧", "resources": "この画面で書き出したCSV"}
LIST_LIMIT = 500
REVIEW_LIMITS = {"first": FIRST_BUBBLE_MAX, "line": LINE_MAX}
PLACEHOLDER_HINT = " ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS))


def faq_from_form(form: Form, with_id: bool) -> faq_acts.FaqBody:
    """The API's model from the editor's fields (lists are one item per line); raises ValidationError."""
    values: dict[str, Any] = {
        "audience": form.get("audience"), "question": form.get("question"), "answer": form.get("answer"),
        "source": form.get("source"), "next_step": form.optional("next_step"),
        "paraphrases": form.lines("paraphrases"), "quick_replies": form.lines("quick_replies"),
        "tags": form.lines("tags"), "confirm": form.optional("confirm"), "reviewed": form.optional("reviewed"),
    }
    if with_id:
        return faq_acts.FaqCreate(id=form.get("id").strip(), **values)
    return faq_acts.FaqBody(**values)


def faq_form_values(row: FaqEntry | None) -> dict[str, Any]:
    if row is None:
        return {"id": "", "audience": "resident", "question": "", "answer": "", "source": "", "next_step": "",
                "paraphrases": "", "quick_replies": "", "tags": "", "confirm": "", "reviewed": ""}
    return {"id": row.id, "audience": row.audience, "question": row.question, "answer": row.answer,
            "source": row.source, "next_step": row.next_step or "", "paraphrases": "\n".join(row.paraphrases),
            "quick_replies": "\n".join(row.quick_replies), "tags": "\n".join(row.tags),
            "confirm": row.confirm or "", "reviewed": row.reviewed or ""}


def resource_from_form(form: Form) -> resource_acts.ResourceBody:
    def number(name: str) -> str | None:
        return form.optional(name)
    return resource_acts.ResourceBody(
        name=form.get("name").strip(), type=form.get("type"), municipality=form.optional("municipality"),
        address=form.optional("address"), latitude=number("latitude"), longitude=number("longitude"),
        phone=form.optional("phone"), hours=form.optional("hours"), around_the_clock=bool(form.get("around_the_clock")),
        capabilities=form.getlist("capabilities"), accepting_new={"true": True, "false": False}.get(form.get("accepting_new")),
        notes=form.optional("notes"), source=form.get("source").strip() or "staff", sample=bool(form.get("sample")))


def resource_form_values(row: Resource | None) -> dict[str, Any]:
    if row is None:
        return {"name": "", "type": "", "municipality": "", "address": "", "latitude": "", "longitude": "",
                "phone": "", "hours": "", "around_the_clock": False, "capabilities": [], "accepting_new": "",
                "notes": "", "source": "staff", "sample": False}
    return {"name": row.name, "type": row.type, "municipality": row.municipality or "",
            "address": row.address or "", "latitude": "" if row.latitude is None else row.latitude,
            "longitude": "" if row.longitude is None else row.longitude, "phone": row.phone or "",
            "hours": row.hours or "", "around_the_clock": row.around_the_clock or "around_the_clock" in row.capabilities,
            "capabilities": [c for c in row.capabilities if c != "around_the_clock"],
            "accepting_new": {True: "true", False: "false"}.get(row.accepting_new, ""), "notes": row.notes or "",
            "source": row.source, "sample": row.sample}


def build(console: Console) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)
    runtime = console.runtime
    globals_ = {"AUDIENCES": AUDIENCES, "RESOURCE_TYPES": RESOURCE_TYPES, "CAPABILITIES": FORM_CAPABILITIES,
                "TYPE_CHOICES": {"": "選んでください", **RESOURCE_TYPES},
                "ACCEPTING": ACCEPTING, "REASONS": REASONS, "IMPORT_KINDS": IMPORT_KINDS,
                "PLACEHOLDER_HINT": PLACEHOLDER_HINT}

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        return console.render(request, name, status_code, **globals_, **context)

    # -- FAQ ---------------------------------------------------------------------------------------

    def faq_rows(session: Session, audience: str, q: str, retired: bool) -> list[FaqEntry]:
        """Residents' entries first (what the desk answers most), then professionals', then the
        programme's; by question within each."""
        first = case((FaqEntry.audience == "resident", 0), (FaqEntry.audience == "professional", 1), else_=2)
        query = select(FaqEntry).order_by(first, FaqEntry.question, FaqEntry.id)
        if not retired:
            query = query.where(FaqEntry.active)
        if audience:
            query = query.where(FaqEntry.audience == audience)
        if q:
            query = query.where(or_(FaqEntry.id.contains(q), FaqEntry.question.contains(q),
                                    FaqEntry.answer.contains(q)))
        return list(session.scalars(query.limit(LIST_LIMIT)))

    def faq_listing(session: Session, audience: str, q: str, retired: bool) -> dict[str, Any]:
        """What the FAQ list shows: the rows, each one's source in words, and which claims are open."""
        rows = faq_rows(session, audience, q, retired)
        return {"rows": rows, "sources": {r.id: item_of(r).source_label()[4:] for r in rows},
                "open_claims": {r.id for r in rows if r.confirm and not claim_confirmed(r)},
                "audience": audience, "q": q, "retired": retired, "limit": LIST_LIMIT}

    @router.get("/faq")
    async def faq_list(request: Request, staff: ConsoleStaff, audience: str = "", q: str = "", retired: bool = False,
                       done: str | None = None) -> Response:
        listing = await console.act(faq_listing, audience, q.strip(), retired)
        return page(request, "faq_list.html", staff=staff, done=done, **listing)

    @router.get("/faq/export")
    async def faq_export(request: Request, staff: KnowledgeEditor) -> Response:
        return await console.act(faq_acts.export_download)

    def faq_editor(request: Request, staff: Any, row: FaqEntry | None, values: dict[str, Any],
                   errors: dict[str, str] | None = None, error: str | None = None, status_code: int = 200,
                   done: str | None = None, question: Any = None, confirmed: bool = False) -> Response:
        return page(request, "faq_edit.html", status_code, staff=staff, row=row, v=values, errors=errors or {},
                    error=error, done=done, question=question, confirmed=confirmed,
                    can_edit=staff.role in KNOWLEDGE_ROLES)

    @router.get("/faq/new")
    async def faq_new(request: Request, staff: KnowledgeEditor, unanswered: int | None = None) -> Response:
        values, question = faq_form_values(None), None
        if unanswered is not None:
            question = await console.act(lambda s: s.get(UnansweredQuestion, unanswered))
            if question is not None:
                values["question"] = question.text
        return faq_editor(request, staff, None, values, question=question)

    @router.get("/faq/{faq_id}")
    async def faq_edit(request: Request, staff: ConsoleStaff, faq_id: str, done: str | None = None) -> Response:
        row = await console.act(lambda s: s.get(FaqEntry, faq_id))
        if row is None:
            return page(request, "error.html", 404, staff=staff, message=f"FAQ「{faq_id}」が見つかりません。")
        return faq_editor(request, staff, row, faq_form_values(row), done=done, confirmed=claim_confirmed(row))

    @router.post("/faq/save")
    async def faq_save(request: Request, posted: PostedKnowledgeForm) -> Response:
        """New entry (with `unanswered`: made from that question), or an edit of `original_id`."""
        staff, form = posted
        original, unanswered = form.get("original_id"), form.get("unanswered")
        values = {k: form.get(k) for k in faq_form_values(None)}
        try:
            body = faq_from_form(form, with_id=not original)
            if original:
                row = await console.act(faq_acts.update_entry, runtime, original, body, staff)
            elif unanswered.isdigit():
                row = await console.act(faq_acts.make_faq_from, runtime, int(unanswered),
                                        faq_acts.MakeFaq(new_entry=body), staff)
            else:
                row = await console.act(faq_acts.create_entry, runtime, body, staff)
        except (ValidationError, HTTPException) as exc:
            errors, error = field_errors(exc)
            existing = await console.act(lambda s: s.get(FaqEntry, original)) if original else None
            question = await console.act(lambda s: s.get(UnansweredQuestion, int(unanswered))) \
                if unanswered.isdigit() else None
            return faq_editor(request, staff, existing, values, errors,
                              error or "入力に誤りがあります。赤字の項目を直してください。", 422, question=question)
        return console.back(f"/admin/faq/{row.id}", done="保存しました。次のメッセージからボットがこの内容で答えます。")

    @router.post("/faq/{faq_id}/confirm")
    async def faq_confirm(request: Request, posted: PostedKnowledgeForm, faq_id: str,
                          back: str = "") -> Response:
        staff, _ = posted
        target = "/admin/knowledge/confirm" if back == "list" else f"/admin/faq/{faq_id}"
        try:
            await console.act(faq_acts.confirm_entry, faq_id, staff)
        except HTTPException as exc:
            return console.back(target, error=str(exc.detail))
        return console.back(target, done=f"FAQ「{faq_id}」を確認済みにしました。")

    def reviews(session: Session) -> list[EntryReview]:
        return review_stored(session, runtime.hub_facts)

    @router.get("/knowledge/confirm")
    async def confirm_list(request: Request, staff: ConsoleStaff, done: str | None = None,
                           error: str | None = None) -> Response:
        open_ = [r for r in await console.act(reviews) if r.confirm or r.unfilled_facts]
        return page(request, "knowledge_confirm.html", staff=staff, reviews=open_, facts=runtime.hub_facts,
                    FACTS=HUB_FACTS, done=done, error=error)

    @router.get("/knowledge/review")
    async def review_page(request: Request, staff: ConsoleStaff) -> Response:
        return page(request, "knowledge_review.html", staff=staff, reviews=await console.act(reviews),
                    facts=runtime.hub_facts, FACTS=HUB_FACTS, limits=REVIEW_LIMITS)

    @router.post("/faq/{faq_id}/retire")
    async def faq_retire(request: Request, posted: PostedKnowledgeForm, faq_id: str) -> Response:
        staff, _ = posted
        try:
            await console.act(faq_acts.retire_entry, runtime, faq_id, staff)
        except HTTPException as exc:
            return console.back(f"/admin/faq/{faq_id}", error=str(exc.detail))
        return console.back(f"/admin/faq/{faq_id}", done="使用を停止しました。ボットはこのFAQで答えなくなります。"
                                                        "再び使うには内容を保存してください。")

    async def upload_of(request: Request) -> tuple[bytes, str]:
        """The form's file and its name (the size limit is checked before the form is read)."""
        data = await read_upload(request, runtime.settings.max_import_bytes)
        upload = (await request.form()).get("file")
        return data, getattr(upload, "filename", None) or "upload"

    def lines_of(exc: HTTPException) -> list[str]:
        """An import's refusal as 「N行目: …」 lines."""
        if not isinstance(exc.detail, list):
            return [str(exc.detail)]
        return [(f"{e['loc'][1]}行目: " if len(e["loc"]) > 1 else "") + str(e["msg"]).removeprefix("Value error, ")
                for e in exc.detail]

    @router.post("/faq/import")
    async def faq_import(request: Request, staff: KnowledgeEditor) -> Response:
        try:
            data, _ = await upload_of(request)
            if await console.form(request) is None:
                return console.expired(request)
            result = await console.act(faq_acts.import_entries, runtime, decode_upload(data), staff)
        except HTTPException as exc:
            listing = await console.act(faq_listing, "", "", False)
            return page(request, "faq_list.html", 422, staff=staff, error="取り込めませんでした。何も変更していません。",
                        problems=lines_of(exc), **listing)
        return console.back("/admin/faq", done=f"取り込みました: 新規 {result.created}件、更新 {result.updated}件、"
                                               f"変更なし {result.unchanged}件。")

    # -- Resources ---------------------------------------------------------------------------------

    def municipalities_of(session: Session) -> list[str]:
        return sorted(m for m in session.scalars(select(Resource.municipality).where(Resource.active).distinct()) if m)

    @router.get("/resources")
    async def resource_list(request: Request, staff: ConsoleStaff, type: str = "", municipality: str = "", q: str = "",
                            retired: bool = False) -> Response:
        rows = await console.act(resource_acts.find_resources, type or None, municipality.strip() or None,
                                 q.strip() or None, retired, LIST_LIMIT)
        municipalities = await console.act(municipalities_of)
        return page(request, "resources_list.html", staff=staff, rows=rows, type=type, municipality=municipality,
                    q=q, retired=retired, municipalities=municipalities, limit=LIST_LIMIT)

    @router.post("/resources/import")
    async def resource_import(request: Request, staff: KnowledgeEditor) -> Response:
        report, problems, error = None, [], None
        try:
            data, name = await upload_of(request)
            form = await console.form(request)
            if form is None:
                return console.expired(request)
            kind = form.get("kind") or None
            if kind not in (None, *IMPORT_KINDS):
                raise HTTPException(422, "ファイルの種類を選んでください。")
            report = await console.act(resource_acts.import_resources, data, kind, name[:200], staff)
            problems = [f"{p.row}行目: {p.reason}" for p in report.problems]
        except HTTPException as exc:
            error, problems = "取り込めませんでした。何も変更していません。", lines_of(exc)
        rows = await console.act(resource_acts.find_resources, None, None, None, False, LIST_LIMIT)
        municipalities = await console.act(municipalities_of)
        done = (f"取り込みました（{IMPORT_KINDS.get(report.kind, report.kind)}、{report.encoding}）: "
                f"新規 {report.created}件、更新 {report.updated}件、使わなかった行 {len(report.problems)}件。") if report else None
        return page(request, "resources_list.html", 200 if report else 422, staff=staff, rows=rows, type="",
                    municipality="", q="", retired=False, municipalities=municipalities, limit=LIST_LIMIT,
                    done=done, error=error, problems=problems)

    @router.get("/resources/export")
    async def resource_export(request: Request, staff: KnowledgeEditor) -> Response:
        return await console.act(resource_acts.export_download)

    def resource_editor(request: Request, staff: Any, row: Resource | None, values: dict[str, Any],
                        vacancy: Vacancy | None = None, errors: dict[str, str] | None = None,
                        error: str | None = None, status_code: int = 200, done: str | None = None) -> Response:
        return page(request, "resource_edit.html", status_code, staff=staff, row=row, v=values, vacancy=vacancy,
                    errors=errors or {}, error=error, done=done, can_edit=staff.role in KNOWLEDGE_ROLES)

    def resource_and_vacancy(session: Session, resource_id: str) -> tuple[Resource | None, Vacancy | None]:
        return session.get(Resource, resource_id), session.get(Vacancy, resource_id)

    @router.get("/resources/new")
    async def resource_new(request: Request, staff: KnowledgeEditor) -> Response:
        return resource_editor(request, staff, None, resource_form_values(None))

    @router.get("/resources/{resource_id}")
    async def resource_edit(request: Request, staff: ConsoleStaff, resource_id: str, done: str | None = None,
                            error: str | None = None) -> Response:
        row, vacancy = await console.act(resource_and_vacancy, resource_id)
        if row is None:
            return page(request, "error.html", 404, staff=staff, message=f"事業所「{resource_id}」が見つかりません。")
        return resource_editor(request, staff, row, resource_form_values(row), vacancy, done=done, error=error)

    @router.post("/resources/save")
    async def resource_save(request: Request, posted: PostedKnowledgeForm) -> Response:
        staff, form = posted
        original = form.get("original_id")
        try:
            body = resource_from_form(form)
            if original:
                row = await console.act(resource_acts.change_resource, original, body.model_dump(), staff)
            else:
                row = await console.act(resource_acts.add_resource, body, staff)
        except (ValidationError, HTTPException) as exc:
            errors, error = field_errors(exc)
            values = {**{k: form.get(k) for k in resource_form_values(None)},
                      "around_the_clock": bool(form.get("around_the_clock")), "sample": bool(form.get("sample")),
                      "capabilities": form.getlist("capabilities")}
            existing, vacancy = await console.act(resource_and_vacancy, original) if original else (None, None)
            return resource_editor(request, staff, existing, values, vacancy, errors,
                                   error or "入力に誤りがあります。赤字の項目を直してください。", 422)
        return console.back(f"/admin/resources/{row.id}", done="保存しました。次の検索から反映されます。")

    @router.post("/resources/{resource_id}/{act}")
    async def resource_act(request: Request, posted: PostedKnowledgeForm, resource_id: str, act: str) -> Response:
        """retire / reinstate / vacancy (a short stay's free beds as of today)."""
        staff, form = posted
        back = f"/admin/resources/{resource_id}"
        try:
            if act in ("retire", "reinstate"):
                await console.act(resource_acts.set_resource_active, resource_id, act == "reinstate", staff)
                done = "掲載を再開しました。" if act == "reinstate" else "掲載を停止しました。案内に出なくなります。"
            elif act == "vacancy":
                beds = form.get("beds").strip()
                if not beds.isdigit() or int(beds) > 999:
                    return console.back(back, error="空床数は0〜999の整数で入力してください。")
                done = await console.act(update_vacancy, resource_id, int(beds), staff.id, f"staff:{staff.id}")
            else:
                return page(request, "error.html", 404, staff=staff, message="その操作はありません。")
        except HTTPException as exc:
            return console.back(back, error=str(exc.detail))
        return console.back(back, done=done)

    # -- Unanswered questions ----------------------------------------------------------------------

    @router.get("/unanswered")
    async def unanswered_list(request: Request, staff: ConsoleStaff, handled: bool = False, done: str | None = None,
                              error: str | None = None) -> Response:
        rows = await console.act(faq_acts.unanswered_questions, handled)
        return page(request, "unanswered.html", staff=staff, rows=rows, handled=handled, done=done, error=error,
                    can_edit=staff.role in KNOWLEDGE_ROLES)

    @router.post("/unanswered/{question_id}/{act}")
    async def unanswered_act(request: Request, posted: PostedKnowledgeForm, question_id: int, act: str) -> Response:
        """paraphrase (of the chosen entry) / dismiss."""
        staff, form = posted
        try:
            if act == "paraphrase":
                target = form.get("faq_id").strip()
                if not target:
                    return console.back("/admin/unanswered", error="言い換えを追加するFAQを選んでください。")
                row = await console.act(faq_acts.make_faq_from, runtime, question_id,
                                        faq_acts.MakeFaq(paraphrase_of=target), staff)
                done = f"「{row.question}」の言い換えに追加しました。"
            elif act == "dismiss":
                await console.act(faq_acts.dismiss_question, question_id, staff)
                done = f"質問 #{question_id} を対象外にしました。"
            else:
                return page(request, "error.html", 404, staff=staff, message="その操作はありません。")
        except HTTPException as exc:
            fields, message = field_errors(exc)
            return console.back("/admin/unanswered", error=message or next(iter(fields.values()), "処理できませんでした。"))
        return console.back("/admin/unanswered", done=done)

    return router
