"""The try-out page: chat as a resident through the same core, and staff reach it like any channel."""

from __future__ import annotations

from contextlib import closing

import httpx

from db.session import Database
from tests.admin_api.conftest import Api, Member
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, wait_until


def _texts(client: httpx.Client) -> list[str]:
    return [m["text"] for m in client.get("/try/messages").json()["messages"]]


def test_a_visitor_chats_with_the_bot_and_then_with_staff(desk: DeskServer, database: Database, api: Api,
                                                          staff: dict[str, Member]) -> None:
    with closing(httpx.Client(base_url=desk.url, timeout=10.0)) as client:
        page = client.get("/try")
        assert page.status_code == 200 and "try.js" in page.text
        assert "httponly" in page.headers["set-cookie"].lower()
        assert "textContent" in client.get("/admin/static/try.js").text
        assert client.post("/try/messages", json={"text": ""}).status_code == 422
        assert client.post("/try/messages", json={}).status_code == 422
        assert client.post("/try/messages", json={"text": "人と話したい"}).status_code == 202
        wait_until(lambda: any("おつなぎします" in t for t in _texts(client)), timeout=8)
        queue = api.get("/queue", staff["nurse"]).json()
        web = [i for i in queue if i["channel"] == "web"]
        assert web and web[0]["status"] == "waiting"
        conversation_id = web[0]["id"]
        assert api.post(f"/conversations/{conversation_id}/claim", staff["nurse"]).status_code == 200
        assert api.post(f"/conversations/{conversation_id}/reply", staff["nurse"],
                        json={"text": "お試しページへの返信です"}).status_code == 202
        wait_until(lambda: "お試しページへの返信です" in _texts(client), timeout=8)
    with closing(httpx.Client(base_url=desk.url, timeout=10.0)) as stranger:
        assert stranger.get("/try/messages").json()["messages"] == []
        assert stranger.post("/try/messages", json={"text": "こんにちは"}).status_code == 400


def test_the_red_flag_check_on_the_page_and_in_the_report(desk: DeskServer, api: Api,
                                                          staff: dict[str, Member]) -> None:
    """An acute message gets the check with its buttons; a pressed button shows as what the visitor
    said, brings the 119 reply, and the report counts the check and its answer."""
    period = "from=2000-01-01&to=2100-12-31"
    before = api.get(f"/reports?{period}", staff["coordinator"]).json()["red_flag_checks"]
    with closing(httpx.Client(base_url=desk.url, timeout=10.0)) as client:
        client.get("/try")
        assert client.post("/try/messages", json={"text": "母がトイレで立ち上がれなくなりました"}).status_code == 202
        wait_until(lambda: any(t.startswith("念のため確認させてください。") for t in _texts(client)), timeout=8)
        buttons = client.get("/try/messages").json()["quick_replies"]
        sign = next(b for b in buttons if b["data"] == "action=redflag&answer=color")
        assert sign["text"] == "顔色が悪い・唇が紫"
        assert client.post("/try/messages", json={"postback": sign["data"], "text": sign["text"]}).status_code == 202
        wait_until(lambda: any(t.startswith("🚑 今すぐ119番") for t in _texts(client)), timeout=8)
        mine = [m["text"] for m in client.get("/try/messages").json()["messages"] if m["mine"]]
        assert mine == ["母がトイレで立ち上がれなくなりました", "顔色が悪い・唇が紫"]
    after = api.get(f"/reports?{period}", staff["coordinator"]).json()["red_flag_checks"]
    assert after["asked"] == before["asked"] + 1 and after["sign"] == before["sign"] + 1
    assert after["unanswered"] == before["unanswered"]
    csv = api.get(f"/reports?{period}&format=csv", staff["coordinator"]).text
    assert "緊急度の確認,確認した," in csv


def test_the_page_can_be_switched_off(database_url: str, database: Database, fake_line: FakeLinePlatform) -> None:
    server = DeskServer(database_url, fake_line.url, TRY_PAGE_ENABLED="false").start()
    try:
        assert httpx.get(f"{server.url}/try", timeout=10).status_code == 404
        assert httpx.post(f"{server.url}/try/messages", json={"text": "x"}, timeout=10).status_code == 404
    finally:
        server.stop()


def test_the_page_limits_how_fast_one_browser_sends(database_url: str, database: Database,
                                                    fake_line: FakeLinePlatform) -> None:
    server = DeskServer(database_url, fake_line.url, TRY_MESSAGES_PER_MINUTE="3").start()
    try:
        with closing(httpx.Client(base_url=server.url, timeout=10.0)) as client:
            client.get("/try")
            answers = [client.post("/try/messages", json={"text": f"こんにちは {i}"}) for i in range(5)]
            assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
            assert int(answers[-1].headers["retry-after"]) > 0 and "少し待って" in answers[-1].json()["detail"]
        with closing(httpx.Client(base_url=server.url, timeout=10.0)) as other:  # another browser is not held up
            other.get("/try")
            assert other.post("/try/messages", json={"text": "こんにちは"}).status_code == 202
    finally:
        server.stop()
