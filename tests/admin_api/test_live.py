"""The queue pushed live to the console over server-sent events: a hand-off arrives with its preview
and triage, a claim moves the counts, and the stream needs a login."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx
from sqlalchemy import select

from db.models import Contact, Conversation, Message
from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, handed_off
from tests.support import DeskServer, conversation_of, line_body, new_user, wait_until


def listen(client: httpx.Client) -> queue.Queue[dict[str, Any]]:
    """The console's event stream, read in the background: each `queue` event's data, in order."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()

    def read() -> None:
        try:
            with client.stream("GET", "/admin/queue/events", timeout=httpx.Timeout(10.0, read=60.0)) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        events.put(json.loads(line.removeprefix("data: ")))
        except (httpx.HTTPError, RuntimeError):
            pass  # the client was closed at the end of the test
    threading.Thread(target=read, daemon=True).start()
    return events


def next_matching(events: queue.Queue[dict[str, Any]], match: Any, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        event = events.get(timeout=timeout)
        if match(event):
            return event


def test_the_stream_needs_a_login(desk: DeskServer) -> None:
    assert httpx.get(f"{desk.url}/admin/queue/events", timeout=5.0).status_code == 401


def test_a_hand_off_arrives_live_with_its_preview_and_a_claim_moves_the_counts(
        desk: DeskServer, database: Database, staff: dict[str, Member], api: Api) -> None:
    client = console_login(desk, staff["nurse"])
    events = listen(client)
    first = events.get(timeout=10)
    assert set(first["counts"]) <= {"bot", "waiting", "human", "snoozed", "resolved"}
    waiting_before = first["counts"].get("waiting", 0)

    _, conversation_id = handed_off(desk, database, "母が息をしていない\n急いでください")
    event = next_matching(events, lambda e: any(c["id"] == conversation_id for c in e["arrived"]))
    arrived = next(c for c in event["arrived"] if c["id"] == conversation_id)
    assert arrived["urgency"] == "emergency" and arrived["preview"] == "母が息をしていない"
    assert arrived["channel_label"] == "LINE" and arrived["needed_role"] == "nurse"
    assert event["counts"]["waiting"] == waiting_before + 1

    assert api.post(f"/conversations/{conversation_id}/claim", staff["nurse"]).status_code == 200
    claimed = next_matching(events, lambda e: e["counts"].get("waiting", 0) == waiting_before)
    assert claimed["arrived"] == []
    client.close()


def test_a_resident_chatting_with_the_bot_sends_no_event(
        desk: DeskServer, database: Database, staff: dict[str, Member]) -> None:
    user = new_user()
    assert desk.post_line(line_body("message-text", user=user, text="こんにちは")).status_code == 200
    wait_until(lambda: conversation_of(database, user) is not None, timeout=8)
    client = console_login(desk, staff["msw"])
    events = listen(client)
    events.get(timeout=10)  # the stream's first event
    time.sleep(1.0)  # the watcher's first look, and the new conversation's count if it was not in it yet
    while not events.empty():
        events.get()
    desk.post_line(line_body("message-text", user=user, text="訪問看護とは何ですか"))
    wait_until(lambda: len(line_texts(database, user)) >= 2, timeout=8)
    time.sleep(1.0)
    assert events.empty()  # nothing staff see changed: no console fetches its rows again
    client.close()


def line_texts(database: Database, user: str) -> list[str]:
    """What the contact wrote, as stored."""
    with database.session() as session:
        return list(session.scalars(select(Message.text).join(Conversation, Conversation.id == Message.conversation_id)
                                    .join(Contact, Contact.id == Conversation.contact_id)
                                    .where(Contact.external_id == user, Message.direction == "in")))
