"""Admin API fixtures: one desk server per module and backend, staff of every role with their tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from db.session import Database
from tests.support import DeskServer, conversation_of, line_body, new_user, wait_until
from zaitaku_desk.staff import create_staff


@dataclass
class Member:
    id: int
    token: str
    name: str
    role: str


class Api:
    """The admin API over real HTTP, as a given staff member (or nobody)."""

    def __init__(self, desk: DeskServer) -> None:
        self.base = f"{desk.url}/admin/api"

    def request(self, method: str, path: str, who: Member | str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        token = who.token if isinstance(who, Member) else who
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=10.0, **kwargs)

    def get(self, path: str, who: Member | str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, who, **kwargs)

    def post(self, path: str, who: Member | str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, who, **kwargs)


@pytest.fixture(scope="module")
def staff(database: Database) -> dict[str, Member]:
    members = {}
    for role, name in (("admin", "管理 太郎"), ("nurse", "佐藤 花子"), ("msw", "鈴木 一郎"),
                       ("coordinator", "高橋 次郎")):
        staff_id, token = create_staff(database, name, role)
        members[role] = Member(staff_id, token, name, role)
    return members


@pytest.fixture(scope="module")
def api(desk: DeskServer) -> Api:
    return Api(desk)


def field_errors(response: httpx.Response) -> list[str]:
    """The names of the fields a 422 complains about (loc is ["body"|"query", field, ...])."""
    assert response.status_code == 422, response.text
    return [str(error["loc"][1] if len(error["loc"]) > 1 else error["loc"][0]) for error in response.json()["detail"]]


def csrf_of(html: str) -> str:
    """The CSRF token a console page puts in its forms."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def console_login(desk: DeskServer, member: Member) -> httpx.Client:
    """A console client logged in as `member` (its cookies hold the session and the CSRF token)."""
    client = httpx.Client(base_url=desk.url, timeout=10.0)
    page = client.get("/admin/login")
    response = client.post("/admin/login", data={"csrf": csrf_of(page.text), "token": member.token})
    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    return client


def handed_off(desk: DeskServer, db: Database, text: str = "人と話したい") -> tuple[str, int]:
    """A LINE resident whose conversation waits for staff; returns (LINE user id, conversation id)."""
    user = new_user()
    assert desk.post_line(line_body("message-text", user=user, text=text)).status_code == 200
    conversation = wait_until(lambda: (c := conversation_of(db, user)) and c.status == "waiting" and c, timeout=8)
    return user, conversation.id
