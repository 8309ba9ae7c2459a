"""What every staff route needs: the runtime, a database session, and the staff member behind the token.

Routes declare `SessionDep` and `CurrentStaff` (or a role check) and stay short; the same aliases are
overridable in tests. Tokens arrive as `Authorization: Bearer <token>` and are compared by hash only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from bot.roles import KNOWLEDGE_ROLES, REPORT_ROLES, TEAM_ROLES, Role
from db.models import Staff
from zaitaku_desk.runtime import Runtime
from zaitaku_desk.staff import staff_by_token

ALL_ROLES = tuple(Role)


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@contextmanager
def staff_session(runtime: Runtime) -> Iterator[Session]:
    """One session per staff request (API or console): acts may commit midway (e.g. before rebuilding the
    matcher); what is left is committed at the end; an exception rolls back what was not committed."""
    session = Session(runtime.db.engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with staff_session(runtime) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def get_current_staff(request: Request, runtime: RuntimeDep) -> Staff:
    token = _token_of(request)
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "認証トークンがありません。",
                            headers={"WWW-Authenticate": "Bearer"})
    with runtime.db.session() as session:
        staff = staff_by_token(session, token)
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "認証トークンが無効です（失効したか、誤りです）。",
                            headers={"WWW-Authenticate": "Bearer"})
    return staff


CurrentStaff = Annotated[Staff, Depends(get_current_staff)]


def require_roles(*roles: str) -> Callable[[Staff], Staff]:
    """A dependency that lets only these roles through (403 for the others)."""
    def check(staff: CurrentStaff) -> Staff:
        if staff.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"この操作は次の役割のスタッフだけができます: {', '.join(roles)}")
        return staff
    return check


AdminStaff = Annotated[Staff, Depends(require_roles("admin"))]
KnowledgeStaff = Annotated[Staff, Depends(require_roles(*KNOWLEDGE_ROLES))]
ReportStaff = Annotated[Staff, Depends(require_roles(*REPORT_ROLES))]
TeamStaff = Annotated[Staff, Depends(require_roles(*TEAM_ROLES))]


async def read_upload(request: Request, limit: int) -> bytes:
    """An uploaded file: the raw request body (API) or the `file` field of a multipart form (console)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"ファイルが大きすぎます（{limit:,}バイトまで）。")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        data = await upload.read() if upload is not None and not isinstance(upload, str) else b""
    else:
        data = await request.body()
    if len(data) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"ファイルが大きすぎます（{limit:,}バイトまで）。")
    if not data.strip():
        raise HTTPException(422,
                            [{"loc": ["body"], "msg": "ファイルが空です", "type": "missing"}])
    return data


def decode_upload(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, [
            {"loc": ["body"], "msg": f"UTF-8 として読めません（{exc.start}バイト目）。UTF-8 で保存してください",
             "type": "value_error"}]) from exc


def actor(staff: Staff) -> str:
    return f"staff:{staff.id}"
