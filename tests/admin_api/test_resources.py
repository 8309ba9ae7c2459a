"""Resource editing: create, edit, retire, export; roles and invalid bodies."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from db.models import AuditLog
from db.session import Database
from tests.admin_api.conftest import Api, Member, field_errors

NEW = {"name": "テスト訪問看護ステーション（サンプル）", "type": "visiting_nurse", "municipality": "須坂市",
       "address": "長野県須坂市テスト1-1", "phone": "000-0000-9999", "around_the_clock": True,
       "capabilities": ["suction", "terminal_care"], "sample": True}


def test_resource_changes_need_a_coordinator_or_admin(api: Api, staff: dict[str, Member]) -> None:
    assert api.get("/resources").status_code == 401
    assert api.get("/resources", staff["msw"]).status_code == 200
    for role in ("nurse", "msw"):
        assert api.post("/resources", staff[role], json=NEW).status_code == 403
        assert api.request("PATCH", "/resources/x", staff[role], json={"phone": "1"}).status_code == 403
        assert api.post("/resources/x/retire", staff[role]).status_code == 403
        assert api.get("/resources/export", staff[role]).status_code == 403


def test_an_invalid_resource_names_the_field(api: Api, staff: dict[str, Member]) -> None:
    c = staff["coordinator"]
    assert field_errors(api.post("/resources", c, json={**NEW, "type": "spa"})) == ["type"]
    assert field_errors(api.post("/resources", c, json={**NEW, "capabilities": ["flying"]})) == ["capabilities"]
    assert field_errors(api.post("/resources", c, json={**NEW, "latitude": 123})) == ["latitude"]
    assert field_errors(api.post("/resources", c, json={**NEW, "phone": "call me"})) == ["phone"]
    assert field_errors(api.post("/resources", c, json={k: v for k, v in NEW.items() if k != "name"})) == ["name"]
    assert api.request("PATCH", "/resources/nothing-here", c, json={"phone": "0"}).status_code == 404


def test_a_resource_is_created_edited_exported_and_retired(api: Api, staff: dict[str, Member],
                                                           database: Database) -> None:
    c = staff["coordinator"]
    created = api.post("/resources", c, json=NEW)
    assert created.status_code == 201
    rid = created.json()["id"]
    assert rid in {r["id"] for r in api.get("/resources", c, params={"type": "visiting_nurse", "q": "テスト訪問"}).json()}
    edited = api.request("PATCH", f"/resources/{rid}", staff["admin"], json={"accepting_new": False, "hours": "平日 9-17"})
    assert edited.status_code == 200 and (edited.json()["accepting_new"], edited.json()["hours"]) == (False, "平日 9-17")
    assert field_errors(api.request("PATCH", f"/resources/{rid}", c, json={"name": None})) == ["name"]
    exported = api.get("/resources/export", c)
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    mine = next(r for r in rows if r["id"] == rid)
    assert (mine["capabilities"], mine["around_the_clock"], mine["accepting_new"]) == (
        "suction terminal_care", "true", "false")
    assert api.post(f"/resources/{rid}/retire", c).json()["active"] is False
    assert rid not in {r["id"] for r in api.get("/resources", c).json()}
    assert api.post(f"/resources/{rid}/reinstate", staff["nurse"]).status_code == 403
    assert api.post(f"/resources/{rid}/reinstate", c).json()["active"] is True
    assert rid in {r["id"] for r in api.get("/resources", c).json()}
    with database.session() as session:
        actions = set(session.scalars(select(AuditLog.action).where(AuditLog.target_id == rid)))
    assert actions == {"resource.create", "resource.update", "resource.retire", "resource.reinstate"}
