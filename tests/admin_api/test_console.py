"""The console over real HTTP: token login into an HttpOnly cookie, CSRF on every form, the queue with
emergencies marked, the conversation view with resident text escaped, and acts that reach LINE."""

from __future__ import annotations

import re
from contextlib import closing
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from db.models import ConsoleSession
from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, conversation_of, csrf_of, handed_off
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until
from zaitaku_desk.staff import create_staff

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_pages_need_a_login_and_a_wrong_token_is_refused(desk: DeskServer, staff: dict[str, Member]) -> None:
    with httpx.Client(base_url=desk.url, timeout=10.0) as client:
        assert client.get("/admin/").status_code == 303
        assert client.get("/admin/conversations/1").headers["location"] == "/admin/login"
        assert client.get("/admin/queue/rows").status_code == 401
        page = client.get("/admin/login")
        assert page.status_code == 200 and "APIトークン" in page.text
        assert "httponly" in page.headers["set-cookie"].lower()
        wrong = client.post("/admin/login", data={"csrf": csrf_of(page.text), "token": "zd_wrong"})
        assert wrong.status_code == 401 and "トークンが正しくない" in wrong.text
        no_csrf = client.post("/admin/login", data={"token": staff["nurse"].token})
        assert no_csrf.status_code == 403
        assert "zd_session" not in client.cookies


def test_login_sets_an_httponly_cookie_and_logout_clears_it(desk: DeskServer, staff: dict[str, Member]) -> None:
    client = httpx.Client(base_url=desk.url, timeout=10.0)
    page = client.get("/admin/login")
    response = client.post("/admin/login", data={"csrf": csrf_of(page.text), "token": staff["nurse"].token})
    session_cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("zd_session="))
    assert "httponly" in session_cookie.lower() and "samesite=strict" in session_cookie.lower()
    queue = client.get("/admin/")
    assert queue.status_code == 200 and "佐藤 花子" in queue.text
    assert client.post("/admin/logout", data={"csrf": "forged"}).status_code == 403
    assert client.post("/admin/logout", data={"csrf": csrf_of(queue.text)}).status_code == 303
    assert client.get("/admin/").status_code == 303
    client.close()


def test_the_cookie_is_a_session_not_the_token_and_ends_at_logout_and_token_changes(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    member = Member(*create_staff(database, "渡辺 三郎", "coordinator"), "渡辺 三郎", "coordinator")
    client = console_login(desk, member)
    secret = client.cookies["zd_session"]
    assert secret and member.token not in secret
    with database.session() as session:
        row = session.scalars(select(ConsoleSession).where(ConsoleSession.staff_id == member.id)).one()
        assert row.id_hash != secret and timedelta(hours=11) < row.expires_at - row.created_at <= timedelta(hours=12)
    copied = httpx.Client(base_url=desk.url, timeout=10.0, cookies={"zd_session": secret})
    assert copied.get("/admin/").status_code == 200
    client.post("/admin/logout", data={"csrf": csrf_of(client.get("/admin/").text)})
    assert copied.get("/admin/").status_code == 303  # the copied cookie died with the logout

    other = console_login(desk, member)
    assert other.get("/admin/").status_code == 200
    with database.session() as session:  # a session past its time is gone
        session.execute(update(ConsoleSession).where(ConsoleSession.staff_id == member.id)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert other.get("/admin/").status_code == 303

    third = console_login(desk, member)
    assert api.post(f"/staff/{member.id}/token", staff["admin"]).status_code == 200  # rotated
    assert third.get("/admin/").status_code == 303
    assert third.get("/admin/queue/rows").status_code == 401
    for client_ in (client, copied, other, third):
        client_.close()


def test_the_queue_shows_both_status_words_and_marks_emergencies(
        desk: DeskServer, database: Database, staff: dict[str, Member], line: FakeLinePlatform) -> None:
    _, normal = handed_off(desk, database)
    _, emergency = handed_off(desk, database, "父が息をしていない")
    with closing(console_login(desk, staff["msw"])) as client:
        html = client.get("/admin/").text
        assert f"相談 #{normal}" in html and "(pending)" not in html  # Japanese only
        # Tabs with counts; each row with its person's last words and its channel in Japanese.
        assert re.search(r'aria-current=page>対応待ち <span class="count" data-tab="waiting">\d+</span>', html)
        assert all(f">{label} <span" in html for label in ("対応中", "保留", "解決済み"))
        row = html[html.index(f'data-id="{normal}"'):]
        row = row[:row.index("</tr>")]
        assert '<div class="preview">人と話したい</div>' in row and "<td>LINE</td>" in row
        row = re.search(rf'<tr class="emergency" data-id="{emergency}">', html)
        assert row and "🚑 緊急" in html
        assert html.index(f'data-id="{emergency}"') < html.index(f'data-id="{normal}"')
        rows = client.get("/admin/queue/rows", params={"urgency": "emergency"}).text
        assert f'data-id="{emergency}"' in rows and f'data-id="{normal}"' not in rows
        assert "console.js" in html
        assert "setInterval" in client.get("/admin/static/console.js").text


def test_resident_text_is_always_escaped(desk: DeskServer, database: Database, staff: dict[str, Member],
                                         line: FakeLinePlatform) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="人と話したい"))
    desk.post_line(line_body("message-text", user=user, text=XSS))
    conversation = wait_until(lambda: conversation_of(database, user), timeout=8)
    with closing(console_login(desk, staff["nurse"])) as client:
        def page() -> str:
            html = client.get(f"/admin/conversations/{conversation.id}").text
            return html if "&lt;script&gt;" in html else ""
        html = wait_until(page, timeout=8)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert client.get(f"/admin/conversations/{conversation.id}").headers["content-security-policy"]
        assert client.get("/admin/conversations/999999").status_code == 404


def test_claim_reply_and_note_from_the_console(desk: DeskServer, database: Database, staff: dict[str, Member],
                                               line: FakeLinePlatform) -> None:
    user, conversation_id = handed_off(desk, database)
    base = f"/admin/conversations/{conversation_id}"
    with closing(console_login(desk, staff["nurse"])) as client:
        csrf = csrf_of(client.get(base).text)
        assert client.post(f"{base}/reply", data={"text": "先に返信"}).status_code == 403  # no CSRF token
        refused = client.post(f"{base}/reply", data={"csrf": csrf, "text": "先に返信"}, follow_redirects=True)
        assert "対応する" in refused.text and 'class="error"' in refused.text
        claimed = client.post(f"{base}/claim", data={"csrf": csrf}, follow_redirects=True)
        assert "担当者対応中" in claimed.text and "(open)" not in claimed.text and "佐藤 花子さんが対応します" in claimed.text
        client.post(f"{base}/reply", data={"csrf": csrf, "text": "コンソールからの返信です。"})
        wait_until(lambda: any(d.kind == "push" and d.to == user and "コンソールからの返信です" in m.get("text", "")
                               for d in line.delivered for m in d.messages), timeout=8)
        noted = client.post(f"{base}/note", data={"csrf": csrf, "text": "<b>内部</b>メモ"}, follow_redirects=True)
        assert "&lt;b&gt;内部&lt;/b&gt;メモ" in noted.text
        empty = client.post(f"{base}/note", data={"csrf": csrf, "text": "  "}, follow_redirects=True)
        assert "本文を入力してください" in empty.text
        moved = client.post(f"{base}/reassign", data={"csrf": csrf, "staff_id": str(staff["msw"].id)},
                            follow_redirects=True)
        assert "鈴木 一郎さんに変更しました" in moved.text
        # It is the MSW's now: the nurse can no longer close it; the MSW can.
        refused = client.post(f"{base}/resolve", data={"csrf": csrf}, follow_redirects=True)
        assert "担当の鈴木 一郎さんの相談です" in refused.text and "担当者対応中" in refused.text
    with closing(console_login(desk, staff["msw"])) as client:
        resolved = client.post(f"{base}/resolve", data={"csrf": csrf_of(client.get(base).text)}, follow_redirects=True)
        assert "解決済み" in resolved.text and "(resolved)" not in resolved.text
    assert not any("内部" in t for t in line.texts())
