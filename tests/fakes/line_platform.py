"""A fake LINE Messaging API (api.line.me) for tests.

It is a real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer``, one thread per
connection, HTTP/1.1 keep-alive), so the real ``linebot.v3`` client can talk to it:

    with FakeLinePlatform() as line:
        config = Configuration(access_token=line.access_token, host=line.url)
        ...                         # the app sends replies / pushes
        line.wait_for_deliveries(1)
        assert line.texts() == ["..."]

Endpoints:

* ``POST /v2/bot/message/reply``  body ``{replyToken, messages[1..5], notificationDisabled?}``
* ``POST /v2/bot/message/push``   body ``{to, messages[1..5], notificationDisabled?}``,
  optional ``X-Line-Retry-Key`` (UUID) de-duplicated like LINE does (409 after acceptance)
* ``GET  /v2/bot/profile/{userId}``
* anything else: 404 ``{"message": "Not found"}``

Order of checks on a send request (reply / push):

1. auth (401),
2. injected failure from ``fail_next`` (the status given; nothing is delivered),
3. ``X-Line-Retry-Key``: present on reply -> 400; not a UUID on push -> 400;
   already accepted on push -> 409 with ``x-line-accepted-request-id`` (not delivered again),
4. body validation (400 with ``details``),
5. reply token: used or expired -> 400 ``{"message": "Invalid reply token"}``,
6. accepted: recorded in ``delivered``, the reply token is spent, the retry key is accepted.

``delay_next`` is applied to whatever the answer is: the request is processed (and, when it
is accepted, delivered) at once, and only the HTTP response is held back. That is how a
client timeout looks on the real platform: the message did arrive.

Every response carries a fresh ``x-line-request-id``.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from tests.fakes.loopback import JsonHandler, LoopbackFake
from tests.fakes.loopback import JsonResponse as _Response

REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"
PROFILE_PREFIX = "/v2/bot/profile/"

SendKind = Literal["reply", "push"]

MAX_MESSAGES = 5
MAX_TEXT_LENGTH = 5000  # counted in UTF-16 code units, as LINE counts characters
MAX_QUICK_REPLY_ITEMS = 13
MAX_ALT_TEXT = {"flex": 1500, "template": 400}
MAX_QUICK_REPLY_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_CAROUSEL_BUBBLES = 12
MAX_FLEX_BYTES = 50_000  # a Flex Message's contents (LINE: 50 KB at most)

# Required properties per accepted message type (presence only; the SDK models build the rest).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "flex": ("altText", "contents"),
    "template": ("altText", "template"),
    "location": ("title", "address", "latitude", "longitude"),
    "sticker": ("packageId", "stickerId"),
    "image": ("originalContentUrl", "previewImageUrl"),
}

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

MSG_AUTH_MISSING = (
    "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
)
MSG_AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
MSG_INVALID_REPLY_TOKEN = "Invalid reply token"
MSG_RETRY_KEY_ACCEPTED = "The retry key is already accepted"
MSG_RETRY_KEY_NOT_SUPPORTED = "The X-Line-Retry-Key header is not supported on this endpoint"
MSG_RETRY_KEY_INVALID = "The X-Line-Retry-Key header must be a UUID in hexadecimal format"

DEFAULT_FAILURE_BODIES: dict[int, dict[str, Any]] = {
    429: {"message": "The API rate limit has been exceeded. Try again later."},
    500: {"message": "Internal server error"},
    502: {"message": "Bad gateway"},
    503: {"message": "Service unavailable"},
}


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the fake received, with the status it answered."""

    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case keys
    json: Any  # parsed body, or None if empty / not JSON
    status: int
    request_id: str  # the x-line-request-id the fake answered with
    at: float  # time.monotonic() when it was answered (before any delay)
    delay: float = 0.0  # how long the answer was held back


@dataclass(frozen=True)
class Delivery:
    """One accepted reply or push, i.e. what the user would see."""

    kind: SendKind
    to: str | None  # userId/groupId/roomId for push, None for reply
    reply_token: str | None  # None for push
    messages: list[dict[str, Any]]
    retry_key: str | None
    at: float  # time.monotonic() when accepted
    request_id: str
    notification_disabled: bool = False
    sent_messages: list[dict[str, str]] = field(default_factory=list)  # the {"id", "quoteToken"} answered

    @property
    def answer(self) -> list[dict[str, Any]]:
        """What the resident reads as the answer: the messages after the desk's one-time privacy notice
        (the first bubble of a first contact's first reply)."""
        if self.messages and str(self.messages[0].get("text", "")).startswith("【記録について】"):
            return self.messages[1:]
        return self.messages


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None
    body: dict[str, Any] | None
    endpoint: SendKind | None


@dataclass
class _Delay:
    remaining: int
    seconds: float
    endpoint: SendKind | None


class _ValidationErrors:
    """Collects the ``details`` of a LINE 400 "The request body has N error(s)"."""

    def __init__(self) -> None:
        self.details: list[dict[str, str]] = []

    def add(self, prop: str, message: str) -> None:
        self.details.append({"message": message, "property": prop})

    def response(self) -> _Response:
        return _Response(
            400,
            {"message": f"The request body has {len(self.details)} error(s)", "details": self.details},
        )


class _Handler(JsonHandler):
    """Routes PUT and DELETE too (they reach ``_route`` and get its 404)."""

    do_PUT = JsonHandler.serve
    do_DELETE = JsonHandler.serve


class FakeLinePlatform(LoopbackFake):
    """A fake api.line.me on loopback. See the module docstring for behaviour."""

    thread_name = "fake-line-platform"
    handler_class = _Handler

    def __init__(self, access_token: str = "test-access-token") -> None:
        self.access_token = access_token
        self.url = ""  # set by start(): "http://127.0.0.1:PORT"
        self.requests: list[RecordedRequest] = []
        self.delivered: list[Delivery] = []

        self._cond = threading.Condition()  # guards all state below and signals new deliveries
        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._chaos: tuple[float, float, random.Random] = (0.0, 0.0, random.Random(0))
        self._chaos_turns = 0
        self._issued_tokens: set[str] = set()
        self._used_tokens: set[str] = set()
        self._expired_tokens: set[str] = set()
        self._only_issued_tokens_valid = False  # set by expire_all_reply_tokens()
        self._accepted_retry_keys: dict[str, Delivery] = {}
        self._message_counter = 0
        super().__init__()

    # ------------------------------------------------------------------ lifecycle

    def _started(self, base_url: str) -> None:
        self.url = base_url

    # ------------------------------------------------------------------ test controls

    def issue_reply_token(self) -> str:
        """A fresh reply token. Tokens need not be issued: any unseen token works once."""
        token = secrets.token_hex(16)
        with self._cond:
            self._issued_tokens.add(token)
        return token

    def expire_reply_token(self, token: str) -> None:
        with self._cond:
            self._expired_tokens.add(token)
            self._issued_tokens.discard(token)

    def expire_all_reply_tokens(self) -> None:
        """Expire every token, including ones the fake has never seen (e.g. from webhook
        fixtures). Tokens from issue_reply_token() called afterwards are valid."""
        with self._cond:
            self._expired_tokens |= self._issued_tokens
            self._issued_tokens.clear()
            self._only_issued_tokens_valid = True

    def fail_next(
        self,
        count: int,
        status: int = 500,
        retry_after: int | None = None,
        body: dict[str, Any] | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Answer the next ``count`` send requests (only "reply" or "push" if given) with
        ``status``; nothing is delivered. ``retry_after`` adds a Retry-After header."""
        with self._cond:
            self._failures.append(_Failure(count, status, retry_after, body, _check_endpoint(endpoint)))

    def fail_randomly(self, rate: float, late_seconds: float, seed: int = 0) -> None:
        """From now on, a share ``rate`` of send requests goes wrong, in equal parts (in turn): a 500, a 429
        (Retry-After: 1), or a delivery whose answer comes ``late_seconds`` late (the caller may time
        out although the message got through). Seeded, so a run can be repeated; ``rate=0`` stops it."""
        with self._cond:
            self._chaos = (rate, late_seconds, random.Random(seed))
            self._chaos_turns = 0

    def delay_next(self, count: int, seconds: float, endpoint: str | None = None) -> None:
        """Hold back the response to the next ``count`` send requests by ``seconds``. The
        request itself is processed (and delivered) at once."""
        with self._cond:
            self._delays.append(_Delay(count, seconds, _check_endpoint(endpoint)))

    def wait_for_deliveries(self, n: int, timeout: float = 5.0) -> list[Delivery]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.delivered) >= n, timeout=timeout):
                raise AssertionError(
                    f"expected at least {n} deliveries within {timeout}s, got {len(self.delivered)}:\n"
                    + self._describe()
                )
            return list(self.delivered)

    def texts(self) -> list[str]:
        with self._cond:
            return [
                message["text"]
                for delivery in self.delivered
                for message in delivery.messages
                if message.get("type") == "text"
            ]

    def reset(self) -> None:
        """Forget everything: records, injected failures/delays, tokens, retry keys."""
        with self._cond:
            self.requests.clear()
            self.delivered.clear()
            self._failures.clear()
            self._delays.clear()
            self._chaos = (0.0, 0.0, random.Random(0))
            self._chaos_turns = 0
            self._issued_tokens.clear()
            self._used_tokens.clear()
            self._expired_tokens.clear()
            self._only_issued_tokens_valid = False
            self._accepted_retry_keys.clear()

    # ------------------------------------------------------------------ request handling

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> _Response:
        """Decide the answer to one request and record it. Called from handler threads."""
        path = urlsplit(raw_path).path
        body = _parse_json(raw_body)
        request_id = str(uuid.uuid4())
        with self._cond:
            response = self._route(method, path, headers, raw_body, body, request_id)
            response.headers["x-line-request-id"] = request_id
            self.requests.append(
                RecordedRequest(method, path, headers, body, response.status, request_id, time.monotonic(),
                                response.delay)
            )
            return response

    def _route(
        self, method: str, path: str, headers: dict[str, str], raw_body: bytes, body: Any, request_id: str
    ) -> _Response:
        if method == "POST" and path in (REPLY_PATH, PUSH_PATH):
            kind: SendKind = "reply" if path == REPLY_PATH else "push"
            response = self._send(kind, headers, raw_body, body, request_id)
            response.delay = max(self._take_delay(kind), response.delay)
            return response
        if method == "GET" and path.startswith(PROFILE_PREFIX):
            user_id = unquote(path[len(PROFILE_PREFIX) :])
            if user_id and "/" not in user_id:
                return self._check_auth(headers) or _Response(
                    200, {"userId": user_id, "displayName": "テスト利用者", "language": "ja"}
                )
        return _Response(404, {"message": "Not found"})

    def _send(
        self, kind: SendKind, headers: dict[str, str], raw_body: bytes, body: Any, request_id: str
    ) -> _Response:
        if (denied := self._check_auth(headers)) is not None:
            return denied
        if (failure := self._take_failure(kind)) is not None:
            return failure
        chaos, late = self._roll_chaos()
        if chaos is not None:
            return _Response(chaos, dict(DEFAULT_FAILURE_BODIES.get(chaos, {"message": "Injected failure"})),
                             {"Retry-After": "1"} if chaos == 429 else {})

        retry_key = headers.get("x-line-retry-key")
        if retry_key is not None:
            if kind == "reply":
                return _Response(400, {"message": MSG_RETRY_KEY_NOT_SUPPORTED})
            if not UUID_RE.match(retry_key):
                return _Response(400, {"message": MSG_RETRY_KEY_INVALID})
            retry_key = retry_key.lower()
            if (accepted := self._accepted_retry_keys.get(retry_key)) is not None:
                return _Response(
                    409,
                    {"message": MSG_RETRY_KEY_ACCEPTED, "sentMessages": accepted.sent_messages},
                    {"x-line-accepted-request-id": accepted.request_id},
                )

        errors = _validate_send_body(kind, raw_body, body)
        if errors.details:
            return errors.response()

        reply_token: str | None = body["replyToken"] if kind == "reply" else None
        if reply_token is not None and not self._reply_token_usable(reply_token):
            return _Response(400, {"message": MSG_INVALID_REPLY_TOKEN})

        sent_messages = [self._new_sent_message() for _ in body["messages"]]
        delivery = Delivery(
            kind=kind,
            to=body["to"] if kind == "push" else None,
            reply_token=reply_token,
            messages=body["messages"],
            retry_key=retry_key,
            at=time.monotonic(),
            request_id=request_id,
            notification_disabled=bool(body.get("notificationDisabled", False)),
            sent_messages=sent_messages,
        )
        if reply_token is not None:
            self._used_tokens.add(reply_token)
            self._issued_tokens.discard(reply_token)
        if retry_key is not None:
            self._accepted_retry_keys[retry_key] = delivery
        self.delivered.append(delivery)
        self._cond.notify_all()
        response = _Response(200, {"sentMessages": sent_messages})
        response.delay = late
        return response

    def _check_auth(self, headers: dict[str, str]) -> _Response | None:
        authorization = headers.get("authorization")
        if not authorization:
            return _Response(401, {"message": MSG_AUTH_MISSING})
        if authorization != f"Bearer {self.access_token}":
            return _Response(401, {"message": MSG_AUTH_FAILED})
        return None

    def _take_failure(self, kind: SendKind) -> _Response | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.endpoint in (None, kind):
                failure.remaining -= 1
                body = failure.body or DEFAULT_FAILURE_BODIES.get(
                    failure.status, {"message": "Injected failure"}
                )
                headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
                return _Response(failure.status, dict(body), headers)
        return None

    def _roll_chaos(self) -> tuple[int | None, float]:
        """(a status to fail with, or None; how late to answer a delivery) for one send request."""
        rate, late, rng = self._chaos
        if rate <= 0 or rng.random() >= rate:
            return None, 0.0
        self._chaos_turns += 1  # the three faults in turn, so every run has each in equal parts
        outcome = (500, 429, None)[self._chaos_turns % 3]
        return (outcome, 0.0) if outcome is not None else (None, late)

    def _take_delay(self, kind: SendKind) -> float:
        for delay in self._delays:
            if delay.remaining > 0 and delay.endpoint in (None, kind):
                delay.remaining -= 1
                return delay.seconds
        return 0.0

    def _reply_token_usable(self, token: str) -> bool:
        if token in self._used_tokens or token in self._expired_tokens:
            return False
        return token in self._issued_tokens or not self._only_issued_tokens_valid

    def _new_sent_message(self) -> dict[str, str]:
        self._message_counter += 1
        return {
            "id": str(500000000000000000 + self._message_counter),
            "quoteToken": secrets.token_urlsafe(12),
        }

    def _describe(self) -> str:
        lines = [
            f"  delivered: {d.kind} to={d.to} token={d.reply_token} messages={d.messages}"
            for d in self.delivered
        ]
        lines += [f"  request: {r.method} {r.path} -> {r.status} body={r.json}" for r in self.requests]
        return "\n".join(lines) or "  (no requests at all)"


# ---------------------------------------------------------------------- body validation


def _validate_send_body(kind: SendKind, raw_body: bytes, body: Any) -> _ValidationErrors:
    errors = _ValidationErrors()
    if not isinstance(body, dict):
        errors.add("", "The request body must be a JSON object" if raw_body else "The request body is empty")
        return errors

    target = "replyToken" if kind == "reply" else "to"
    if target not in body:
        errors.add(target, "must be specified")
    elif not isinstance(body[target], str) or not body[target]:
        errors.add(target, "must be a non-empty string")

    if "notificationDisabled" in body and not isinstance(body["notificationDisabled"], bool):
        errors.add("notificationDisabled", "must be a boolean")

    messages = body.get("messages")
    if messages is None:
        errors.add("messages", "must be specified")
    elif not isinstance(messages, list):
        errors.add("messages", "must be an array")
    elif not 1 <= len(messages) <= MAX_MESSAGES:
        errors.add("messages", f"Size must be between 1 and {MAX_MESSAGES}")
    else:
        for index, message in enumerate(messages):
            _validate_message(f"messages[{index}]", message, errors)
    return errors


def _validate_message(prop: str, message: Any, errors: _ValidationErrors) -> None:
    if not isinstance(message, dict):
        errors.add(prop, "must be an object")
        return
    message_type = message.get("type")
    if message_type is None:
        errors.add(f"{prop}.type", "must be specified")
        return
    if message_type not in REQUIRED_FIELDS:
        errors.add(f"{prop}.type", f"must be one of {sorted(REQUIRED_FIELDS)}")
        return
    for name in REQUIRED_FIELDS[message_type]:
        if message.get(name) in (None, ""):
            errors.add(f"{prop}.{name}", "must be specified")

    text = message.get("text")
    if message_type == "text" and text not in (None, ""):
        if not isinstance(text, str):
            errors.add(f"{prop}.text", "must be a string")
        elif _utf16_length(text) > MAX_TEXT_LENGTH:
            errors.add(f"{prop}.text", f"Length must be between 0 and {MAX_TEXT_LENGTH}")

    alt_text = message.get("altText")
    if (
        message_type in MAX_ALT_TEXT
        and isinstance(alt_text, str)
        and len(alt_text) > MAX_ALT_TEXT[message_type]
    ):
        errors.add(f"{prop}.altText", f"Length must be between 0 and {MAX_ALT_TEXT[message_type]}")

    if "quickReply" in message:
        quick_reply = message["quickReply"]
        items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
            errors.add(f"{prop}.quickReply.items", f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}")
        else:
            for index, item in enumerate(items):
                action = ((item or {}).get("action") or {}) if isinstance(item, dict) else {}
                label = action.get("label")
                if not isinstance(label, str) or not 1 <= len(label) <= MAX_QUICK_REPLY_LABEL:
                    errors.add(f"{prop}.quickReply.items[{index}].action.label",
                               f"Length must be between 1 and {MAX_QUICK_REPLY_LABEL}")
                if len(str(action.get("data") or "")) > MAX_POSTBACK_DATA:
                    errors.add(f"{prop}.quickReply.items[{index}].action.data",
                               f"Length must be between 0 and {MAX_POSTBACK_DATA}")

    if message_type == "flex" and isinstance(message.get("contents"), dict):
        contents = message["contents"]
        if contents.get("type") == "carousel" and not 1 <= len(contents.get("contents") or []) <= MAX_CAROUSEL_BUBBLES:
            errors.add(f"{prop}.contents.contents", f"Size must be between 1 and {MAX_CAROUSEL_BUBBLES}")
        if len(json.dumps(contents, ensure_ascii=False).encode()) > MAX_FLEX_BYTES:
            errors.add(f"{prop}.contents", f"Size must be at most {MAX_FLEX_BYTES} bytes")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_json(raw_body: bytes) -> Any:
    if not raw_body:
        return None
    try:
        return json.loads(raw_body)
    except ValueError:
        return None


def _check_endpoint(endpoint: str | None) -> SendKind | None:
    if endpoint not in (None, "reply", "push"):
        raise ValueError(f'endpoint must be None, "reply" or "push", not {endpoint!r}')
    return endpoint  # type: ignore[return-value]

