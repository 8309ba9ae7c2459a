"""Test helpers: the desk as a real server process, signed LINE bodies from the SDK fixtures."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from db.models import Contact, Conversation
from db.session import Database

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LINE_FIXTURES = SHARED / "fixtures" / "line"
LINE_SECRET = "test-channel-secret"
LINE_TOKEN = "test-access-token"
SLACK_BOT_TOKEN = "xoxb-test-token"  # what the desk under test and the fake Slack both hold


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def line_signature(body: bytes, secret: str = LINE_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def line_body(name: str, *, user: str | None = None, text: str | None = None, **event_overrides: Any) -> dict[str, Any]:
    """A webhook body from the official SDK fixtures, with fresh ids so each test's events are its own."""
    body = json.loads((LINE_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    for event in body["events"]:
        event["webhookEventId"] = "01" + uuid.uuid4().hex[:24].upper()
        if "replyToken" in event:
            event["replyToken"] = uuid.uuid4().hex
        event["timestamp"] = int(time.time() * 1000)
        if user and "source" in event:
            event["source"]["userId"] = user
        if text is not None and event.get("message", {}).get("type") == "text":
            event["message"]["text"] = text
        event.update(copy.deepcopy(event_overrides))
    return body


def new_user() -> str:
    return "U" + uuid.uuid4().hex


class DeskServer:
    """`zaitaku-desk serve` in its own process, pointed at the fake platforms."""

    def __init__(self, database_url: str, line_url: str, *, workers: int = 1, **env: str) -> None:
        self.workers = workers  # `serve --workers`: web processes sharing the port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "LINE_CHANNEL_SECRET": LINE_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            "LINE_API_BASE_URL": line_url,
            "LINE_REQUEST_TIMEOUT_SECONDS": "1.0",
            "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
            "OUTBOX_BACKOFF_MAX_SECONDS": "1.0",
            "WORKER_POLL_SECONDS": "0.2",
            "NO_PROXY": "127.0.0.1,localhost",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"zaitaku-desk-{self.port}.log"

    def start(self, timeout: float = 30.0) -> DeskServer:
        handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port), "--log-level", "warning",
             "--workers", str(self.workers)],
            cwd=REPO, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"desk server exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"desk server not ready in {timeout}s:\n{self.output()}")

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=15)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def worker(self) -> subprocess.Popen[bytes]:
        """`zaitaku-desk worker` on this server's settings and database (stop it with .terminate())."""
        handle = self.log.with_suffix(".worker.log").open("ab")
        return subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], cwd=REPO, env=self.env,
                                stdout=handle, stderr=subprocess.STDOUT)

    def post_line(self, body: dict[str, Any] | bytes, *, signature: str | None = "auto",
                  content_type: str = "application/json; charset=utf-8") -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": content_type}
        if signature == "auto":
            headers["X-Line-Signature"] = line_signature(raw)
        elif signature is not None:
            headers["X-Line-Signature"] = signature
        return httpx.post(f"{self.url}/webhooks/line", content=raw, headers=headers, timeout=10.0)

    def press(self, user: str, data: str) -> None:
        """`user` presses a LINE button whose postback data is `data` (LINE sends the data only)."""
        body = line_body("postback", user=user)
        body["events"][0]["postback"] = {"data": data}
        assert self.post_line(body).status_code == 200


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def conversation_of(db: Database, user: str) -> Conversation | None:
    """The newest conversation of the contact with this external id."""
    with db.session() as session:
        return session.scalars(select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
                               .where(Contact.external_id == user).order_by(Conversation.id.desc())).first()
