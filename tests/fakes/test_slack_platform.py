"""Tests of the fake Slack platform itself, driven by the real slack_sdk clients and Bolt.

They pin the behaviour the app's Slack adapter tests rely on, and check the request builders
(signatures, bodies) against the shared fixtures and against Bolt's own parsing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from fastapi import FastAPI, Request
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack_platform
from tests.fakes.slack_platform import (
    FakeSlackPlatform,
    app_mention_event,
    block_actions_body,
    event_callback,
    json_body,
    message_event,
    signed_headers,
    slack_signature,
    slash_command_body,
    view_submission_body,
)

TOKEN = "xoxb-test-token"
BOT = "UBOT000001"
CHANNEL = "C0STAFF001"
SECRET = "test-slack-signing-secret"
FIXTURES = Path(__file__).parents[2].parent / "shared" / "fixtures" / "slack"


@pytest.fixture
def slack() -> Iterator[FakeSlackPlatform]:
    with FakeSlackPlatform(bot_token=TOKEN, bot_user_id=BOT) as platform:
        yield platform


@pytest.fixture
def client(slack: FakeSlackPlatform) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.url)


def api_error(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call(*args, **kwargs)
    return caught.value


def fixture(*parts: str) -> Path:
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared Slack fixtures not found at {path}")
    return path


# -- Web API: the basics ----------------------------------------------------------------------------


def test_url_is_the_base_url_for_slack_sdk(slack: FakeSlackPlatform, client: WebClient) -> None:
    assert slack.url.startswith("http://127.0.0.1:") and slack.url.endswith("/api/")
    answer = client.auth_test()
    assert answer["ok"] and answer["user_id"] == BOT and answer["team_id"] == "T0001"
    assert answer["bot_id"] == slack.bot_id and answer["url"].startswith("https://")
    (call,) = slack.calls_to("auth.test")
    assert call.path == "/api/auth.test" and call.ok and call.status == 200
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


def test_post_message_returns_unique_increasing_ts(slack: FakeSlackPlatform, client: WebClient) -> None:
    answers = [client.chat_postMessage(channel=CHANNEL, text=f"こんにちは {i}") for i in range(5)]
    stamps = [a["ts"] for a in answers]
    assert len(set(stamps)) == 5 and stamps == sorted(stamps, key=float)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    first = answers[0]
    assert first["channel"] == CHANNEL and first["message"]["text"] == "こんにちは 0"
    assert first["message"]["user"] == BOT and first["message"]["bot_id"] == slack.bot_id
    stored = slack.messages[(CHANNEL, stamps[0])]
    assert stored["text"] == "こんにちは 0" and stored["user"] == BOT and "thread_ts" not in stored
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["channel"] == CHANNEL and call.args["text"] == "こんにちは 0"
    assert call.headers["content-type"].startswith("application/json")
    assert slack.texts(CHANNEL) == [f"こんにちは {i}" for i in range(5)]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_blocks_are_kept_and_text_may_be_omitted(slack: FakeSlackPlatform, client: WebClient) -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*相談 #1*"}},
        {
            "type": "actions",
            "block_id": "conversation-1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "conv_take",
                    "value": "1",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "対応する"},
                }
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "内部メモ"}]},
    ]
    ts = client.chat_postMessage(channel=CHANNEL, blocks=blocks)["ts"]
    assert slack.messages[(CHANNEL, ts)]["blocks"] == blocks
    assert slack.messages[(CHANNEL, ts)]["text"] == ""


def test_thread_replies_are_listed_parent_first(slack: FakeSlackPlatform, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="親")["ts"]
    client.chat_postMessage(channel=CHANNEL, text="ほか")
    first = client.chat_postMessage(channel=CHANNEL, text="返信1", thread_ts=parent)
    # A reply to a reply lands in the parent's thread, as on Slack.
    second = client.chat_postMessage(channel=CHANNEL, text="返信2", thread_ts=first["ts"])
    assert first["message"]["thread_ts"] == parent and second["message"]["thread_ts"] == parent
    thread = slack.thread(CHANNEL, parent)
    assert [m["text"] for m in thread] == ["親", "返信1", "返信2"]
    assert thread[0]["reply_count"] == 2 and thread[0]["latest_reply"] == second["ts"]
    assert slack.thread("C0OTHER001", parent) == []


def test_replies_to_a_users_message_the_fake_never_saw(slack: FakeSlackPlatform, client: WebClient) -> None:
    client.chat_postMessage(channel="D0CM00002", text="回答です", thread_ts="1700000000.000100")
    assert [m["text"] for m in slack.thread("D0CM00002", "1700000000.000100")] == ["回答です"]
    seeded = slack.add_message("C0CM00001", "質問です", user="U0CM00001")
    client.chat_postMessage(channel="C0CM00001", text="回答です", thread_ts=seeded)
    assert [m["user"] for m in slack.thread("C0CM00001", seeded)] == ["U0CM00001", BOT]


def test_a_user_id_as_channel_posts_into_the_dm(slack: FakeSlackPlatform, client: WebClient) -> None:
    answer = client.chat_postMessage(channel="U0CM00002", text="DMです")
    assert answer["channel"] == "D0CM00002" and (("D0CM00002", answer["ts"]) in slack.messages)
    assert (
        api_error(client.chat_postMessage, channel="#nowhere", text="x").response["error"]
        == "channel_not_found"
    )
    slack.add_channel("C0STAFF001", "zaitaku-staff")
    assert client.chat_postMessage(channel="#zaitaku-staff", text="x")["channel"] == "C0STAFF001"


def test_chat_update_changes_the_message(slack: FakeSlackPlatform, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="相談 #1: 未対応")["ts"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "担当: 佐藤"}}]
    answer = client.chat_update(channel=CHANNEL, ts=ts, text="相談 #1: 対応中", blocks=blocks)
    assert answer["ts"] == ts and answer["message"]["text"] == "相談 #1: 対応中"
    message = slack.messages[(CHANNEL, ts)]
    assert message["text"] == "相談 #1: 対応中" and message["blocks"] == blocks and "edited" in message
    assert len(slack.thread(CHANNEL, ts)) == 1

    error = api_error(client.chat_update, channel=CHANNEL, ts="1.000001", text="x")
    assert error.response["error"] == "message_not_found" and error.response.status_code == 200
    user_ts = slack.add_message(CHANNEL, "利用者の投稿", user="U0CM00001")
    assert api_error(client.chat_update, channel=CHANNEL, ts=user_ts, text="x").response["error"] == (
        "cant_update_message"
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": "no channel"}, "channel_not_found"),
        ({"channel": CHANNEL}, "no_text"),
        ({"channel": CHANNEL, "text": ""}, "no_text"),
        ({"channel": CHANNEL, "blocks": {"type": "section"}}, "invalid_blocks"),
        ({"channel": CHANNEL, "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        (
            {
                "channel": CHANNEL,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "あ" * 3001}}],
            },
            "invalid_blocks",
        ),
        ({"channel": CHANNEL, "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": CHANNEL, "text": "x" * 40001}, "msg_too_long"),
    ],
)
def test_post_message_validation(
    slack: FakeSlackPlatform, client: WebClient, kwargs: dict[str, Any], error: str
) -> None:
    # api_call with a JSON body, so the SDK's own argument checks do not interfere.
    caught = api_error(client.api_call, "chat.postMessage", json=kwargs)
    assert caught.response["error"] == error and caught.response.status_code == 200
    assert slack.messages == {}
    assert slack.calls_to("chat.postMessage")[0].error == error


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_fifty_blocks_are_fine(slack: FakeSlackPlatform, client: WebClient) -> None:
    assert client.chat_postMessage(channel=CHANNEL, blocks=[{"type": "divider"}] * 50)["ok"]


def test_form_bodies_with_a_token_field_work(slack: FakeSlackPlatform) -> None:
    blocks = json.dumps([{"type": "section", "text": {"type": "plain_text", "text": "フォーム"}}])
    response = httpx.post(
        f"{slack.url}chat.postMessage",
        data={"token": TOKEN, "channel": CHANNEL, "text": "form", "blocks": blocks},
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"], body
    assert slack.messages[(CHANNEL, body["ts"])]["blocks"][0]["text"]["text"] == "フォーム"
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == CHANNEL


# -- tokens and unknown methods ---------------------------------------------------------------------


def test_a_wrong_token_is_invalid_auth(slack: FakeSlackPlatform) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=slack.url)
    error = api_error(wrong.chat_postMessage, channel=CHANNEL, text="x")
    assert error.response["error"] == "invalid_auth" and error.response.status_code == 200
    assert slack.messages == {} and slack.calls_to("chat.postMessage")[0].error == "invalid_auth"
    # No token at all is Slack's not_authed.
    assert httpx.post(f"{slack.url}auth.test").json() == {"ok": False, "error": "not_authed"}


def test_an_unknown_method(slack: FakeSlackPlatform, client: WebClient) -> None:
    error = api_error(client.api_call, "chat.frobnicate", json={"channel": CHANNEL})
    assert error.response["error"] == "unknown_method"
    assert httpx.get(f"{slack.base}/elsewhere").status_code == 404


# -- failure injection --------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(slack: FakeSlackPlatform, client: WebClient) -> None:
    slack.fail_next(1, method="chat.postMessage", retry_after=7)
    assert client.auth_test()["ok"]  # another method is not affected
    error = api_error(client.chat_postMessage, channel=CHANNEL, text="x")
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "7"
    assert slack.messages == {}
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]  # only the next one failed
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


def test_rate_limit_retry_handler_retries_and_succeeds(slack: FakeSlackPlatform) -> None:
    client = WebClient(
        token=TOKEN, base_url=slack.url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)]
    )
    slack.fail_next(1, "chat.postMessage", retry_after=0)
    answer = client.chat_postMessage(channel=CHANNEL, text="あとで届く")
    assert answer["ok"] and slack.messages[(CHANNEL, answer["ts"])]["text"] == "あとで届く"
    assert [(c.status, c.error) for c in slack.calls_to("chat.postMessage")] == [
        (429, "ratelimited"),
        (200, None),
    ]


def test_async_rate_limit_retry_handler_retries_and_succeeds(slack: FakeSlackPlatform) -> None:
    async def main() -> dict[str, Any]:
        client = AsyncWebClient(
            token=TOKEN,
            base_url=slack.url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        return (await client.chat_postMessage(channel=CHANNEL, text="async")).data  # type: ignore[return-value]

    slack.fail_next(1, retry_after=0)
    assert asyncio.run(main())["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


def test_server_errors(slack: FakeSlackPlatform, client: WebClient) -> None:
    slack.fail_next(1, "chat.postMessage", status=503)
    error = api_error(client.chat_postMessage, channel=CHANNEL, text="x")
    assert error.response.status_code == 503 and error.response["error"] == "internal_error"

    retrying = WebClient(
        token=TOKEN, base_url=slack.url, retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)]
    )
    slack.fail_next(1, "chat.postMessage", status=500, error="fatal_error")
    assert retrying.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [503, 500, 200]
    assert slack.calls_to("chat.postMessage")[1].error == "fatal_error"


def test_injected_slack_errors_are_http_200(slack: FakeSlackPlatform, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="x")["ts"]
    slack.fail_next(2, method="chat.update", error="channel_not_found")
    assert client.chat_postMessage(channel=CHANNEL, text="y")["ok"]
    for _ in range(2):
        error = api_error(client.chat_update, channel=CHANNEL, ts=ts, text="z")
        assert error.response.status_code == 200 and error.response["error"] == "channel_not_found"
    assert client.chat_update(channel=CHANNEL, ts=ts, text="z")["ok"]


def test_a_bad_token_wins_over_injected_failures(slack: FakeSlackPlatform) -> None:
    slack.fail_next(1)
    wrong = WebClient(token="xoxb-wrong", base_url=slack.url)
    assert api_error(wrong.auth_test).response["error"] == "invalid_auth"
    assert api_error(WebClient(token=TOKEN, base_url=slack.url).auth_test).response.status_code == 429


def test_thread_not_found_after_delete_thread(slack: FakeSlackPlatform, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="相談 #7")["ts"]
    reply = client.chat_postMessage(channel=CHANNEL, text="メモ", thread_ts=parent)["ts"]
    slack.delete_thread(CHANNEL, parent)
    assert slack.thread(CHANNEL, parent) == [] and (CHANNEL, reply) not in slack.messages
    for thread_ts in (parent, reply):
        error = api_error(client.chat_postMessage, channel=CHANNEL, text="続き", thread_ts=thread_ts)
        assert error.response["error"] == "thread_not_found"
    assert api_error(client.chat_update, channel=CHANNEL, ts=parent, text="x").response["error"] == (
        "message_not_found"
    )
    # The desk can start a new thread.
    new_parent = client.chat_postMessage(channel=CHANNEL, text="相談 #7（再掲）")["ts"]
    client.chat_postMessage(channel=CHANNEL, text="続き", thread_ts=new_parent)
    assert [m["text"] for m in slack.thread(CHANNEL, new_parent)] == ["相談 #7（再掲）", "続き"]


# -- other methods --------------------------------------------------------------------------------------


def test_users_info(slack: FakeSlackPlatform, client: WebClient) -> None:
    slack.add_user("U0NURSE01", "sato", "佐藤 花子")
    user = client.users_info(user="U0NURSE01")["user"]
    assert user["id"] == "U0NURSE01" and user["name"] == "sato" and user["real_name"] == "佐藤 花子"
    assert user["is_bot"] is False and user["tz"] == "Asia/Tokyo"
    assert client.users_info(user=BOT)["user"]["is_bot"] is True
    assert api_error(client.users_info, user="U0NOBODY1").response["error"] == "user_not_found"


def test_async_client_uses_get_and_json(slack: FakeSlackPlatform) -> None:
    slack.add_user("U0MSW0001", "suzuki", "鈴木 一郎")

    async def main() -> tuple[str, str, str]:
        client = AsyncWebClient(token=TOKEN, base_url=slack.url)
        user = await client.users_info(user="U0MSW0001")
        channel = await client.conversations_info(channel="D0CM00001")
        posted = await client.chat_postMessage(channel=CHANNEL, text="親")
        await client.chat_postMessage(channel=CHANNEL, text="子", thread_ts=posted["ts"])
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="親（更新）")
        with pytest.raises(SlackApiError) as caught:
            await AsyncWebClient(token="xoxb-wrong", base_url=slack.url).auth_test()
        assert caught.value.response["error"] == "invalid_auth"
        return user["user"]["real_name"], str(channel["channel"]["is_im"]), posted["ts"]

    real_name, is_im, parent = asyncio.run(main())
    assert real_name == "鈴木 一郎" and is_im == "True"
    assert [m["text"] for m in slack.thread(CHANNEL, parent)] == ["親（更新）", "子"]
    assert slack.calls_to("users.info")[0].http_method == "GET"
    assert slack.calls_to("users.info")[0].args == {"user": "U0MSW0001"}


def test_ephemeral_reactions_permalink_and_conversations(slack: FakeSlackPlatform, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="x")["ts"]
    assert client.chat_postEphemeral(channel=CHANNEL, user="U0NOBODY1", text="登録されていません")[
        "message_ts"
    ]
    assert slack.ephemerals[0]["user"] == "U0NOBODY1" and slack.ephemerals[0]["text"] == "登録されていません"
    assert (CHANNEL, ts) in slack.messages and len(slack.messages) == 1  # ephemerals are not messages

    assert client.reactions_add(channel=CHANNEL, timestamp=ts, name="outbox_tray")["ok"]
    assert slack.reactions[(CHANNEL, ts)] == ["outbox_tray"]
    assert (
        api_error(client.reactions_add, channel=CHANNEL, timestamp=ts, name="outbox_tray").response["error"]
        == "already_reacted"
    )

    link = client.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/{CHANNEL}/p{ts.replace('.', '')}")

    slack.add_channel(CHANNEL, "zaitaku-staff")
    assert client.conversations_info(channel=CHANNEL)["channel"]["name"] == "zaitaku-staff"
    assert client.conversations_info(channel="D0CM00009")["channel"]["is_im"] is True


def test_views_open_and_update(
    slack: FakeSlackPlatform, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = {
        "type": "modal",
        "callback_id": "vacancy",
        "title": {"type": "plain_text", "text": "空床"},
        "blocks": [
            {
                "type": "input",
                "block_id": "beds",
                "label": {"type": "plain_text", "text": "空床数"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    trigger = slack.new_trigger_id()
    opened = client.views_open(trigger_id=trigger, view=view)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "vacancy"
    assert (
        api_error(client.views_open, trigger_id=trigger, view=view).response["error"]
        == "exchanged_trigger_id"
    )
    updated = client.views_update(view_id=opened["id"], view={**view, "private_metadata": "42"})["view"]
    assert updated["id"] == opened["id"] and slack.views[opened["id"]]["private_metadata"] == "42"
    assert api_error(client.views_update, view_id="VNOPE", view=view).response["error"] == "not_found"
    assert api_error(client.views_update, view_id=opened["id"], view=view, hash="stale").response[
        "error"
    ] == ("hash_conflict")

    monkeypatch.setattr(slack_platform, "TRIGGER_TTL", 0.0)
    late = slack.new_trigger_id()
    time.sleep(0.01)
    assert api_error(client.views_open, trigger_id=late, view=view).response["error"] == "expired_trigger_id"


def test_concurrent_posts_get_distinct_ts(slack: FakeSlackPlatform) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        ts = WebClient(token=TOKEN, base_url=slack.url).chat_postMessage(channel=CHANNEL, text=str(i))["ts"]
        with lock:
            results.append(ts)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 30 and len(slack.messages) == 30


def test_wait_for_calls_and_reset(slack: FakeSlackPlatform, client: WebClient) -> None:
    timer = threading.Timer(0.1, lambda: client.chat_postMessage(channel=CHANNEL, text="later"))
    timer.start()
    calls = slack.wait_for_calls("chat.postMessage", 1, timeout=5)
    timer.join()
    assert calls[0].args["text"] == "later"
    assert slack.wait_for(lambda: slack.thread(CHANNEL, calls[0].response["ts"]))[0]["text"] == "later"
    with pytest.raises(AssertionError, match=r"chat\.update"):
        slack.wait_for_calls("chat.update", 1, timeout=0.1)
    slack.fail_next(1)
    slack.reset()
    assert slack.calls == [] and slack.messages == {}
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]  # the failure was forgotten
    assert client.users_info(user=BOT)["ok"]  # the bot user is kept


# -- request builders -----------------------------------------------------------------------------------


def test_slack_signature_known_answers() -> None:
    kat = json.loads(fixture("signature-kat", "KAT.json").read_text(encoding="utf-8"))
    assert kat["vectors"]
    for vector in kat["vectors"]:
        body = fixture("signature-kat", vector["body_file"]).read_bytes()
        assert slack_signature(vector["secret"], vector["timestamp"], body) == vector["signature"]
        assert slack_signature(vector["secret"], vector["timestamp"], body + b"x") != vector["signature"]


def test_signed_headers_verify_with_slack_sdk() -> None:
    body = slash_command_body("須坂 訪看 人工呼吸器")
    headers = signed_headers(SECRET, body, "application/x-www-form-urlencoded")
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    assert not SignatureVerifier(SECRET).is_valid_request(body + b"&x=1", headers)
    stale = signed_headers(
        SECRET, body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 600
    )
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)
    retry = signed_headers(SECRET, body, "application/json", retry_num=1)
    assert retry["X-Slack-Retry-Num"] == "1" and retry["X-Slack-Retry-Reason"] == "http_timeout"
    assert retry["Content-Type"] == "application/json" and "X-Slack-Retry-Num" not in headers


def test_slash_command_body_has_slacks_fields_in_order() -> None:
    reference = [k for k, _ in parse_qsl(fixture("slash_command.txt").read_text(), keep_blank_values=True)]
    ours = parse_qsl(slash_command_body("空き 須坂 1", user_id="U0NURSE01").decode(), keep_blank_values=True)
    keys = [k for k, _ in ours]
    assert [k for k in reference if not k.startswith("enterprise_")] == [k for k in keys if k in reference]
    fields = dict(ours)
    assert (
        fields["command"] == "/zaitaku"
        and fields["text"] == "空き 須坂 1"
        and fields["user_id"] == "U0NURSE01"
    )
    raw = slash_command_body("a b/c").decode()
    assert "text=a+b%2Fc" in raw and "command=%2Fzaitaku" in raw  # encoded as Slack does


def _payload(body: bytes) -> dict[str, Any]:
    raw = body.decode()
    assert raw.startswith("payload=")
    return json.loads(unquote(raw[len("payload=") :]))


def test_block_actions_and_view_submission_bodies_follow_the_fixtures() -> None:
    reference = json.loads(fixture("block_actions.payload.json").read_text(encoding="utf-8"))
    ours = _payload(
        block_actions_body(
            "conv_take", "12", user_id="U0NURSE01", channel_id=CHANNEL, message_ts="1700000000.000100"
        )
    )
    assert set(reference) <= set(ours) and set(reference["actions"][0]) <= set(ours["actions"][0])
    assert set(reference["container"]) <= set(ours["container"])
    assert ours["actions"][0]["action_id"] == "conv_take" and ours["actions"][0]["value"] == "12"
    assert ours["container"]["message_ts"] == "1700000000.000100" and ours["user"]["id"] == "U0NURSE01"

    reference = json.loads(fixture("view_submission.payload.json").read_text(encoding="utf-8"))
    ours = _payload(
        view_submission_body("vacancy", {"beds": {"value": "3"}}, user_id="U0NURSE01", private_metadata="42")
    )
    assert set(reference) <= set(ours) and set(reference["view"]) <= set(ours["view"])
    assert ours["view"]["state"]["values"] == {"beds": {"value": {"type": "plain_text_input", "value": "3"}}}
    assert ours["view"]["callback_id"] == "vacancy" and ours["view"]["private_metadata"] == "42"


def test_event_callback_envelope() -> None:
    reference = json.loads(fixture("event_callback-message-im.json").read_text(encoding="utf-8"))
    one = event_callback(message_event("こんにちは", user="U0CM00002", channel="D0CM00002"))
    two = event_callback(message_event("こんにちは", user="U0CM00002", channel="D0CM00002"))
    assert set(reference) - {"enterprise_id"} <= set(one)
    assert one["event_id"].startswith("Ev") and one["event_id"] != two["event_id"]
    assert abs(one["event_time"] - time.time()) < 5 and one["type"] == "event_callback"
    assert one["event"]["channel_type"] == "im" and one["event"]["event_ts"] == one["event"]["ts"]
    assert event_callback({"type": "app_mention"}, event_id="Ev0FIXED")["event_id"] == "Ev0FIXED"


# -- the builders and the fake together, through real Bolt ----------------------------------------------


def test_bolt_app_with_the_fake_and_the_builders(slack: FakeSlackPlatform) -> None:
    app = App(client=WebClient(token=TOKEN, base_url=slack.url), signing_secret=SECRET)
    seen: list[str] = []

    @app.command("/zaitaku")
    def command(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack(f"検索: {body['text']}")
        respond("あとから")

    @app.action("conv_take")
    def take(ack: Any, body: dict[str, Any], say: Any) -> None:
        ack()
        seen.append(body["actions"][0]["value"])
        say(text="対応します", thread_ts=body["container"]["message_ts"])

    @app.view("vacancy")
    def submit(ack: Any, view: dict[str, Any]) -> None:
        seen.append(view["state"]["values"]["beds"]["value"]["value"])
        ack()

    @app.event("message")
    def on_message(event: dict[str, Any], say: Any) -> None:
        say(text="回答です", thread_ts=event["ts"])

    def dispatch(body: bytes, content_type: str, **options: Any) -> Any:
        headers: dict[str, Any] = signed_headers(SECRET, body, content_type, **options)
        return app.dispatch(BoltRequest(body=body.decode(), headers=headers))

    form = "application/x-www-form-urlencoded"
    answer = dispatch(slash_command_body("須坂 訪看", response_url=slack.new_response_url()), form)
    # ack("text") alone answers the text as a plain body; with blocks etc. it is JSON.
    assert answer.status == 200 and answer.body == "検索: 須坂 訪看"
    assert slack.wait_for_calls("response_url", 1)[0].args["text"] == "あとから"

    assert (
        dispatch(
            block_actions_body(
                "conv_take", "12", user_id="U0NURSE01", channel_id=CHANNEL, message_ts="1700000000.000100"
            ),
            form,
        ).status
        == 200
    )
    assert (
        dispatch(view_submission_body("vacancy", {"beds": {"value": "3"}}, user_id="U0NURSE01"), form).status
        == 200
    )
    event = message_event("訪問看護の頼み方", user="U0CM00002", channel="D0CM00002")
    assert dispatch(json_body(event_callback(event)), "application/json").status == 200
    slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 2)
    assert seen == ["12", "3"]
    assert [m["text"] for m in slack.thread(CHANNEL, "1700000000.000100")] == ["対応します"]
    assert [m["text"] for m in slack.thread("D0CM00002", event["ts"])] == ["回答です"]

    tampered = slash_command_body("x")
    headers: dict[str, Any] = signed_headers(SECRET, tampered, form)
    assert app.dispatch(BoltRequest(body=tampered.decode() + "&y=1", headers=headers)).status == 401
    assert dispatch(slash_command_body("x"), form, timestamp=int(time.time()) - 600).status == 401


def test_async_bolt_under_fastapi_with_the_fake(slack: FakeSlackPlatform) -> None:
    async def main() -> list[int]:
        app = AsyncApp(
            client=AsyncWebClient(token=TOKEN, base_url=slack.url),
            signing_secret=SECRET,
            process_before_response=True,
        )

        @app.event("app_mention")
        async def mention(event: dict[str, Any], say: Any) -> None:
            await say(text="はい", thread_ts=event["ts"])

        handler = AsyncSlackRequestHandler(app)
        api = FastAPI()

        @api.post("/slack/events")
        async def endpoint(req: Request) -> Any:
            return await handler.handle(req)

        statuses: list[int] = []
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:

            async def post(body: bytes, **options: Any) -> httpx.Response:
                headers = signed_headers(SECRET, body, "application/json", **options)
                response = await http.post("/slack/events", content=body, headers=headers)
                statuses.append(response.status_code)
                return response

            challenge = {"token": "x", "challenge": "c-123", "type": "url_verification"}
            assert (await post(json_body(challenge))).json() == {"challenge": "c-123"}
            envelope = event_callback(
                app_mention_event(f"<@{BOT}> 相談です", user="U0CM00001", channel=CHANNEL)
            )
            await post(json_body(envelope))
            # A retry carries the same event_id; Bolt's HTTP mode dispatches it again.
            await post(json_body(envelope), retry_num=1, retry_reason="http_timeout")
            bad = json_body(envelope)
            response = await http.post(
                "/slack/events", content=bad, headers=signed_headers("wrong", bad, "application/json")
            )
            statuses.append(response.status_code)
        return statuses

    assert asyncio.run(main()) == [200, 200, 200, 401]
    assert len(slack.calls_to("auth.test")) == 1  # Bolt learns its identity once
    replies = slack.calls_to("chat.postMessage")
    assert len(replies) == 2 and all(c.args["text"] == "はい" for c in replies)
