"""Deletion on request: an admin exports a contact's messages, then erases them; the audit log keeps the fact."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.models import AuditLog, Contact, InboundEvent, Message, OutboxMessage
from db.session import Database
from tests.admin_api.conftest import Api, Member, conversation_of, handed_off
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer


def test_contact_routes_need_a_token_and_erasing_needs_an_admin(api: Api, staff: dict[str, Member]) -> None:
    assert api.get("/contacts/1").status_code == 401
    for role in ("nurse", "msw", "coordinator"):
        assert api.get("/contacts/1/export", staff[role]).status_code == 403
        assert api.post("/contacts/1/erase", staff[role]).status_code == 403
    assert api.get("/contacts/999999", staff["nurse"]).status_code == 404
    assert api.post("/contacts/999999/erase", staff["admin"]).status_code == 404


def test_a_contact_is_exported_then_erased(desk: DeskServer, database: Database, api: Api,
                                           staff: dict[str, Member], line: FakeLinePlatform) -> None:
    secret = "母の持病は糖尿病で、住所は須坂市テスト町です"
    user, conversation_id = handed_off(desk, database, "人と話したい")
    api.post(f"/conversations/{conversation_id}/claim", staff["nurse"])
    api.post(f"/conversations/{conversation_id}/notes", staff["nurse"], json={"text": secret})
    contact_id = conversation_of(database, user).contact_id
    profile = api.get(f"/contacts/{contact_id}", staff["nurse"]).json()
    assert conversation_id in {c["id"] for c in profile["conversations"]}

    exported = api.get(f"/contacts/{contact_id}/export", staff["admin"]).json()
    assert exported["contact"]["external_id"] == user
    assert any(m["text"] == "人と話したい" for m in exported["messages"])

    erased = api.post(f"/contacts/{contact_id}/erase", staff["admin"])
    assert erased.status_code == 200 and erased.json()["messages_erased"] >= 2
    assert api.post(f"/contacts/{contact_id}/erase", staff["admin"]).status_code == 409
    with database.session() as session:
        contact = session.get(Contact, contact_id)
        assert contact.erased_at is not None and contact.external_id != user
        texts = [m.text for m in session.scalars(select(Message).where(Message.conversation_id == conversation_id))]
        assert texts and all(t is None for t in texts)
        outbox = session.scalars(select(OutboxMessage).where(OutboxMessage.conversation_id == conversation_id)).all()
        assert all(user not in json.dumps(o.payload, ensure_ascii=False) and o.target != user for o in outbox)
        raws = [json.dumps(e.raw, ensure_ascii=False) for e in session.scalars(select(InboundEvent))]
        assert not [r for r in raws if user in r or ("人と話したい" in r and user in r)]
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "contact.erase",
                                                        AuditLog.target_id == str(contact_id))).one()
        everything = json.dumps([a.detail for a in session.scalars(select(AuditLog))], ensure_ascii=False)
    assert logged.actor == f"staff:{staff['admin'].id}"
    assert secret not in everything and user not in everything
    assert api.get(f"/conversations/{conversation_id}", staff["nurse"]).json()["transcript"][0]["text"] is None
