"""The queue's live updates, pushed to the console as server-sent events.

One watcher per process looks at the database while at least one console listens (every
`POLL_SECONDS`, and for a short while after the last one left): a few aggregates (the counts per
status; the open conversations' latest message, hand-off, page and owners; the labels) tell whether
anything staff see changed, wherever it was changed (this process, another `serve` worker,
`zaitaku-desk worker`); a resident chatting with the bot changes none of them. When it did, every listener gets one `queue` event: the counts, the hand-offs that arrived
(with who, triage and the first line of what they wrote) and whom the duty rota has just paged. The
browser fetches its own rows again (its filters are its own) and rings for an emergency; when the
stream breaks it polls until the stream is back (static/console.js).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from admin_api.routes.queue import QueueItem, queue_items, status_counts
from db.models import Conversation, ConversationLabel
from zaitaku_desk.runtime import Runtime

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
GRACE_SECONDS = 30.0  # the watcher keeps looking this long after its last listener left
FAILED_PAUSE_SECONDS = 5.0  # after a failed look (the database away), before the next
FORGET_SECONDS = 60.0  # unwatched longer than this, what waits is taken as it is, not as new
OPEN = ("waiting", "human", "snoozed")
KEEPALIVE_SECONDS = 15.0  # a comment line, so proxies and the browser keep the stream open
STREAM_SECONDS = 600.0  # a stream ends after this; the browser reconnects at once (EventSource)
Snapshot = tuple[Any, ...]


class QueueWatch:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        # What the last look saw, kept across a short gap without listeners (a browser reconnecting
        # after STREAM_SECONDS) so a hand-off that arrived meanwhile is still announced.
        self._seen: Snapshot | None = None
        self._waiting: dict[int, QueueItem] = {}
        self._looked = 0.0

    async def stream(self, allowed: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
        """One console's event stream: a first `queue` event with the counts, then each change; it ends
        when `allowed` says the login is over (checked at each keepalive) or after STREAM_SECONDS."""
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=50)
        self.listeners.add(inbox)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="queue-watch")
        try:
            counts = await self.runtime.run_db(self._counts)
            yield "retry: 3000\n\n" + _event({"counts": counts, "arrived": [], "paged": []})
            loop = asyncio.get_running_loop()
            ends = checked = loop.time()
            ends += STREAM_SECONDS
            while loop.time() < ends:
                try:
                    yield _event(await asyncio.wait_for(inbox.get(), timeout=KEEPALIVE_SECONDS))
                except TimeoutError:
                    yield ": keepalive\n\n"
                if loop.time() - checked >= KEEPALIVE_SECONDS:  # busy or quiet, the login is looked at again
                    if not await allowed():
                        return
                    checked = loop.time()
        finally:
            self.listeners.discard(inbox)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._looked > FORGET_SECONDS:
            self._seen, self._waiting = None, {}  # too long unwatched: what waits now is the baseline
        last_heard = loop.time()
        while self.listeners or loop.time() - last_heard < GRACE_SECONDS:
            pause = POLL_SECONDS
            # With nobody listening the last look stays the baseline: a browser that reconnects within
            # the grace hears what arrived meanwhile.
            if self.listeners:
                last_heard = loop.time()
                try:
                    now = await self.runtime.run_db(self._fingerprint)
                    if now != self._seen:
                        current = await self.runtime.run_db(self._waiting_now)
                        if self._seen is not None:
                            self._publish(now, self._waiting, current)
                        self._seen, self._waiting = now, current
                    self._looked = loop.time()
                except Exception:
                    log.exception("queue watch failed; trying again")
                    pause = FAILED_PAUSE_SECONDS
            await asyncio.sleep(pause)

    def _publish(self, fingerprint: Snapshot, before: dict[int, QueueItem], current: dict[int, QueueItem]) -> None:
        # New: not there before, or there and now an emergency (raised in a conversation already waiting).
        arrived = [row.model_dump(mode="json", include={"id", "urgency", "needed_role", "contact_name", "preview",
                                                        "channel_label"})
                   for conversation_id, row in current.items() if conversation_id not in before
                   or (row.urgency == "emergency" and before[conversation_id].urgency != "emergency")]
        paged = [{"id": conversation_id, "staff_id": row.paged_staff_id, "urgency": row.urgency}
                 for conversation_id, row in current.items() if row.paged_staff_id is not None
                 and (conversation_id not in before or before[conversation_id].paged_staff_id != row.paged_staff_id)]
        event = {"counts": dict(fingerprint[0]), "arrived": arrived, "paged": paged}
        for inbox in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck browser: it fetches its rows when it wakes
                inbox.put_nowait(event)

    def _fingerprint(self) -> Snapshot:
        """What the queue's pages show, in a few aggregates: the counts per status, and over the open
        conversations their latest message, hand-off, page and owners; and the labels. A resident
        chatting with the bot moves none of these."""
        c = Conversation
        with self.runtime.db.session() as session:
            open_ = session.execute(select(func.max(c.last_message_at), func.max(c.handed_off_at),
                                           func.max(c.paged_at), func.sum(func.coalesce(c.assignee_id, 0)))
                                    .where(c.status.in_(OPEN))).one()
            labels = session.execute(select(func.count(), func.max(ConversationLabel.added_at))
                                     .select_from(ConversationLabel)).one()
            return tuple(sorted(status_counts(session).items())), tuple(open_), tuple(labels)

    def _counts(self) -> dict[str, int]:
        with self.runtime.db.session() as session:
            return status_counts(session)

    def _waiting_now(self) -> dict[int, QueueItem]:
        """The conversations that need someone, by id, as the queue shows them: those waiting, and those
        someone owns in which an emergency was raised that the owner has not answered yet."""
        with self.runtime.db.session() as session:
            raised = set(session.scalars(select(Conversation.id).where(Conversation.status == "human",
                                                                       Conversation.page_since.is_not(None))))
            rows = queue_items(session, ["waiting"], limit=1000)
            if raised:
                rows += [row for row in queue_items(session, ["human"], limit=1000) if row.id in raised]
        return {row.id: row for row in rows}


def _event(data: dict[str, Any]) -> str:
    return "event: queue\ndata: " + json.dumps(data, ensure_ascii=False) + "\n\n"
