"""The console's team pages over real HTTP: the staff page (admins) issuing a token once."""

from __future__ import annotations

import re

import httpx

from tests.admin_api.conftest import Member, console_login, csrf_of
from tests.support import DeskServer


def _token_on(page: str) -> str | None:
    match = re.search(r'<code id="issued-token">([^<]+)</code>', page)
    return match.group(1) if match else None


def _login_works(desk: DeskServer, token: str) -> bool:
    with httpx.Client(base_url=desk.url, timeout=10.0) as client:
        page = client.get("/admin/login")
        return client.post("/admin/login", data={"csrf": csrf_of(page.text), "token": token}).status_code == 303


def test_the_staff_page_issues_a_token_once_and_revokes_it(desk: DeskServer, staff: dict[str, Member]) -> None:
    for role in ("nurse", "msw", "coordinator"):
        other = console_login(desk, staff[role])
        assert other.get("/admin/staff").status_code == 403
        assert "スタッフ</a>" not in other.get("/admin/").text
        other.close()
    admin = console_login(desk, staff["admin"])
    page = admin.get("/admin/staff")
    assert page.status_code == 200 and "佐藤 花子" in page.text and _token_on(page.text) is None
    bad = admin.post("/admin/staff", data={"csrf": csrf_of(page.text), "name": "", "role": "nurse",
                                           "slack_user_id": "not a slack id"})
    assert bad.status_code == 422 and "入力してください" in bad.text and "形式が正しくありません" in bad.text
    created = admin.post("/admin/staff", data={"csrf": csrf_of(page.text), "name": "山田 夜勤",
                                               "role": "nurse", "slack_user_id": "U0NIGHT01"})
    token = _token_on(created.text)
    assert created.status_code == 200 and token and "二度と表示されません" in created.text
    assert _login_works(desk, token)
    again = admin.get("/admin/staff")
    assert token not in again.text and "山田 夜勤" in again.text  # shown that once only
    member_id = int(re.search(r'data-staff="(\d+)">\s*<td colspan="2">\s*<form method="post" '
                              r'action="/admin/staff/\d+/update" class="staff-edit">\s*<input[^>]+>\s*'
                              r'<input name="name" value="山田 夜勤"', again.text).group(1))
    csrf = csrf_of(again.text)
    taken = admin.post("/admin/staff", data={"csrf": csrf, "name": "別人", "role": "msw", "slack_user_id": "U0NIGHT01"})
    assert taken.status_code == 409 and "すでに別のスタッフ" in taken.text

    revoked = admin.post(f"/admin/staff/{member_id}/revoke", data={"csrf": csrf}, follow_redirects=True)
    assert "トークンを無効にしました" in revoked.text and not _login_works(desk, token)
    reissued = admin.post(f"/admin/staff/{member_id}/token", data={"csrf": csrf})
    new = _token_on(reissued.text)
    assert new and new != token and _login_works(desk, new) and not _login_works(desk, token)

    changed = admin.post(f"/admin/staff/{member_id}/update", data={
        "csrf": csrf, "name": "山田 夜勤", "role": "msw", "slack_user_id": "U0NIGHT01"}, follow_redirects=True)
    assert "登録を変更しました" in changed.text and not _login_works(desk, new)  # left unticked: inactive
    own = admin.post(f"/admin/staff/{staff['admin'].id}/update", data={
        "csrf": csrf, "name": "管理 太郎", "role": "nurse", "active": "1"}, follow_redirects=True)
    assert "自分自身の管理者の役割を外すこと・無効化はできません" in own.text
    mine = admin.post(f"/admin/staff/{staff['admin'].id}/revoke", data={"csrf": csrf}, follow_redirects=True)
    assert "自分自身のトークンの無効化はできません" in mine.text and _login_works(desk, staff["admin"].token)
    assert admin.post("/admin/staff", data={"name": "x", "role": "nurse"}).status_code == 403  # no CSRF
    admin.close()


def test_the_login_page_names_where_tokens_come_from(desk: DeskServer) -> None:
    page = httpx.get(f"{desk.url}/admin/login", timeout=10.0).text
    assert "「スタッフ」で発行" in page and "zaitaku-desk staff create" in page
