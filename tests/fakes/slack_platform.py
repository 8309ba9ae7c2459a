"""A fake Slack Web API (slack.com/api) for tests, plus builders of signed requests *to* the app.

The fake is a real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer``, one thread per
connection, HTTP/1.1 keep-alive), so the real ``slack_sdk`` clients (``WebClient`` on urllib,
``AsyncWebClient`` on aiohttp) and Bolt talk to it unchanged:

    with FakeSlackPlatform() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.url)   # url ends in "/api/"
        ...                                         # the app posts, updates, reacts
        slack.wait_for_calls("chat.postMessage", 1)
        assert slack.thread("C0STAFF001", parent_ts)[1]["text"] == "..."

Web API methods (``POST /api/<method>`` with a JSON, form or empty body, or ``GET`` with a query;
the arguments of query and body are merged into ``SlackCall.args``):

* ``auth.test``            -> ``{ok, url, team, user, team_id, user_id, bot_id, is_enterprise_install}``
* ``chat.postMessage``     channel + (text | blocks); ``thread_ts`` puts it in a thread
* ``chat.update``          channel + ts of an existing message posted by the bot
* ``chat.postEphemeral``   channel + user + (text | blocks) -> ``{ok, message_ts}``
* ``chat.getPermalink``    channel + message_ts
* ``reactions.add``        channel + timestamp + name
* ``views.open`` / ``views.push`` trigger_id + view;  ``views.update`` view_id | external_id + view
* ``users.info``           user (registered with ``add_user``; the bot user is always there)
* ``conversations.info``   channel
* anything else under ``/api/``: 200 ``{"ok": false, "error": "unknown_method"}``

Like Slack, errors are HTTP 200 with ``{"ok": false, "error": "<code>"}`` (slack_sdk raises
``SlackApiError``), except rate limits (429 + ``Retry-After``) and injected server errors (5xx).

Order of checks on a Web API call:

1. unknown method -> ``unknown_method``,
2. token: ``Authorization: Bearer <bot_token>``, or ``token`` in a form body / the query string
   (none -> ``not_authed``, another -> ``invalid_auth``),
3. injected failure from ``fail_next`` (nothing is stored),
4. argument validation and state (``channel_not_found``, ``no_text``, ``invalid_blocks``,
   ``msg_too_long``, ``thread_not_found``, ``message_not_found``, ``cant_update_message``, ...),
5. accepted: the message is stored in ``messages`` (``(channel, ts) -> message``).

Channels: ``C…``/``G…``/``D…`` ids are accepted as they are; a user id (``U…``/``W…``) posts into
that user's DM channel ``D<rest of the id>`` (Slack opens the DM and answers its ``D…`` id); a
``#name`` must have been registered with ``add_channel``. ``conversations.info`` answers registered
channels and synthesises the rest from the id.

Threads: a reply whose ``thread_ts`` names a reply is attached to that reply's parent, as Slack does.
A parent the fake has never seen (a user's message from an event) is fine: the reply is stored and
``thread()`` lists it. ``add_message`` seeds such user messages when a test wants them listed.
``delete_thread`` removes a thread; later replies into it get ``thread_not_found`` and updates of
its messages ``message_not_found`` (real Slack is less tidy; this lets the desk start a new thread).

``new_response_url()`` gives a loopback ``response_url`` for slash commands and actions. Bolt's
``respond()`` POSTs to it; the fake records the call as method ``"response_url"``.

Every API response carries a fresh ``x-slack-req-id``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from tests.fakes.loopback import JsonResponse as _Response
from tests.fakes.loopback import LoopbackFake

API_PREFIX = "/api/"
HOOKS_PREFIX = "/hooks/"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_LENGTH = 40000  # chat.postMessage: longer text -> msg_too_long
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_ID_LENGTH = 255  # block_id, action_id
TRIGGER_TTL = 3.0  # seconds a trigger_id from new_trigger_id() stays usable, as on Slack

KNOWN_METHODS = frozenset(
    {
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.getPermalink",
        "reactions.add",
        "views.open",
        "views.push",
        "views.update",
        "users.info",
        "conversations.info",
    }
)

T = TypeVar("T")


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received, with what it answered."""

    method: str  # Web API method, e.g. "chat.postMessage"; "response_url" for POSTs to new_response_url()
    args: dict[str, Any]  # query string and body merged (a JSON body keeps its types; form values are str)
    headers: dict[str, str]  # lower-case keys
    ok: bool
    status: int
    error: str | None = None
    http_method: str = "POST"
    path: str = ""
    response: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic() when answered


@dataclass
class _Failure:
    remaining: int
    method: str | None
    error: str
    status: int | None
    retry_after: int | None


class _ApiError(Exception):
    """Raised inside a method handler: answered as 200 {"ok": false, "error": code}."""

    def __init__(self, code: str, messages: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []


def _ok(**body: Any) -> _Response:
    return _Response(200, {"ok": True, **body})


def _error(code: str, status: int = 200, headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, {"ok": False, "error": code}, dict(headers or {}))


class FakeSlackPlatform(LoopbackFake):
    """A fake slack.com Web API on loopback. See the module docstring for behaviour."""

    thread_name = "fake-slack-platform"

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        bot_user_id: str = "UBOT000001",
        team_id: str = "T0001",
        *,
        bot_id: str = "B0BOT00001",
        team_domain: str = "zaitaku-test",
        bot_name: str = "zaitaku-desk",
    ) -> None:
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_name = bot_name
        self.url = ""  # set by start(): "http://127.0.0.1:PORT/api/"
        self.base = ""  # set by start(): "http://127.0.0.1:PORT"

        self.calls: list[SlackCall] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.reactions: dict[tuple[str, str], list[str]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}

        # Guards all state and signals new calls (re-entrant, so helpers may nest).
        self._cond = threading.Condition(threading.RLock())
        self._failures: list[_Failure] = []
        self._deleted: set[tuple[str, str]] = set()  # (channel, ts) of deleted parents and replies
        self._used_triggers: set[str] = set()
        self._issued_triggers: dict[str, float] = {}
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        super().__init__()
        self._add_bot_user()

    # ------------------------------------------------------------------ lifecycle

    def _started(self, base_url: str) -> None:
        self.base = base_url
        self.url = f"{base_url}{API_PREFIX}"

    # ------------------------------------------------------------------ test controls

    def fail_next(
        self,
        count: int,
        method: str | None = None,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` Web API calls (only to ``method`` if given) with a failure;
        nothing is stored. Checked after the token, so a bad token still gets ``invalid_auth``.

        * ``error="ratelimited"`` (the default) with no status: HTTP 429, ``Retry-After``
          (``retry_after``, default 1 s) and ``{"ok": false, "error": "ratelimited"}``.
        * ``status`` 5xx: that status with ``{"ok": false, "error": error}``; the default
          ``"ratelimited"`` becomes ``"internal_error"`` there.
        * any other ``error`` with no status: Slack's usual HTTP 200 ``{"ok": false, "error": error}``
          (``channel_not_found``, ``thread_not_found``, ``message_not_found``, ...).

        ``retry_after`` adds a ``Retry-After`` header to any of them.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._cond:
            self._failures.append(_Failure(count, method, error, status, retry_after))

    def delete_thread(self, channel: str, thread_ts: str) -> None:
        """Delete a thread (its parent and every reply). Later replies into it get
        ``thread_not_found``; updates, reactions and permalinks of its messages ``message_not_found``."""
        with self._cond:
            parent = self.messages.get((channel, thread_ts))
            if parent is not None and parent.get("thread_ts") not in (None, thread_ts):
                thread_ts = parent["thread_ts"]  # a reply was named: delete its whole thread
            doomed = [
                key
                for key, message in self.messages.items()
                if key[0] == channel and (key[1] == thread_ts or message.get("thread_ts") == thread_ts)
            ]
            self._deleted.add((channel, thread_ts))
            for key in doomed:
                self._deleted.add(key)
                del self.messages[key]

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        is_bot: bool = False,
        *,
        tz: str = "Asia/Tokyo",
        display_name: str | None = None,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Register a user for ``users.info``. Returns the user object it will answer."""
        real = real_name if real_name is not None else name
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": "Japan Standard Time" if tz == "Asia/Tokyo" else tz,
            "tz_offset": 32400 if tz == "Asia/Tokyo" else 0,
            "is_bot": is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": real,
                "display_name": display_name if display_name is not None else name,
                "team": self.team_id,
            },
        }
        if is_bot and user_id == self.bot_user_id:
            user["profile"]["bot_id"] = self.bot_id
        with self._cond:
            self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_im: bool = False,
        is_private: bool = False,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Register a channel for ``conversations.info`` and for ``#name`` addressing."""
        channel: dict[str, Any] = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_im and not is_private,
            "is_group": False,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_private or is_im,
            "is_archived": False,
            "is_member": True,
            "context_team_id": self.team_id,
        }
        if is_im:
            channel["user"] = user
        with self._cond:
            self.channels[channel_id] = channel
        return channel

    def add_message(
        self, channel: str, text: str, *, user: str, ts: str | None = None, thread_ts: str | None = None
    ) -> str:
        """Seed a message the fake did not receive (e.g. a user's message from an event), so that
        ``thread()`` lists it. Returns its ts."""
        with self._cond:
            ts = ts or self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "channel": channel,
                "ts": ts,
                "text": text,
                "user": user,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.messages[(channel, ts)] = message
            return ts

    def new_trigger_id(self) -> str:
        """A trigger_id that ``views.open`` accepts once, within 3 seconds (``expired_trigger_id``
        after that). trigger_ids the fake never issued are accepted once at any time."""
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        with self._cond:
            self._issued_triggers[trigger_id] = time.monotonic()
        return trigger_id

    def new_response_url(self, kind: str = "commands") -> str:
        """A response_url on the fake (for slash_command_body / block_actions_body). Bolt's
        ``respond()`` POSTs JSON to it; the call is recorded as method ``"response_url"``."""
        if not self.base:
            raise RuntimeError("start the fake first")
        return f"{self.base}{HOOKS_PREFIX}{kind}/{self.team_id}/{next(self._ids)}/{secrets.token_hex(12)}"

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The messages of a thread in order, parent first (when the fake knows the parent)."""
        with self._cond:
            found = [
                dict(message)
                for (chan, ts), message in self.messages.items()
                if chan == channel and (ts == thread_ts or message.get("thread_ts") == thread_ts)
            ]
        return sorted(found, key=lambda m: (m["ts"] != thread_ts, _ts_key(m["ts"])))

    def texts(self, channel: str | None = None) -> list[str]:
        """The text of every stored message (in ts order), optionally in one channel."""
        with self._cond:
            found = [m for (chan, _), m in self.messages.items() if channel in (None, chan)]
        return [m.get("text", "") for m in sorted(found, key=lambda m: _ts_key(m["ts"]))]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy and return its value; AssertionError on timeout.
        The predicate may use the fake's own methods."""
        deadline = time.monotonic() + timeout
        while True:
            # The predicate runs without the lock held, so a slow one (a database query) does
            # not stall the server; new calls wake the wait, which polls every 50 ms anyway.
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"condition not met within {timeout}s; calls so far:\n{self._describe()}"
                )
            with self._cond:
                self._cond.wait(min(remaining, 0.05))

    def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[SlackCall]:
        """Wait until at least ``n`` calls to ``method`` were answered (whatever the outcome)."""

        def enough() -> list[SlackCall]:
            found = self.calls_to(method)
            return found if len(found) >= n else []

        try:
            return self.wait_for(enough, timeout)
        except AssertionError:
            raise AssertionError(
                f"expected at least {n} calls to {method} within {timeout}s:\n{self._describe()}"
            ) from None

    def reset(self) -> None:
        """Forget calls, messages, injected failures, deleted threads, views, reactions and
        ephemerals. Registered users and channels are kept (the bot user is always there)."""
        with self._cond:
            self.calls.clear()
            self.messages.clear()
            self.ephemerals.clear()
            self.reactions.clear()
            self.views.clear()
            self._failures.clear()
            self._deleted.clear()
            self._used_triggers.clear()
            self._issued_triggers.clear()

    # ------------------------------------------------------------------ request handling

    def _handle(self, http_method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> _Response:
        """Decide the answer to one request and record it. Called from handler threads."""
        split = urlsplit(raw_path)
        path = split.path
        args = dict(parse_qsl(split.query, keep_blank_values=True))
        args.update(_parse_body(headers.get("content-type", ""), raw_body))
        with self._cond:
            if path.startswith(API_PREFIX):
                method = path[len(API_PREFIX) :]
                response = self._api(method, headers, args)
            elif path.startswith(HOOKS_PREFIX) and http_method == "POST":
                method = "response_url"
                response = _Response(200, {"ok": True})
            else:
                method = ""
                response = _Response(404, {"ok": False, "error": "not_found"})
            response.headers.setdefault("x-slack-req-id", secrets.token_hex(16))
            self.calls.append(
                SlackCall(
                    method=method,
                    args=args,
                    headers=headers,
                    ok=bool(response.body.get("ok")),
                    status=response.status,
                    error=response.body.get("error"),
                    http_method=http_method,
                    path=path,
                    response=response.body,
                    at=time.monotonic(),
                )
            )
            self._cond.notify_all()
            return response

    def _api(self, method: str, headers: dict[str, str], args: dict[str, Any]) -> _Response:
        if method not in KNOWN_METHODS:
            return _error("unknown_method")
        if (denied := self._check_auth(headers, args)) is not None:
            return denied
        if (failure := self._take_failure(method)) is not None:
            return failure
        handler = getattr(self, "_m_" + method.replace(".", "_"))
        try:
            return handler(args)
        except _ApiError as exc:
            response = _error(exc.code)
            if exc.messages:
                response.body["response_metadata"] = {"messages": exc.messages}
            return response

    def _check_auth(self, headers: dict[str, str], args: dict[str, Any]) -> _Response | None:
        authorization = headers.get("authorization", "")
        token = authorization[len("Bearer ") :].strip() if authorization.startswith("Bearer ") else None
        if token is None and isinstance(args.get("token"), str):
            token = args["token"]
        if not token:
            return _error("not_authed")
        if token != self.bot_token:
            return _error("invalid_auth")
        return None

    def _take_failure(self, method: str) -> _Response | None:
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in (None, method):
                failure.remaining -= 1
                headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
                status = failure.status
                if status is None:
                    status = 429 if failure.error == "ratelimited" else 200
                error = failure.error
                if status >= 500 and error == "ratelimited":
                    error = "internal_error"
                if status == 429:
                    headers.setdefault("Retry-After", "1")
                return _error(error, status, headers)
        return None

    # ------------------------------------------------------------------ Web API methods

    def _m_auth_test(self, args: dict[str, Any]) -> _Response:
        return _ok(
            url=f"https://{self.team_domain}.slack.com/",
            team=self.team_domain,
            user=self.bot_name,
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=self.bot_id,
            is_enterprise_install=False,
        )

    def _m_chat_postMessage(self, args: dict[str, Any]) -> _Response:
        channel = self._channel_arg(args)
        text, blocks = self._content(args, "blocks", MAX_MESSAGE_BLOCKS)
        thread_ts = _str_or_none(args.get("thread_ts"))
        parent: dict[str, Any] | None = None
        if thread_ts is not None:
            if (channel, thread_ts) in self._deleted:
                raise _ApiError("thread_not_found")
            parent = self.messages.get((channel, thread_ts))
            if parent is not None and parent.get("thread_ts"):
                thread_ts = parent["thread_ts"]  # a reply to a reply goes to the parent's thread
            parent = self.messages.get((channel, thread_ts))
        ts = self._next_ts()
        message = self._new_message(channel, ts, text, blocks, args)
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                parent["latest_reply"] = ts
        self.messages[(channel, ts)] = message
        return _ok(channel=channel, ts=ts, message=_public(message))

    def _m_chat_update(self, args: dict[str, Any]) -> _Response:
        channel = self._channel_arg(args)
        ts = _str_or_none(args.get("ts"))
        if ts is None or (channel, ts) in self._deleted or (channel, ts) not in self.messages:
            raise _ApiError("message_not_found")
        message = self.messages[(channel, ts)]
        if message.get("user") != self.bot_user_id:
            raise _ApiError("cant_update_message")
        has_text = "text" in args and args["text"] is not None
        has_blocks = "blocks" in args and args["blocks"] is not None
        if not has_text and not has_blocks:
            raise _ApiError("no_text")
        if has_text:
            text = str(args["text"])
            if len(text) > MAX_TEXT_LENGTH:
                raise _ApiError("msg_too_long")
            message["text"] = text
        if has_blocks:
            blocks = _check_blocks(args["blocks"], MAX_MESSAGE_BLOCKS)
            if blocks:
                message["blocks"] = blocks
            else:
                message.pop("blocks", None)  # blocks=[] clears them, as on Slack
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return _ok(channel=channel, ts=ts, text=message.get("text", ""), message=_public(message))

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> _Response:
        channel = self._channel_arg(args)
        user = _str_or_none(args.get("user"))
        if user is None:
            raise _ApiError("user_not_found")
        text, blocks = self._content(args, "blocks", MAX_MESSAGE_BLOCKS)
        ts = self._next_ts()
        ephemeral: dict[str, Any] = {"channel": channel, "user": user, "text": text, "message_ts": ts}
        if blocks:
            ephemeral["blocks"] = blocks
        if (thread_ts := _str_or_none(args.get("thread_ts"))) is not None:
            ephemeral["thread_ts"] = thread_ts
        self.ephemerals.append(ephemeral)
        return _ok(message_ts=ts)

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> _Response:
        channel = self._channel_arg(args)
        ts = _str_or_none(args.get("message_ts"))
        if ts is None or (channel, ts) in self._deleted:
            raise _ApiError("message_not_found")
        permalink = f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        message = self.messages.get((channel, ts))
        if message is not None and message.get("thread_ts") not in (None, ts):
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return _ok(channel=channel, permalink=permalink)

    def _m_reactions_add(self, args: dict[str, Any]) -> _Response:
        channel = self._channel_arg(args)
        ts = _str_or_none(args.get("timestamp"))
        name = _str_or_none(args.get("name"))
        if ts is None or (channel, ts) in self._deleted:
            raise _ApiError("message_not_found")
        if name is None:
            raise _ApiError("invalid_name")
        name = name.strip(":")
        names = self.reactions.setdefault((channel, ts), [])
        if name in names:
            raise _ApiError("already_reacted")
        names.append(name)
        return _ok()

    def _m_views_open(self, args: dict[str, Any]) -> _Response:
        self._use_trigger(args)
        view = self._store_view(args, view_id=None)
        return _ok(view=view)

    def _m_views_push(self, args: dict[str, Any]) -> _Response:
        return self._m_views_open(args)

    def _m_views_update(self, args: dict[str, Any]) -> _Response:
        view_id = _str_or_none(args.get("view_id"))
        external_id = _str_or_none(args.get("external_id"))
        if view_id is None and external_id is not None:
            view_id = next(
                (v["id"] for v in self.views.values() if v.get("external_id") == external_id), None
            )
            if view_id is None:
                raise _ApiError("not_found")
        if view_id is None:
            raise _ApiError("invalid_arguments")
        current = self.views.get(view_id)
        if current is None:
            raise _ApiError("not_found")
        expected_hash = _str_or_none(args.get("hash"))
        if expected_hash is not None and expected_hash != current["hash"]:
            raise _ApiError("hash_conflict")
        return _ok(view=self._store_view(args, view_id=view_id))

    def _m_users_info(self, args: dict[str, Any]) -> _Response:
        user = self.users.get(_str_or_none(args.get("user")) or "")
        if user is None:
            raise _ApiError("user_not_found")
        return _ok(user=json.loads(json.dumps(user)))

    def _m_conversations_info(self, args: dict[str, Any]) -> _Response:
        channel_id = self._channel_arg(args)
        channel = self.channels.get(channel_id)
        if channel is None:
            is_im = channel_id.startswith("D")
            channel = {
                "id": channel_id,
                "name": channel_id if is_im else channel_id.lower(),
                "is_channel": channel_id.startswith("C"),
                "is_group": False,
                "is_im": is_im,
                "is_mpim": False,
                "is_private": not channel_id.startswith("C"),
                "is_archived": False,
                "is_member": True,
                "context_team_id": self.team_id,
            }
        return _ok(channel=dict(channel))

    # ------------------------------------------------------------------ helpers (lock held)

    def _channel_arg(self, args: dict[str, Any]) -> str:
        value = _str_or_none(args.get("channel"))
        if value is None:
            raise _ApiError("channel_not_found")
        if value.startswith("#"):
            for channel in self.channels.values():
                if channel["name"] == value[1:]:
                    return str(channel["id"])
            raise _ApiError("channel_not_found")
        if value[0] in "UW" and len(value) > 1:
            return "D" + value[1:]  # Slack opens the user's DM and answers its D… id
        if value[0] in "CGD" and len(value) > 1:
            return value
        raise _ApiError("channel_not_found")

    def _content(self, args: dict[str, Any], blocks_key: str, max_blocks: int) -> tuple[str, list[Any]]:
        text = args.get("text")
        raw_blocks = args.get(blocks_key)
        text = "" if text is None else str(text)
        blocks = _check_blocks(raw_blocks, max_blocks) if raw_blocks is not None else []
        if not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        if len(text) > MAX_TEXT_LENGTH:
            raise _ApiError("msg_too_long")
        return text, blocks

    def _new_message(
        self, channel: str, ts: str, text: str, blocks: list[Any], args: dict[str, Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "text": text,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
        }
        if blocks:
            message["blocks"] = blocks
        for extra in ("metadata", "attachments"):
            if args.get(extra) is not None:
                message[extra] = _maybe_json(args[extra])
        return message

    def _use_trigger(self, args: dict[str, Any]) -> None:
        trigger_id = _str_or_none(args.get("trigger_id")) or _str_or_none(args.get("interactivity_pointer"))
        if trigger_id is None:
            raise _ApiError("invalid_arguments")
        if trigger_id in self._used_triggers:
            raise _ApiError("exchanged_trigger_id")
        issued = self._issued_triggers.get(trigger_id)
        if issued is not None and time.monotonic() - issued > TRIGGER_TTL:
            raise _ApiError("expired_trigger_id")
        self._used_triggers.add(trigger_id)

    def _store_view(self, args: dict[str, Any], view_id: str | None) -> dict[str, Any]:
        view = _maybe_json(args.get("view"))
        if (
            not isinstance(view, dict)
            or view.get("type") != "modal"
            or not isinstance(view.get("title"), dict)
        ):
            raise _ApiError("invalid_arguments", ["[ERROR] view must be a modal with a title"])
        blocks = _check_blocks(view.get("blocks"), MAX_VIEW_BLOCKS, required=True)
        if view_id is None:
            view_id = "V" + _random_id(10)
        stored = dict(view)
        stored.update(
            {
                "id": view_id,
                "team_id": self.team_id,
                "type": "modal",
                "blocks": blocks,
                "callback_id": view.get("callback_id", ""),
                "private_metadata": view.get("private_metadata", ""),
                "external_id": view.get("external_id", ""),
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                "root_view_id": self.views.get(view_id, {}).get("root_view_id", view_id),
                "bot_id": self.bot_id,
            }
        )
        self.views[view_id] = stored
        return json.loads(json.dumps(stored))

    def _next_ts(self) -> str:
        """A unique, increasing message ts ("1700000000.000100" style) close to the real clock."""
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _add_bot_user(self) -> None:
        self.add_user(self.bot_user_id, self.bot_name, "在宅相談デスク", is_bot=True)

    def _describe(self) -> str:
        with self._cond:
            calls = list(self.calls)
        lines = [
            f"  {c.http_method} {c.method or c.path} -> {c.status} {'ok' if c.ok else c.error} args={c.args}"
            for c in calls
        ]
        return "\n".join(lines) or "  (no calls at all)"


# ---------------------------------------------------------------------- argument parsing / validation


def _parse_body(content_type: str, raw_body: bytes) -> dict[str, Any]:
    if not raw_body:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    text = raw_body.decode("utf-8", errors="replace")
    if kind == "application/json" or (not kind and text.lstrip().startswith("{")):
        try:
            parsed = json.loads(text)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    if kind == "application/x-www-form-urlencoded" or not kind:
        return dict(parse_qsl(text, keep_blank_values=True))
    return {}  # multipart (file uploads) is not modelled


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value)
    return value or None


def _maybe_json(value: Any) -> Any:
    """Form bodies carry blocks / view / metadata as JSON strings; JSON bodies as objects."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _check_blocks(raw: Any, max_blocks: int, required: bool = False) -> list[Any]:
    """Minimal Block Kit validation: ``invalid_blocks`` with Slack-like messages on failure."""
    blocks = _maybe_json(raw)
    if blocks is None and not required:
        return []
    if not isinstance(blocks, list):
        raise _ApiError("invalid_blocks", ["[ERROR] must be an array [json-pointer:/blocks]"])
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        _check_block(f"/blocks/{index}", block, block_ids, problems)
    if problems:
        raise _ApiError("invalid_blocks", problems)
    return blocks


def _check_block(pointer: str, block: Any, block_ids: set[str], problems: list[str]) -> None:
    def problem(message: str, where: str = "") -> None:
        problems.append(f"[ERROR] {message} [json-pointer:{pointer}{where}]")

    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        problem("must provide an object with a type")
        return
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or len(block_id) > MAX_ID_LENGTH:
            problem(f"must be a string of at most {MAX_ID_LENGTH} characters", "/block_id")
        elif block_id in block_ids:
            problem("duplicate block_id", "/block_id")
        else:
            block_ids.add(block_id)
    kind = block["type"]
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            problem("must provide either text or fields")
        if text is not None:
            _check_text(pointer + "/text", text, MAX_SECTION_TEXT, problems)
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
                problem(f"must be an array of at most {MAX_SECTION_FIELDS} items", "/fields")
            else:
                for i, item in enumerate(fields):
                    _check_text(f"{pointer}/fields/{i}", item, MAX_FIELD_TEXT, problems)
    elif kind == "header":
        _check_text(pointer + "/text", block.get("text"), MAX_HEADER_TEXT, problems, plain_only=True)
    elif kind in ("actions", "context"):
        limit = MAX_ACTION_ELEMENTS if kind == "actions" else MAX_CONTEXT_ELEMENTS
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
            problem(f"must be an array of 1 to {limit} items", "/elements")
            return
        for i, element in enumerate(elements):
            where = f"{pointer}/elements/{i}"
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                problems.append(f"[ERROR] must provide an object with a type [json-pointer:{where}]")
            elif kind == "actions":
                _check_element(where, element, problems)
            elif element["type"] in ("mrkdwn", "plain_text"):
                _check_text(where, element, MAX_SECTION_TEXT, problems)


def _check_element(pointer: str, element: dict[str, Any], problems: list[str]) -> None:
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > MAX_ID_LENGTH):
        problems.append(
            f"[ERROR] must be at most {MAX_ID_LENGTH} characters [json-pointer:{pointer}/action_id]"
        )
    if element["type"] == "button":
        _check_text(pointer + "/text", element.get("text"), MAX_BUTTON_TEXT, problems, plain_only=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            problems.append(
                f"[ERROR] must be at most {MAX_BUTTON_VALUE} characters [json-pointer:{pointer}/value]"
            )
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"[ERROR] must be primary or danger [json-pointer:{pointer}/style]")


def _check_text(pointer: str, obj: Any, limit: int, problems: list[str], plain_only: bool = False) -> None:
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed or not isinstance(obj.get("text"), str):
        problems.append(
            f"[ERROR] must be a text object of type {' or '.join(allowed)} [json-pointer:{pointer}]"
        )
        return
    if not 1 <= len(obj["text"]) <= limit:
        problems.append(f"[ERROR] must be between 1 and {limit} characters [json-pointer:{pointer}/text]")


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """The message as Slack echoes it in a response (no channel key, a deep copy)."""
    copy = json.loads(json.dumps(message))
    copy.pop("channel", None)
    return copy


def _ts_key(ts: str) -> Decimal:
    try:
        return Decimal(ts)
    except InvalidOperation:
        return Decimal(0)


def _random_id(length: int) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# ---------------------------------------------------------------------- signed requests to the app


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Slack-Signature`` v0: "v0=" + hex HMAC-SHA256(secret, b"v0:<timestamp>:" + raw body)."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: bytes,
    content_type: str,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, str]:
    """Headers Slack sends with ``body``: Content-Type, X-Slack-Request-Timestamp (Unix seconds,
    now by default) and X-Slack-Signature; with ``retry_num``, X-Slack-Retry-Num and
    X-Slack-Retry-Reason (``http_timeout`` unless given), as on Slack's re-sends."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(secret, ts, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    elif retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def json_body(payload: dict[str, Any]) -> bytes:
    """An Events API body as Slack sends it (UTF-8 JSON)."""
    return json.dumps(payload).encode("utf-8")


def new_event_id() -> str:
    return "Ev" + _random_id(10)


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = "A0001",
    bot_user_id: str = "UBOT000001",
    event_time: int | None = None,
) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event`` (fields as in Slack's and
    Bolt's fixtures), with a fresh ``event_id`` (``Ev…``) and ``event_time``. ``event_ts`` is
    filled from ``ts`` when missing. Serialise with ``json_body()`` (or json.dumps)."""
    event = dict(event)
    if "event_ts" not in event and "ts" in event:
        event["event_ts"] = event["ts"]
    event.setdefault("team", team_id)
    return {
        "token": "verification_token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def message_event(
    text: str,
    *,
    user: str,
    channel: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str | None = None,
) -> dict[str, Any]:
    """A user's ``message`` event (a DM when ``channel`` starts with D: ``channel_type`` "im")."""
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts or f"{time.time():.6f}",
        "channel": channel,
        "channel_type": channel_type or ("im" if channel.startswith("D") else "channel"),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(
    text: str, *, user: str, channel: str, ts: str | None = None, thread_ts: str | None = None
) -> dict[str, Any]:
    """An ``app_mention`` event (``text`` should start with ``<@BOT_USER_ID>``)."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts or f"{time.time():.6f}",
        "channel": channel,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def new_trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def slash_command_body(
    text: str,
    *,
    command: str = "/zaitaku",
    user_id: str = "U0CM00001",
    channel_id: str = "C0CM00001",
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = "T0001",
    team_domain: str = "zaitaku-test",
    channel_name: str | None = None,
    user_name: str | None = None,
    api_app_id: str = "A0001",
) -> bytes:
    """A slash-command body, form-encoded like Slack (the field order of Slack's own example:
    token, team_id, team_domain, channel_id, channel_name, user_id, user_name, command, text,
    response_url, trigger_id; then api_app_id and is_enterprise_install). Spaces become ``+``
    and non-ASCII text is UTF-8 percent-encoded, as Slack sends it."""
    fields = [
        ("token", "verification_token"),
        ("team_id", team_id),
        ("team_domain", team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel_name or ("directmessage" if channel_id.startswith("D") else "general")),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        (
            "response_url",
            response_url or f"https://hooks.slack.com/commands/{team_id}/1/{secrets.token_hex(12)}",
        ),
        ("trigger_id", trigger_id or new_trigger_id()),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
    ]
    return urlencode(fields).encode("ascii")


def interactive_body(payload: dict[str, Any]) -> bytes:
    """An interactivity body: ``payload=`` + the URL-encoded JSON payload."""
    return ("payload=" + quote(json.dumps(payload))).encode("ascii")


def _user(user_id: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _team(team_id: str, team_domain: str) -> dict[str, Any]:
    return {"id": team_id, "domain": team_domain}


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str,
    message_ts: str,
    trigger_id: str | None = None,
    block_id: str = "b",
    response_url: str | None = None,
    message: dict[str, Any] | None = None,
    button_text: str = "Button",
    team_id: str = "T0001",
    team_domain: str = "zaitaku-test",
    api_app_id: str = "A0001",
    thread_ts: str | None = None,
) -> bytes:
    """A ``block_actions`` body for a button click on a message (fields as in Bolt's fixture).
    ``message`` (e.g. ``fake.messages[(channel, ts)]``) is included as Slack includes it."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "verification_token",
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(team_id, team_domain),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "directmessage" if channel_id.startswith("D") else "general"},
        "message": (
            {k: v for k, v in message.items() if k != "channel"}
            if message is not None
            else {"type": "message", "ts": message_ts, "text": "", "user": "UBOT000001"}
        ),
        "state": {"values": {}},
        "response_url": response_url
        or f"https://hooks.slack.com/actions/{team_id}/1/{secrets.token_hex(12)}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return interactive_body(payload)


def view_submission_body(
    callback_id: str,
    values: dict[str, Any],
    *,
    user_id: str,
    private_metadata: str = "",
    view_id: str | None = None,
    trigger_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    title: str = "在宅相談",
    team_id: str = "T0001",
    team_domain: str = "zaitaku-test",
    api_app_id: str = "A0001",
) -> bytes:
    """A ``view_submission`` body (fields as in Bolt's fixture). ``values`` is the view's
    ``state.values``: ``{block_id: {action_id: {"type": ..., "value": ...}}}``; a plain string
    leaf is taken as a ``plain_text_input`` value."""
    state: dict[str, dict[str, Any]] = {}
    for block_id, actions in values.items():
        state[block_id] = {
            action_id: {"type": "plain_text_input", "value": leaf} if isinstance(leaf, str) else leaf
            for action_id, leaf in actions.items()
        }
    view_id = view_id or "V" + _random_id(10)
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": _team(team_id, team_domain),
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "verification_token",
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "キャンセル"},
            "submit": {"type": "plain_text", "text": "送信"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "B0BOT00001",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return interactive_body(payload)
