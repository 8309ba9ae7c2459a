"""Hostile and malformed input, table by table: a clear 4xx, nothing stored, no traceback, no text in the log.

Every body below is correctly signed unless the case is about the signature: a forger who knows the
secret, or a platform bug, must not make the desk answer 500 (which makes LINE and Slack send it again)
or hold an event that fails five times.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sqlalchemy import func, select

from db.models import (
    Conversation,
    FaqEntry,
    InboundEvent,
    Message,
    OutboxMessage,
    Resource,
    UnansweredQuestion,
    Vacancy,
)
from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, handed_off, staff  # noqa: F401 - the fixtures
from tests.fakes.line_platform import FakeLinePlatform
from tests.fakes.slack_platform import FakeSlackPlatform, block_actions_body, event_callback, signed_headers
from tests.support import SLACK_BOT_TOKEN, DeskServer, line_body, line_signature, new_user

SECRET_WORDS = "ひみつの相談内容"  # a resident's words: must never reach the log
SIGNING_SECRET = "bad-input-signing-secret"


@pytest.fixture(scope="module")
def desk_env(fake_slack: FakeSlackPlatform) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_BASE_URL": fake_slack.url,
            "SLACK_STAFF_CHANNEL": "C0STAFFBAD", "MAX_BODY_BYTES": "200000"}


@pytest.fixture(scope="module")
def api(desk: DeskServer) -> Api:
    return Api(desk)


def _event(**overrides: Any) -> dict[str, Any]:
    event = line_body("message-text", user=new_user(), text=SECRET_WORDS)["events"][0]
    return {**event, **overrides}


def _line(events: Any) -> bytes:
    return json.dumps({"destination": "Uxxx", "events": events}, ensure_ascii=False).encode()


LINE_CASES: dict[str, tuple[bytes, dict[str, str], int]] = {
    # name: (body, header overrides, expected status)
    "not JSON": (b"{" + SECRET_WORDS.encode(), {}, 400),
    "not UTF-8": (b'{"events": ["\xff\xfe"]}', {}, 400),
    "a JSON array": (b"[1, 2, 3]", {}, 400),
    "events is a string": (json.dumps({"events": "x"}).encode(), {}, 400),
    "events is an object": (json.dumps({"events": {"a": 1}}).encode(), {}, 400),
    "an event is a string": (_line(["x"]), {}, 400),
    "an event is a number": (_line([1]), {}, 400),
    "an event without a type": (_line([{"message": {"text": SECRET_WORDS}}]), {}, 400),
    "a type that is a number": (_line([_event(type=5)]), {}, 400),
    "a 10,000-character event id": (_line([_event(webhookEventId="E" * 10_000)]), {}, 400),
    "an empty event id": (_line([_event(webhookEventId="")]), {}, 400),
    "an event id that is a number": (_line([_event(webhookEventId=12345)]), {}, 400),
    "source is a list": (_line([_event(source=[])]), {}, 400),
    "source is a string": (_line([_event(source="user")]), {}, 400),
    "message is a string": (_line([_event(message=SECRET_WORDS)]), {}, 400),
    "postback is a list": (_line([_event(type="postback", postback=["x"])]), {}, 400),
    "Infinity as a timestamp": (_line([_event()]).replace(b'"timestamp": ', b'"timestamp": Infinity, "t": '), {}, 400),
    "NaN as a timestamp": (_line([_event()]).replace(b'"timestamp": ', b'"timestamp": NaN, "t": '), {}, 400),
    "nested 5,000 deep": (b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}", {}, 400),
    "no signature": (_line([_event()]), {"X-Line-Signature": ""}, 401),
    "a wrong signature": (_line([_event()]), {"X-Line-Signature": "AAAA"}, 401),
    "a signature that is not base64": (_line([_event()]), {"X-Line-Signature": "%%%"}, 401),
    "text/plain": (_line([_event()]), {"Content-Type": "text/plain"}, 415),
    "no content type": (_line([_event()]), {"Content-Type": ""}, 415),
    "a body over the limit": (_line([_event(message={"type": "text", "id": "1", "text": "あ" * 100_000})]), {}, 413),
}

SLACK_EVENT = {"type": "message", "channel": "D0BAD0001", "user": "U0BAD0001", "text": SECRET_WORDS,
               "ts": "1700000000.000100", "channel_type": "im"}


def _slack_json(body: Any) -> tuple[bytes, str]:
    return json.dumps(body, ensure_ascii=False).encode(), "application/json"


def _press(**overrides: Any) -> str:
    """A block_actions payload (as JSON) for a 「対応する」 press, with fields replaced."""
    body = block_actions_body("conv_take", "1", user_id="U0BAD0001", channel_id="C0STAFFBAD", message_ts="1.1")
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    return json.dumps({**payload, **overrides}, ensure_ascii=False)


def _slack_form(payload: str) -> tuple[bytes, str]:
    return ("payload=" + httpx.QueryParams({"p": payload})["p"]).encode(), "application/x-www-form-urlencoded"


SLACK_CASES: dict[str, tuple[tuple[bytes, str], dict[str, Any], int]] = {
    "not JSON": ((b"{" + SECRET_WORDS.encode(), "application/json"), {}, 400),
    "not UTF-8": ((b'{"a": "\xff"}', "application/json"), {}, 400),
    "a JSON array": (_slack_json([1, 2]), {}, 400),
    "event is a string": (_slack_json({"type": "event_callback", "event": SECRET_WORDS}), {}, 400),
    "event is a list": (_slack_json({"type": "event_callback", "event": [SECRET_WORDS]}), {}, 400),
    "event.user is an object": (_slack_json(event_callback({**SLACK_EVENT, "user": {"id": "U1"}})), {}, 400),
    "event.text is a number": (_slack_json(event_callback({**SLACK_EVENT, "text": 5})), {}, 400),
    "event.channel is a list": (_slack_json(event_callback({**SLACK_EVENT, "channel": ["D1"]})), {}, 400),
    "team is a string": (_slack_json({**event_callback(SLACK_EVENT), "team": "T1"}), {}, 400),
    "authorizations is a string": (_slack_json({**event_callback(SLACK_EVENT), "authorizations": "x"}), {}, 400),
    "Infinity in the body": ((json.dumps(event_callback(SLACK_EVENT)).replace('"event_time": ', '"event_time": Infinity, "x": ').encode(), "application/json"), {}, 400),
    "nested 5,000 deep": ((b"[" * 5000 + b"]" * 5000, "application/json"), {}, 400),
    "a payload that is not JSON": (_slack_form("{" + SECRET_WORDS), {}, 400),
    "a payload that is a list": (_slack_form("[1]"), {}, 400),
    "actions is not a list": (_slack_form(_press(actions="x")), {}, 400),
    "an action that is a string": (_slack_form(_press(actions=["x"])), {}, 400),
    "user is a number": (_slack_form(_press(user=5)), {}, 400),
    "channel is a list": (_slack_form(_press(channel=["C1"])), {}, 400),
    "text/plain": ((b"x", "text/plain"), {}, 415),
    "a stale timestamp": (_slack_json(event_callback(SLACK_EVENT)), {"timestamp": int(time.time()) - 3600}, 401),
    "a timestamp that is not a number": (_slack_json(event_callback(SLACK_EVENT)), {"X-Slack-Request-Timestamp": "soon"}, 401),
    "a wrong signature": (_slack_json(event_callback(SLACK_EVENT)), {"X-Slack-Signature": "v0=00"}, 401),
    "a body over the limit": (_slack_json(event_callback({**SLACK_EVENT, "text": "あ" * 100_000})), {}, 413),
}


def _stored(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(InboundEvent)) or 0


def _clean_log(desk: DeskServer, since: int) -> str:
    log = desk.output()[since:]
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
    assert SECRET_WORDS not in log
    return log


@pytest.mark.parametrize("case", list(LINE_CASES))
def test_bad_line_bodies_are_refused_and_nothing_is_kept(desk: DeskServer, database: Database, case: str) -> None:
    body, headers, expected = LINE_CASES[case]
    since, before = len(desk.output()), _stored(database)
    sent = {"Content-Type": "application/json", "X-Line-Signature": line_signature(body), **headers}
    response = httpx.post(f"{desk.url}/webhooks/line", content=body,
                          headers={k: v for k, v in sent.items() if v}, timeout=10)
    assert response.status_code == expected, response.text
    assert response.json()["ok"] is False and response.json()["error"]
    assert _stored(database) == before
    _clean_log(desk, since)


@pytest.mark.parametrize("case", list(SLACK_CASES))
def test_bad_slack_bodies_are_refused_and_nothing_is_kept(desk: DeskServer, database: Database, case: str) -> None:
    (body, kind), options, expected = SLACK_CASES[case]
    since, before = len(desk.output()), _stored(database)
    headers = signed_headers(SIGNING_SECRET, body, kind, timestamp=options.get("timestamp"))
    headers.update({k: v for k, v in options.items() if k != "timestamp"})
    response = httpx.post(f"{desk.url}/webhooks/slack", content=body, headers=headers, timeout=10)
    assert response.status_code == expected, response.text
    assert _stored(database) == before
    time.sleep(0.1)
    _clean_log(desk, since)


def test_a_nul_in_a_residents_message_is_dropped_and_the_message_answered(
        desk: DeskServer, database: Database, line: FakeLinePlatform) -> None:
    since = len(desk.output())
    assert desk.post_line(line_body("message-text", user=new_user(), text="人と\x00話したい")).status_code == 200
    line.wait_for_deliveries(1, timeout=10)
    with database.session() as session:
        assert session.scalar(select(Message.text).where(Message.text == "人と話したい")) == "人と話したい"
    assert "failed" not in _clean_log(desk, since)


@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", f"/conversations/{2**31}", None),
    ("GET", f"/conversations/{2**63}", None),
    ("POST", f"/conversations/{2**31}/claim", None),
    ("POST", f"/conversations/{2**63}/resolve", None),
    ("GET", f"/contacts/{2**31}", None),
    ("GET", f"/contacts/{2**63}", None),
    ("GET", "/reports", {"from": "9999-12-31", "to": "9999-12-31"}),
    ("GET", "/reports", {"from": "0001-01-01", "to": "0001-01-01"}),
])
def test_out_of_range_values_are_a_client_error(desk: DeskServer, api: Api, staff: dict[str, Member],  # noqa: F811
                                                method: str, path: str, params: dict[str, str] | None) -> None:
    since = len(desk.output())
    response = api.request(method, path, staff["admin"], params=params)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    _clean_log(desk, since)


@pytest.mark.parametrize("change", [{"phone": "call me"}, {"phone": "0" * 41}, {"name": ""}, {"name": None},
                                    {"latitude": 91}, {"type": "castle"}, {"capabilities": ["flying"]},
                                    {"notes": "あ" * 2001}])
def test_a_resource_change_that_could_not_be_read_back_is_refused_and_nothing_changes(
        desk: DeskServer, api: Api, staff: dict[str, Member], change: dict[str, Any]) -> None:  # noqa: F811
    resources = api.get("/resources", staff["admin"])
    assert resources.status_code == 200
    target = resources.json()[0]
    refused = api.request("PATCH", f"/resources/{target['id']}", staff["admin"], json=change)
    assert refused.status_code == 422, refused.text
    assert [e["loc"][1] for e in refused.json()["detail"]] == list(change)
    after = api.get(f"/resources/{target['id']}", staff["admin"])
    assert after.status_code == 200 and after.json() == target
    assert api.get("/resources/export", staff["admin"]).status_code == 200


TRY_CASES: dict[str, tuple[bytes, str, int]] = {
    # name: (body, content type, expected status)
    "not JSON": (b"{" + SECRET_WORDS.encode(), "application/json", 422),
    "a JSON list": (b'["x"]', "application/json", 422),
    "neither text nor postback": (b"{}", "application/json", 422),
    "an empty text": (b'{"text": ""}', "application/json", 422),
    "a text that is a number": (b'{"text": 5}', "application/json", 422),
    "a text that is an object": (b'{"text": {"a": 1}}', "application/json", 422),
    "a text over 5,000 characters": (json.dumps({"text": "あ" * 5001}).encode(), "application/json", 422),
    "a postback over 300 characters": (json.dumps({"postback": "a" * 301}).encode(), "application/json", 422),
    "nested 5,000 deep": (b"{\"text\": " + b"[" * 5000 + b"]" * 5000 + b"}", "application/json", 400),
    "a form instead of JSON": (b"text=" + SECRET_WORDS.encode(), "application/x-www-form-urlencoded", 422),
}


@pytest.mark.parametrize("case", list(TRY_CASES))
def test_bad_try_messages_are_refused_and_nothing_is_kept(desk: DeskServer, database: Database, case: str) -> None:
    body, kind, expected = TRY_CASES[case]
    with httpx.Client(base_url=desk.url, timeout=10) as browser:
        browser.get("/try")
        since, before = len(desk.output()), _stored(database)
        response = browser.post("/try/messages", content=body, headers={"Content-Type": kind})
    assert response.status_code == expected, response.text
    assert _stored(database) == before
    _clean_log(desk, since)


def test_a_try_message_without_its_session_is_refused(desk: DeskServer, database: Database) -> None:
    before = _stored(database)
    response = httpx.post(f"{desk.url}/try/messages", json={"text": SECRET_WORDS}, timeout=10)
    assert response.status_code == 400 and _stored(database) == before


API_CASES: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
    # (method, path, JSON body, query) — each refused with a 4xx naming what is wrong
    ("POST", "/staff", {"name": "x", "role": "doctor"}, None),
    ("POST", "/staff", {"name": "あ" * 101, "role": "nurse"}, None),
    ("POST", "/staff", {"role": "nurse"}, None),
    ("POST", "/faq", {"id": "Bad Id", "audience": "resident", "question": "q", "answer": "a", "source": "general"}, None),
    ("POST", "/faq", {"id": "resident.x1", "audience": "resident", "question": "q", "answer": "{secret}",
                      "source": "general"}, None),
    ("POST", "/faq", {"id": "resident.x2", "audience": "everyone", "question": "q", "answer": "a",
                      "source": "general"}, None),
    ("POST", "/faq", {"id": "resident.x3", "audience": "resident", "question": " ", "answer": "a",
                      "source": "general"}, None),
    ("POST", "/conversations/1/notes", {"text": " "}, None),
    ("POST", "/conversations/1/notes", {"text": "\x00\x00"}, None),
    ("POST", "/faq", {"id": "resident.x4", "audience": "resident", "question": "\x00", "answer": "a",
                      "source": "general"}, None),
    ("POST", "/staff", {"name": "\x00", "role": "nurse"}, None),
    ("POST", "/conversations/1/notes", {"text": "あ" * 5001}, None),
    ("POST", "/conversations/1/reassign", {"staff_id": "someone"}, None),
    ("POST", "/conversations/1/reassign", {"staff_id": 2**63}, None),
    ("POST", "/conversations/1/snooze", {"until": "tomorrow"}, None),
    ("GET", "/queue", None, {"limit": "0"}),
    ("GET", "/queue", None, {"status": "lost"}),
    ("GET", "/queue", None, {"role": "doctor"}),
    ("GET", "/reports", None, {"from": "2026-13-01", "to": "2026-12-31"}),
    ("GET", "/reports", None, {"from": "2026-04-01", "to": "2026-03-31"}),
    ("GET", "/reports", None, {"from": "2026-04-01", "to": "2027-03-31", "format": "xml"}),
    ("POST", "/resources", {"name": "x", "type": "castle"}, None),
    ("POST", "/unanswered/1/make-faq", {"paraphrase_of": 5}, None),
]


@pytest.mark.parametrize(("method", "path", "body", "query"), API_CASES)
def test_bad_admin_api_requests_are_refused_and_nothing_is_kept(
        desk: DeskServer, api: Api, staff: dict[str, Member],  # noqa: F811
        method: str, path: str, body: dict[str, Any] | None, query: dict[str, Any] | None) -> None:
    since = len(desk.output())
    response = api.request(method, path, staff["admin"], json=body, params=query)
    assert 400 <= response.status_code < 500 and response.status_code != 401, (response.status_code, response.text)
    assert response.json()["detail"]
    _clean_log(desk, since)


# The console's forms, posted by a logged-in administrator with a valid CSRF token: each is refused with
# a 4xx, or sent back to its page with the error shown (post/redirect/get); nothing changes.
_HUGE = str(2**70)
_FAQ = {"audience": "resident", "question": "質問", "answer": "答え", "source": "general", "paraphrases": "",
        "next_step": "", "quick_replies": ""}
_RESOURCE = {"name": "架空の事業所（サンプル）", "type": "visiting_nurse", "municipality": "須坂市", "sample": "on"}
CONSOLE_CASES: dict[str, tuple[str, dict[str, str]]] = {
    # name: (path, form fields); {conversation} is a conversation waiting for staff
    "an FAQ id with spaces": ("/admin/faq/save", {**_FAQ, "id": "Bad Id"}),
    "an FAQ answer with an unknown placeholder": ("/admin/faq/save", {**_FAQ, "id": "resident.bad1", "answer": "{secret}"}),
    "an FAQ question of spaces": ("/admin/faq/save", {**_FAQ, "id": "resident.bad2", "question": "  "}),
    "an FAQ question of NUL only": ("/admin/faq/save", {**_FAQ, "id": "resident.bad3", "question": "\x00"}),
    "an FAQ audience nobody has": ("/admin/faq/save", {**_FAQ, "id": "resident.bad4", "audience": "everyone"}),
    "an FAQ edit of an entry that does not exist": ("/admin/faq/save", {**_FAQ, "original_id": "resident.nowhere"}),
    "an FAQ made from a question id past any integer": ("/admin/faq/save", {**_FAQ, "id": "resident.bad5",
                                                                             "unanswered": _HUGE}),
    "a 100,000-character FAQ answer": ("/admin/faq/save", {**_FAQ, "id": "resident.bad6", "answer": "あ" * 100_000}),
    "retiring an FAQ entry that does not exist": ("/admin/faq/resident.nowhere/retire", {}),
    "a resource type nobody has": ("/admin/resources/save", {**_RESOURCE, "type": "castle"}),
    "a resource without a name": ("/admin/resources/save", {**_RESOURCE, "name": ""}),
    "a phone number that is words": ("/admin/resources/save", {**_RESOURCE, "phone": "call me"}),
    "a latitude that is words": ("/admin/resources/save", {**_RESOURCE, "latitude": "north"}),
    "a latitude off the earth": ("/admin/resources/save", {**_RESOURCE, "latitude": "999"}),
    "an edit of a resource that does not exist": ("/admin/resources/save", {**_RESOURCE, "original_id": "nowhere"}),
    "negative free beds": ("/admin/resources/nowhere/vacancy", {"beds": "-1"}),
    "free beds in exponent form": ("/admin/resources/nowhere/vacancy", {"beds": "1e3"}),
    "free beds past any home": ("/admin/resources/nowhere/vacancy", {"beds": "99999"}),
    "a resource act nobody has": ("/admin/resources/nowhere/frobnicate", {}),
    "a paraphrase of no entry": ("/admin/unanswered/1/paraphrase", {"faq_id": " "}),
    "an unanswered question id past any integer": (f"/admin/unanswered/{_HUGE}/dismiss", {}),
    "an empty staff reply": ("/admin/conversations/{conversation}/reply", {"text": "   "}),
    "a 5,001-character staff reply": ("/admin/conversations/{conversation}/reply", {"text": "あ" * 5001}),
    "a note of NUL only": ("/admin/conversations/{conversation}/note", {"text": "\x00"}),
    "a snooze of words": ("/admin/conversations/{conversation}/snooze", {"minutes": "later"}),
    "a snooze of no time": ("/admin/conversations/{conversation}/snooze", {"minutes": "0"}),
    "a snooze of a century": ("/admin/conversations/{conversation}/snooze", {"minutes": "52560000"}),
    "a reassignment to words": ("/admin/conversations/{conversation}/reassign", {"staff_id": "someone"}),
    "a reassignment to an id past any integer": ("/admin/conversations/{conversation}/reassign", {"staff_id": _HUGE}),
    "a conversation act nobody has": ("/admin/conversations/{conversation}/frobnicate", {"text": SECRET_WORDS}),
    "a reply to a conversation id past any integer": (f"/admin/conversations/{_HUGE}/reply", {"text": SECRET_WORDS}),
}


@pytest.fixture(scope="module")
def console(desk: DeskServer, staff: dict[str, Member]) -> Iterator[httpx.Client]:  # noqa: F811
    client = console_login(desk, staff["admin"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def waiting(desk: DeskServer, database: Database) -> int:
    return handed_off(desk, database)[1]


def _knowledge_and_talk(db: Database) -> tuple[int, ...]:
    with db.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(table)) or 0
                     for table in (FaqEntry, Resource, Vacancy, Message, OutboxMessage, UnansweredQuestion))


@pytest.mark.parametrize("case", list(CONSOLE_CASES))
def test_bad_console_forms_are_refused_and_nothing_changes(desk: DeskServer, database: Database,
                                                           console: httpx.Client, waiting: int, case: str) -> None:
    path, fields = CONSOLE_CASES[case]
    path = path.replace("{conversation}", str(waiting))
    since, before = len(desk.output()), _knowledge_and_talk(database)
    with database.session() as session:
        status_before = session.get(Conversation, waiting).status
    response = console.post(path, data={"csrf": console.cookies["zd_csrf"], **fields})
    if response.status_code == 303:  # sent back to the page, with the error to show there
        assert "error=" in response.headers["location"], response.headers["location"]
    else:
        assert 400 <= response.status_code < 500, (response.status_code, response.text[-2000:])
    assert _knowledge_and_talk(database) == before
    with database.session() as session:
        assert session.get(Conversation, waiting).status == status_before
    _clean_log(desk, since)
