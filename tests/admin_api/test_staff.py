"""Auth, roles, staff accounts and their tokens."""

from __future__ import annotations

from sqlalchemy import select

from db.models import AuditLog, Staff
from db.session import Database
from tests.admin_api.conftest import Api, Member, field_errors
from tests.support import DeskServer


def test_no_token_is_401_and_a_wrong_token_is_401(api: Api, staff: dict[str, Member]) -> None:
    for response in (api.get("/me"), api.get("/me", "zd_not-a-real-token"),
                     api.get("/me", headers={"Authorization": "Basic abc"}), api.get("/queue")):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"]


def test_me_tells_who_the_token_belongs_to(api: Api, staff: dict[str, Member]) -> None:
    body = api.get("/me", staff["nurse"]).json()
    assert (body["id"], body["name"], body["role"], body["active"]) == (
        staff["nurse"].id, "佐藤 花子", "nurse", True)
    assert "token" not in body and "token_hash" not in body


def test_only_admins_manage_staff(api: Api, staff: dict[str, Member]) -> None:
    for role in ("nurse", "msw", "coordinator"):
        assert api.get("/staff", staff[role]).status_code == 403
        response = api.post("/staff", staff[role], json={"name": "x", "role": "nurse"})
        assert response.status_code == 403 and "admin" in response.json()["detail"]
        assert api.post(f"/staff/{staff['nurse'].id}/token", staff[role]).status_code == 403
        assert api.request("DELETE", f"/staff/{staff['nurse'].id}/token", staff[role]).status_code == 403
    listed = api.get("/staff", staff["admin"]).json()
    assert {s["role"] for s in listed} >= {"admin", "nurse", "msw", "coordinator"}


def test_an_invalid_staff_body_names_the_field(api: Api, staff: dict[str, Member]) -> None:
    admin = staff["admin"]
    assert field_errors(api.post("/staff", admin, json={"name": "医師", "role": "doctor"})) == ["role"]
    assert field_errors(api.post("/staff", admin, json={"role": "nurse"})) == ["name"]
    assert field_errors(api.post("/staff", admin, json={"name": "", "role": "nurse"})) == ["name"]
    assert api.post("/staff", admin, content=b"{not json", headers={"Content-Type": "application/json"}
                    ).status_code == 422
    assert field_errors(api.request("PATCH", f"/staff/{staff['nurse'].id}", admin, json={"active": "maybe"})) == [
        "active"]
    assert api.request("PATCH", "/staff/999999", admin, json={"active": False}).status_code == 404


def test_a_created_token_is_shown_once_stored_hashed_and_works(api: Api, staff: dict[str, Member],
                                                                database: Database) -> None:
    response = api.post("/staff", staff["admin"], json={"name": "新人 看護師", "role": "nurse",
                                                        "slack_user_id": "U0NEWNURSE"})
    assert response.status_code == 201
    created = response.json()
    token = created["token"]
    assert token.startswith("zd_") and created["has_token"]
    assert api.get("/me", token).json()["name"] == "新人 看護師"
    listed = {s["id"]: s for s in api.get("/staff", staff["admin"]).json()}
    assert "token" not in listed[created["id"]]
    with database.session() as session:
        row = session.get(Staff, created["id"])
        assert row.token_hash and row.token_hash != token and token not in row.token_hash
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "staff.create",
                                                        AuditLog.target_id == str(created["id"]))).one()
        assert logged.actor == f"staff:{staff['admin'].id}"
        assert token not in str(logged.detail)
    duplicate = api.post("/staff", staff["admin"], json={"name": "別人", "role": "msw", "slack_user_id": "U0NEWNURSE"})
    assert duplicate.status_code == 409


def test_tokens_can_be_replaced_and_revoked(api: Api, staff: dict[str, Member], database: Database) -> None:
    created = api.post("/staff", staff["admin"], json={"name": "交代 MSW", "role": "msw"}).json()
    old = created["token"]
    rotated = api.post(f"/staff/{created['id']}/token", staff["admin"])
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != old
    assert api.get("/me", old).status_code == 401
    assert api.get("/me", new).status_code == 200
    revoked = api.request("DELETE", f"/staff/{created['id']}/token", staff["admin"])
    assert revoked.status_code == 200 and revoked.json()["has_token"] is False
    assert api.get("/me", new).status_code == 401
    assert api.post("/staff/999999/token", staff["admin"]).status_code == 404
    with database.session() as session:
        actions = set(session.scalars(select(AuditLog.action).where(AuditLog.target_id == str(created["id"]),
                                                                    AuditLog.target_type == "staff")))
    assert actions >= {"staff.create", "staff.token_issue", "staff.token_revoke"}


def test_a_deactivated_account_can_no_longer_act_and_roles_change(api: Api, staff: dict[str, Member]) -> None:
    created = api.post("/staff", staff["admin"], json={"name": "異動 花子", "role": "nurse"}).json()
    token = created["token"]
    promoted = api.request("PATCH", f"/staff/{created['id']}", staff["admin"], json={"role": "coordinator"})
    assert promoted.json()["role"] == "coordinator"
    assert api.get("/me", token).json()["role"] == "coordinator"
    assert api.request("PATCH", f"/staff/{created['id']}", staff["admin"], json={"active": False}).status_code == 200
    assert api.get("/me", token).status_code == 401


def test_the_api_is_documented(desk: DeskServer) -> None:
    import httpx

    paths = httpx.get(f"{desk.url}/openapi.json", timeout=10).json()["paths"]
    for path in ("/admin/api/me", "/admin/api/staff", "/admin/api/queue", "/admin/api/reports",
                 "/admin/api/conversations/{conversation_id}/claim", "/admin/api/conversations/{conversation_id}/snooze"):
        assert path in paths
    # The answers the API really gives are in the schema.
    assert {"200", "401", "403", "404", "409", "422"} <= set(paths["/admin/api/conversations/{conversation_id}/claim"]["post"]["responses"])
    # /docs is drawn by the desk itself: nothing is fetched from outside (closed hospital networks).
    page = httpx.get(f"{desk.url}/docs", timeout=10)
    assert page.status_code == 200 and "/admin/api/conversations/{conversation_id}/snooze" in page.text
    assert "http://" not in page.text and "https://" not in page.text
