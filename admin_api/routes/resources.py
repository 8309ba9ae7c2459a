"""Local resources (facilities and services): list, create, edit, retire, export as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from admin_api.deps import (
    CurrentStaff,
    KnowledgeStaff,
    RuntimeDep,
    SessionDep,
    actor,
    read_upload,
    staff_session,
)
from db.models import Resource, Staff, utcnow
from knowledge.input import Input
from knowledge.opendata import (
    RESOURCE_COLUMNS,
    ImportResult,
    read_opendata,
    read_resources_csv,
)
from knowledge.resource_facts import Capability, ResourceBody, ResourceType, check_change
from knowledge.store import audit, upsert_resources

router = APIRouter(prefix="/resources", tags=["knowledge"])


class ResourcePatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: ResourceType | None = None
    municipality: str | None = None
    address: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    phone: str | None = None
    hours: str | None = None
    around_the_clock: bool | None = None
    capabilities: list[Capability] | None = None
    accepting_new: bool | None = None
    notes: str | None = None
    source: str | None = Field(default=None, min_length=1, max_length=200)
    sample: bool | None = None


class ResourceOut(ResourceBody):
    id: str
    active: bool
    updated_at: datetime


def _out(row: Resource) -> ResourceOut:
    return ResourceOut(id=row.id, name=row.name, type=row.type, municipality=row.municipality, address=row.address,
                       latitude=row.latitude, longitude=row.longitude, phone=row.phone, hours=row.hours,
                       around_the_clock=row.around_the_clock, capabilities=list(row.capabilities),
                       accepting_new=row.accepting_new, notes=row.notes, source=row.source, sample=row.sample,
                       active=row.active, updated_at=row.updated_at)


# -- the acts, shared by the API below and the console (admin_api/console_knowledge.py) ---------------

NOT_NULL = ("name", "type", "source", "around_the_clock", "capabilities", "sample")


def get_resource_row(session: Session, resource_id: str) -> Resource:
    row = session.get(Resource, resource_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"事業所「{resource_id}」が見つかりません。")
    return row


def find_resources(session: Session, type: str | None = None, municipality: str | None = None,
                   q: str | None = None, include_retired: bool = False, limit: int = 200) -> list[Resource]:
    query = select(Resource).order_by(Resource.id)
    if not include_retired:
        query = query.where(Resource.active)
    if type:
        query = query.where(Resource.type == type)
    if municipality:
        query = query.where(Resource.municipality == municipality)
    if q:
        query = query.where(or_(Resource.name.contains(q), Resource.address.contains(q)))
    return list(session.scalars(query.limit(limit)))


def add_resource(session: Session, body: ResourceBody, staff: Staff) -> Resource:
    row = Resource(id="staff-" + uuid.uuid4().hex[:12], import_key=None, active=True, updated_at=utcnow(),
                   **body.model_dump())
    session.add(row)
    session.flush()
    audit(session, actor(staff), "resource.create", "resource", row.id)
    session.commit()
    return row


def change_resource(session: Session, resource_id: str, changes: dict[str, Any], staff: Staff) -> Resource:
    """Set the given facts (validated by ResourcePatch or ResourceBody); audited with before and after.
    Saving a retired resource's form does not bring it back: that is `reinstate`."""
    row = get_resource_row(session, resource_id)
    field = next((k for k in NOT_NULL if k in changes and changes[k] is None), None)
    if field:
        raise HTTPException(422,
                            [{"loc": ["body", field], "msg": "null にはできません", "type": "value_error"}])
    changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
    try:
        check_change(row, changes)  # nothing is written that the resource's readers would refuse
    except ValidationError as exc:
        raise HTTPException(422, [{**error, "loc": ["body", *error["loc"]]} for error in exc.errors(
            include_url=False, include_context=False, include_input=False)]) from None
    if changes:
        before = {k: getattr(row, k) for k in changes}
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        audit(session, actor(staff), "resource.update", "resource", resource_id, {"before": before, "after": changes})
    session.commit()
    return row


def set_resource_active(session: Session, resource_id: str, active: bool, staff: Staff) -> Resource:
    """Retire (no longer in answers) or reinstate a resource."""
    row = get_resource_row(session, resource_id)
    row.active, row.updated_at = active, utcnow()
    audit(session, actor(staff), "resource.reinstate" if active else "resource.retire", "resource", resource_id)
    session.commit()
    return row


class ImportRow(BaseModel):
    row: int  # the line in the file (the header is line 1)
    reason: str


class ImportReport(BaseModel):
    kind: str  # care (介護サービス事業所一覧), medical (医療機関一覧) or resources (the export's shape)
    encoding: str
    created: int
    updated: int
    problems: list[ImportRow]  # rows not used, and why


def read_resource_file(data: bytes, kind: str | None, source: str) -> ImportResult:
    """Open data (care / medical, told by the header when kind is None) or the desk's own CSV."""
    if kind == "resources":
        return read_resources_csv(data)
    result = read_opendata(data, kind=kind, source=source)
    if kind is None and result.kind == "unknown":
        own = read_resources_csv(data)
        if own.resources:
            return own
    return result


def import_resources(session: Session, data: bytes, kind: str | None, source: str, staff: Staff) -> ImportReport:
    """Good rows are loaded (matched by 事業所番号 / 医療機関コード, else name and address; a retired
    resource stays retired); bad rows are reported by line. Nothing usable: 422 and nothing changes."""
    result = read_resource_file(data, kind, source)
    problems = [ImportRow(row=p.row, reason=p.reason) for p in result.problems]
    if not result.resources:
        raise HTTPException(422, [
            {"loc": ["body", p.row], "msg": p.reason, "type": "value_error"} for p in problems]
            or [{"loc": ["body"], "msg": "取り込める行がありません", "type": "value_error"}])
    created, updated = upsert_resources(session, result.resources)
    audit(session, actor(staff), "resource.import", "resources", source,
          {"kind": result.kind, "encoding": result.encoding, "created": created, "updated": updated,
           "problems": len(problems)})
    session.commit()
    return ImportReport(kind=result.kind, encoding=result.encoding, created=created, updated=updated,
                        problems=problems)


def export_csv(session: Session) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESOURCE_COLUMNS)
    for row in session.scalars(select(Resource).where(Resource.active).order_by(Resource.id)):
        values = {**_out(row).model_dump(), "capabilities": " ".join(row.capabilities),
                  "updated_at": row.updated_at.date().isoformat()}
        writer.writerow(["" if values.get(c) is None else
                         (str(values[c]).lower() if isinstance(values[c], bool) else values[c])
                         for c in RESOURCE_COLUMNS])
    return "\ufeff" + out.getvalue()


def export_download(session: Session) -> Response:
    """The export as a file download (API and console)."""
    return Response(export_csv(session).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="resources.csv"'})


# -- the API ---------------------------------------------------------------------------------------

@router.get("", response_model=list[ResourceOut], summary="Resources by type, municipality or words in the name")
def list_resources(session: SessionDep, _: CurrentStaff, type: ResourceType | None = None,
                   municipality: str | None = None, q: str | None = None, include_retired: bool = False,
                   limit: Annotated[int, Query(ge=1, le=2000)] = 200) -> list[ResourceOut]:
    return [_out(r) for r in find_resources(session, type, municipality, q, include_retired, limit)]


@router.get("/export", summary="Active resources as CSV in the shape of knowledge/data/resources.csv (UTF-8, BOM)",
            responses={200: {"content": {"text/csv": {}}}})
def export_resources(session: SessionDep, _: KnowledgeStaff) -> Response:
    return export_download(session)


@router.post("/import", response_model=ImportReport,
             summary="Load open data (介護サービス事業所一覧 / 医療機関一覧) or the export's CSV; bad rows reported by line",
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {}}}})
async def import_resource_file(request: Request, staff: KnowledgeStaff, runtime: RuntimeDep,
                               kind: Literal["care", "medical", "resources"] | None = None,
                               source: Annotated[str, Query(min_length=1, max_length=200)] = "upload") -> ImportReport:
    data = await read_upload(request, runtime.settings.max_import_bytes)

    def run() -> ImportReport:
        with staff_session(runtime) as session:
            return import_resources(session, data, kind, source, staff)
    return await runtime.run_db(run)


@router.get("/{resource_id}", response_model=ResourceOut, summary="One resource")
def get_resource(resource_id: str, session: SessionDep, _: CurrentStaff) -> ResourceOut:
    return _out(get_resource_row(session, resource_id))


@router.post("", response_model=ResourceOut, status_code=201, summary="Add a resource (coordinator, admin)")
def create_resource(body: ResourceBody, session: SessionDep, staff: KnowledgeStaff) -> ResourceOut:
    return _out(add_resource(session, body, staff))


@router.patch("/{resource_id}", response_model=ResourceOut, summary="Edit resource facts (coordinator, admin)")
def update_resource(resource_id: str, body: ResourcePatch, session: SessionDep, staff: KnowledgeStaff) -> ResourceOut:
    return _out(change_resource(session, resource_id, body.model_dump(exclude_unset=True), staff))


@router.post("/{resource_id}/retire", response_model=ResourceOut,
             summary="Retire a resource: it no longer appears in answers")
def retire_resource(resource_id: str, session: SessionDep, staff: KnowledgeStaff) -> ResourceOut:
    return _out(set_resource_active(session, resource_id, False, staff))


@router.post("/{resource_id}/reinstate", response_model=ResourceOut,
             summary="Bring a retired resource back into answers")
def reinstate_resource(resource_id: str, session: SessionDep, staff: KnowledgeStaff) -> ResourceOut:
    return _out(set_resource_active(session, resource_id, True, staff))
