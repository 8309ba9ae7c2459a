"""Canned replies (定型文): kept by coordinators, chosen by staff by a short code, with {利用者名}
{拠点名} {担当者名} filled for the conversation they are used in. Staff read the filled text in the reply
box and send it like any reply (so it goes out signed, by its owner only)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import CannedReply, Staff, utcnow
from knowledge.store import audit
from zaitaku_desk.handoff import record

PLACEHOLDERS = ("利用者名", "拠点名", "担当者名")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
CODE = r"^[^\s/{}]{1,20}$"  # 「訪問」「hours」: no spaces, slashes or braces (typed as /訪問 in the reply box)


class CannedError(ValueError):
    """A canned reply that cannot be saved (Japanese message), and the field at fault."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field


def unknown_placeholders(body: str) -> list[str]:
    return [name for name in _PLACEHOLDER.findall(body) if name not in PLACEHOLDERS]


def fill(body: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def listing(session: Session) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).order_by(CannedReply.code)))


def save(session: Session, staff: Staff, code: str, title: str, body: str, canned_id: int | None = None) -> CannedReply:
    """Create (no id) or change a canned reply; CannedError for a taken code, a missing one, or an
    unknown placeholder."""
    unknown = unknown_placeholders(body)
    if unknown:
        raise CannedError(f"{{{unknown[0]}}} は使えません。使える差し込みは "
                          + " ".join(f"{{{p}}}" for p in PLACEHOLDERS) + " です。")
    taken = session.scalars(select(CannedReply).where(CannedReply.code == code)).first()
    if taken is not None and taken.id != canned_id:
        raise CannedError(f"短縮コード「{code}」はすでに使われています。", "code")
    row = CannedReply() if canned_id is None else session.get(CannedReply, canned_id)
    if row is None:
        raise CannedError(f"定型文 #{canned_id} が見つかりません。", "id")
    row.code, row.title, row.body, row.updated_by, row.updated_at = code, title, body, staff.id, utcnow()
    session.add(row)
    session.flush()
    audit(session, f"staff:{staff.id}", "canned.save", "canned_reply", str(row.id), {"code": code})
    return row


def remove(session: Session, staff: Staff, canned_id: int) -> str:
    row = session.get(CannedReply, canned_id)
    if row is None:
        raise CannedError(f"定型文 #{canned_id} が見つかりません。")
    session.delete(row)
    audit(session, f"staff:{staff.id}", "canned.delete", "canned_reply", str(canned_id), {"code": row.code})
    return row.code


def for_conversation(session: Session, conversation_id: int, staff: Staff, hub_name: str) -> list[tuple[CannedReply, str]]:
    """Every canned reply with its text filled for this conversation and the staff member writing."""
    seen = record(session, conversation_id, internal=False, recent=0)
    contact = seen.contact
    values = {"利用者名": contact.display_name if contact and contact.display_name else "ご相談者",
              "拠点名": hub_name, "担当者名": staff.name}
    return [(row, fill(row.body, values)) for row in listing(session)]
