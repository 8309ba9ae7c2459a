"""Tests of the fake LINE platform itself, driven by the real linebot.v3 client and httpx.

They pin the behaviour the app's LINE adapter tests rely on.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MessageAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)

from tests.fakes.line_platform import FakeLinePlatform

TOKEN = "test-access-token"
USER_ID = "U4af4980629" + "0" * 22

T = TypeVar("T")


@pytest.fixture
def line() -> Iterator[FakeLinePlatform]:
    with FakeLinePlatform(access_token=TOKEN) as platform:
        yield platform


def run_sdk(
    line: FakeLinePlatform, action: Callable[[AsyncMessagingApi], Awaitable[T]], access_token: str = TOKEN
) -> T:
    """Run ``action`` with a real AsyncMessagingApi pointed at the fake. The SDK's
    AsyncApiClient needs a running event loop, so it is created inside asyncio.run."""

    async def main() -> T:
        configuration = Configuration(access_token=access_token, host=line.url)
        async with AsyncApiClient(configuration) as client:
            return await action(AsyncMessagingApi(client))

    return asyncio.run(main())


def sdk_error(
    line: FakeLinePlatform, action: Callable[[AsyncMessagingApi], Awaitable[Any]], **kwargs: Any
) -> ApiException:
    with pytest.raises(ApiException) as caught:
        run_sdk(line, action, **kwargs)
    return caught.value


def post(
    line: FakeLinePlatform,
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
    token: str | None = TOKEN,
    timeout: float = 5.0,
) -> httpx.Response:
    all_headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    all_headers.update(headers or {})
    return httpx.post(f"{line.url}{path}", json=body, headers=all_headers, timeout=timeout)


def push_body(text: str = "こんにちは", to: str = USER_ID) -> dict[str, Any]:
    return {"to": to, "messages": [{"type": "text", "text": text}]}


def reply_body(token: str = "reply-token-1", text: str = "こんにちは") -> dict[str, Any]:
    return {"replyToken": token, "messages": [{"type": "text", "text": text}]}


# ---------------------------------------------------------------------- happy paths


def test_reply_and_push_are_delivered_through_the_sdk(line: FakeLinePlatform) -> None:
    retry_key = str(uuid.uuid4())

    async def send(api: AsyncMessagingApi) -> tuple[Any, Any]:
        reply = await api.reply_message_with_http_info(
            ReplyMessageRequest(
                reply_token="nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", messages=[TextMessage(text="返信です")]
            )
        )
        push = await api.push_message(
            PushMessageRequest(to=USER_ID, messages=[TextMessage(text="一つ目"), TextMessage(text="二つ目")]),
            x_line_retry_key=retry_key,
        )
        return reply, push

    reply, push = run_sdk(line, send)

    assert reply.status_code == 200
    assert reply.headers["x-line-request-id"]
    assert len(reply.data.sent_messages) == 1 and reply.data.sent_messages[0].id
    assert len(push.sent_messages) == 2

    first, second = line.wait_for_deliveries(2)
    assert (first.kind, first.to, first.reply_token) == ("reply", None, "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA")
    assert first.retry_key is None
    assert (second.kind, second.to, second.reply_token, second.retry_key) == (
        "push",
        USER_ID,
        None,
        retry_key,
    )
    assert second.messages == [{"type": "text", "text": "一つ目"}, {"type": "text", "text": "二つ目"}]
    assert first.at <= second.at
    assert line.texts() == ["返信です", "一つ目", "二つ目"]

    assert [(r.method, r.path, r.status) for r in line.requests] == [
        ("POST", "/v2/bot/message/reply", 200),
        ("POST", "/v2/bot/message/push", 200),
    ]
    assert line.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-line-retry-key" not in line.requests[0].headers
    assert line.requests[1].headers["x-line-retry-key"] == retry_key
    assert line.requests[1].json["to"] == USER_ID


def test_quick_reply_and_notification_disabled_are_accepted(line: FakeLinePlatform) -> None:
    items = [QuickReplyItem(action=MessageAction(label=f"選択{i}", text=f"選択{i}")) for i in range(13)]
    message = TextMessage(text="どれにしますか", quick_reply=QuickReply(items=items))

    run_sdk(
        line,
        lambda api: api.push_message(
            PushMessageRequest(to=USER_ID, messages=[message], notification_disabled=True)
        ),
    )

    (delivery,) = line.wait_for_deliveries(1)
    assert delivery.notification_disabled is True
    assert len(delivery.messages[0]["quickReply"]["items"]) == 13


def test_get_profile(line: FakeLinePlatform) -> None:
    profile = run_sdk(line, lambda api: api.get_profile(USER_ID))

    assert (profile.user_id, profile.display_name, profile.language) == (USER_ID, "テスト利用者", "ja")
    assert line.delivered == []


def test_unknown_path_is_404(line: FakeLinePlatform) -> None:
    assert post(line, "/v2/bot/message/multicast", {}).status_code == 404
    response = httpx.get(f"{line.url}/v2/bot/message/reply")
    assert (response.status_code, response.json()) == (404, {"message": "Not found"})


# ---------------------------------------------------------------------- rejections


def test_wrong_or_missing_access_token_is_401(line: FakeLinePlatform) -> None:
    error = sdk_error(
        line,
        lambda api: api.push_message(PushMessageRequest(to=USER_ID, messages=[TextMessage(text="x")])),
        access_token="wrong-token",
    )
    assert error.status == 401
    assert json.loads(error.body)["message"].startswith("Authentication failed")
    assert error.headers["x-line-request-id"]

    assert post(line, "/v2/bot/message/reply", reply_body(), token=None).status_code == 401
    assert httpx.get(f"{line.url}/v2/bot/profile/{USER_ID}").status_code == 401
    assert line.delivered == []


@pytest.mark.parametrize(
    ("path", "body", "bad_property"),
    [
        ("/v2/bot/message/reply", {"messages": [{"type": "text", "text": "x"}]}, "replyToken"),
        (
            "/v2/bot/message/reply",
            {"replyToken": "", "messages": [{"type": "text", "text": "x"}]},
            "replyToken",
        ),
        ("/v2/bot/message/reply", {"replyToken": "t"}, "messages"),
        ("/v2/bot/message/reply", {"replyToken": "t", "messages": []}, "messages"),
        ("/v2/bot/message/reply", {"replyToken": "t", "messages": {"type": "text", "text": "x"}}, "messages"),
        (
            "/v2/bot/message/push",
            {"to": USER_ID, "messages": [{"type": "text", "text": "x"}] * 6},
            "messages",
        ),
        ("/v2/bot/message/push", {"messages": [{"type": "text", "text": "x"}]}, "to"),
        ("/v2/bot/message/push", {"to": "", "messages": [{"type": "text", "text": "x"}]}, "to"),
        ("/v2/bot/message/push", {"to": USER_ID, "messages": [{"text": "x"}]}, "messages[0].type"),
        ("/v2/bot/message/push", {"to": USER_ID, "messages": [{"type": "text"}]}, "messages[0].text"),
        (
            "/v2/bot/message/push",
            {"to": USER_ID, "messages": [{"type": "text", "text": "あ" * 5001}]},
            "messages[0].text",
        ),
        (
            "/v2/bot/message/push",
            {"to": USER_ID, "messages": [{"type": "video", "originalContentUrl": "u"}]},
            "messages[0].type",
        ),
        (
            "/v2/bot/message/push",
            {
                "to": USER_ID,
                "messages": [{"type": "text", "text": "ok"}, {"type": "sticker", "packageId": "1"}],
            },
            "messages[1].stickerId",
        ),
        (
            "/v2/bot/message/push",
            {
                "to": USER_ID,
                "messages": [
                    {
                        "type": "text",
                        "text": "x",
                        "quickReply": {
                            "items": [
                                {"type": "action", "action": {"type": "message", "label": "a", "text": "a"}}
                            ]
                            * 14
                        },
                    }
                ],
            },
            "messages[0].quickReply.items",
        ),
        (
            "/v2/bot/message/push",
            {"to": USER_ID, "messages": [{"type": "text", "text": "x"}], "notificationDisabled": "yes"},
            "notificationDisabled",
        ),
    ],
)
def test_bad_body_is_400_with_details(
    line: FakeLinePlatform, path: str, body: dict[str, Any], bad_property: str
) -> None:
    response = post(line, path, body)

    assert response.status_code == 400
    payload = response.json()
    assert payload["message"].startswith("The request body has")
    assert bad_property in [detail["property"] for detail in payload["details"]]
    assert all(detail["message"] for detail in payload["details"])
    assert line.delivered == []


def test_text_of_exactly_5000_characters_is_accepted(line: FakeLinePlatform) -> None:
    assert post(line, "/v2/bot/message/push", push_body("あ" * 5000)).status_code == 200


def test_bad_body_through_the_sdk_raises_api_exception_400(line: FakeLinePlatform) -> None:
    error = sdk_error(
        line,
        lambda api: api.reply_message(
            ReplyMessageRequest(reply_token="t", messages=[TextMessage(text="x" * 5001)])
        ),
    )
    assert error.status == 400
    assert json.loads(error.body)["details"][0]["property"] == "messages[0].text"


def test_reply_token_works_once(line: FakeLinePlatform) -> None:
    def reply(text: str) -> Callable[[AsyncMessagingApi], Awaitable[Any]]:
        return lambda api: api.reply_message(
            ReplyMessageRequest(reply_token="same-token", messages=[TextMessage(text=text)])
        )

    run_sdk(line, reply("first"))
    error = sdk_error(line, reply("second"))

    assert error.status == 400
    assert json.loads(error.body) == {"message": "Invalid reply token"}
    assert line.texts() == ["first"]


def test_a_rejected_reply_does_not_spend_the_token(line: FakeLinePlatform) -> None:
    line.fail_next(1, 500)
    assert post(line, "/v2/bot/message/reply", reply_body("tok")).status_code == 500
    assert post(line, "/v2/bot/message/reply", {"replyToken": "tok", "messages": []}).status_code == 400
    assert post(line, "/v2/bot/message/reply", reply_body("tok")).status_code == 200


def test_expired_reply_tokens(line: FakeLinePlatform) -> None:
    line.expire_reply_token("expired-one")
    response = post(line, "/v2/bot/message/reply", reply_body("expired-one"))
    assert (response.status_code, response.json()) == (400, {"message": "Invalid reply token"})
    assert post(line, "/v2/bot/message/reply", reply_body("other")).status_code == 200

    issued_before = line.issue_reply_token()
    line.expire_all_reply_tokens()
    issued_after = line.issue_reply_token()
    assert post(line, "/v2/bot/message/reply", reply_body(issued_before)).status_code == 400
    assert post(line, "/v2/bot/message/reply", reply_body("never-seen-fixture-token")).status_code == 400
    assert post(line, "/v2/bot/message/reply", reply_body(issued_after)).status_code == 200
    assert [d.reply_token for d in line.delivered] == ["other", issued_after]


# ---------------------------------------------------------------------- X-Line-Retry-Key


def test_push_with_an_accepted_retry_key_is_409_and_not_delivered_again(line: FakeLinePlatform) -> None:
    retry_key = str(uuid.uuid4())
    request = PushMessageRequest(to=USER_ID, messages=[TextMessage(text="お知らせ")])

    first = run_sdk(line, lambda api: api.push_message_with_http_info(request, x_line_retry_key=retry_key))
    error = sdk_error(line, lambda api: api.push_message(request, x_line_retry_key=retry_key))

    assert first.status_code == 200
    assert error.status == 409
    assert error.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert error.headers["x-line-request-id"] != first.headers["x-line-request-id"]
    body = json.loads(error.body)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"][0]["id"] == first.data.sent_messages[0].id
    assert line.texts() == ["お知らせ"]
    assert [r.status for r in line.requests] == [200, 409]


def test_retry_key_on_reply_is_400(line: FakeLinePlatform) -> None:
    response = post(
        line, "/v2/bot/message/reply", reply_body(), headers={"X-Line-Retry-Key": str(uuid.uuid4())}
    )

    assert response.status_code == 400
    assert line.delivered == []
    # The token was not spent by the rejected request.
    assert post(line, "/v2/bot/message/reply", reply_body()).status_code == 200


def test_retry_key_must_be_a_uuid(line: FakeLinePlatform) -> None:
    response = post(line, "/v2/bot/message/push", push_body(), headers={"X-Line-Retry-Key": "not-a-uuid"})
    assert response.status_code == 400
    assert line.delivered == []


def test_retry_key_is_only_taken_by_an_accepted_request(line: FakeLinePlatform) -> None:
    retry_key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    line.fail_next(1, 500)

    assert post(line, "/v2/bot/message/push", push_body(), headers=retry_key).status_code == 500
    assert post(line, "/v2/bot/message/push", push_body(), headers=retry_key).status_code == 200
    assert post(line, "/v2/bot/message/push", push_body(), headers=retry_key).status_code == 409
    assert len(line.delivered) == 1


# ---------------------------------------------------------------------- failure injection


def test_fail_next_500_then_recovers(line: FakeLinePlatform) -> None:
    line.fail_next(2)
    request = PushMessageRequest(to=USER_ID, messages=[TextMessage(text="x")])

    for _ in range(2):
        error = sdk_error(line, lambda api: api.push_message(request))
        assert error.status == 500
    run_sdk(line, lambda api: api.push_message(request))

    assert [r.status for r in line.requests] == [500, 500, 200]
    assert len(line.delivered) == 1


def test_fail_next_429_with_retry_after(line: FakeLinePlatform) -> None:
    line.fail_next(1, 429, retry_after=7)

    error = sdk_error(
        line, lambda api: api.push_message(PushMessageRequest(to=USER_ID, messages=[TextMessage(text="x")]))
    )

    assert error.status == 429
    assert error.headers["Retry-After"] == "7"
    assert "rate limit" in json.loads(error.body)["message"]
    assert line.delivered == []


def test_fail_next_with_custom_body_and_endpoint_filter(line: FakeLinePlatform) -> None:
    line.fail_next(1, 429, body={"message": "You have reached your monthly limit."}, endpoint="push")

    assert post(line, "/v2/bot/message/reply", reply_body()).status_code == 200
    response = post(line, "/v2/bot/message/push", push_body())
    assert (response.status_code, response.json()) == (
        429,
        {"message": "You have reached your monthly limit."},
    )
    assert "retry-after" not in response.headers
    assert post(line, "/v2/bot/message/push", push_body()).status_code == 200
    assert [d.kind for d in line.delivered] == ["reply", "push"]

    with pytest.raises(ValueError):
        line.fail_next(1, endpoint="multicast")


def test_delay_next_times_out_the_client_but_still_delivers_once(line: FakeLinePlatform) -> None:
    retry_key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    line.delay_next(1, 1.0)

    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        post(line, "/v2/bot/message/push", push_body("遅延"), headers=retry_key, timeout=0.2)
    assert time.monotonic() - started < 0.9

    (delivery,) = line.wait_for_deliveries(1, timeout=1.0)
    assert delivery.messages == [{"type": "text", "text": "遅延"}]
    retry = post(line, "/v2/bot/message/push", push_body("遅延"), headers=retry_key)
    assert retry.status_code == 409
    assert retry.headers["x-line-accepted-request-id"] == delivery.request_id
    assert len(line.delivered) == 1


def test_delay_next_with_the_sdk_timeout(line: FakeLinePlatform) -> None:
    """The SDK passes _request_timeout to aiohttp, which raises the builtin TimeoutError."""
    retry_key = str(uuid.uuid4())
    request = PushMessageRequest(to=USER_ID, messages=[TextMessage(text="x")])
    line.delay_next(1, 1.0)

    with pytest.raises(TimeoutError):
        run_sdk(line, lambda api: api.push_message(request, x_line_retry_key=retry_key, _request_timeout=0.2))
    error = sdk_error(line, lambda api: api.push_message(request, x_line_retry_key=retry_key))

    assert error.status == 409
    assert len(line.delivered) == 1


def test_a_delayed_reply_spends_the_token(line: FakeLinePlatform) -> None:
    line.delay_next(1, 0.5)
    with pytest.raises(httpx.TimeoutException):
        post(line, "/v2/bot/message/reply", reply_body("slow"), timeout=0.1)

    assert post(line, "/v2/bot/message/reply", reply_body("slow")).status_code == 400
    assert line.texts() == ["こんにちは"]


# ---------------------------------------------------------------------- concurrency and helpers


def test_concurrent_pushes_are_all_recorded(line: FakeLinePlatform) -> None:
    async def main() -> list[int]:
        async with httpx.AsyncClient(
            base_url=line.url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            responses = await asyncio.gather(
                *(client.post("/v2/bot/message/push", json=push_body(f"m{i}")) for i in range(40))
            )
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 40
    assert sorted(line.texts()) == sorted(f"m{i}" for i in range(40))
    assert len(line.requests) == 40


def test_concurrent_pushes_with_one_retry_key_deliver_once(line: FakeLinePlatform) -> None:
    retry_key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        status = post(line, "/v2/bot/message/push", push_body(), headers=retry_key).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 9
    assert len(line.delivered) == 1


def test_wait_for_deliveries_fails_with_what_was_received(line: FakeLinePlatform) -> None:
    post(line, "/v2/bot/message/push", push_body("only one"))

    with pytest.raises(AssertionError, match="only one"):
        line.wait_for_deliveries(2, timeout=0.2)


def test_wait_for_deliveries_wakes_up_on_a_later_delivery(line: FakeLinePlatform) -> None:
    timer = threading.Timer(0.2, lambda: post(line, "/v2/bot/message/push", push_body("later")))
    timer.start()
    try:
        assert [d.messages[0]["text"] for d in line.wait_for_deliveries(1, timeout=3)] == ["later"]
    finally:
        timer.join()


def test_reset_forgets_everything(line: FakeLinePlatform) -> None:
    retry_key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    post(line, "/v2/bot/message/push", push_body(), headers=retry_key)
    post(line, "/v2/bot/message/reply", reply_body("tok"))
    line.expire_all_reply_tokens()
    line.fail_next(5)

    line.reset()

    assert (line.requests, line.delivered) == ([], [])
    assert post(line, "/v2/bot/message/push", push_body(), headers=retry_key).status_code == 200
    assert post(line, "/v2/bot/message/reply", reply_body("tok")).status_code == 200
    assert post(line, "/v2/bot/message/reply", reply_body("fixture-token")).status_code == 200


def test_start_and_stop_without_context_manager() -> None:
    platform = FakeLinePlatform().start()
    try:
        assert platform.url.startswith("http://127.0.0.1:") and not platform.url.endswith("/")
        assert (
            httpx.get(
                f"{platform.url}/v2/bot/profile/U1", headers={"Authorization": "Bearer test-access-token"}
            ).status_code
            == 200
        )
    finally:
        platform.stop()
    platform.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{platform.url}/v2/bot/profile/U1")
