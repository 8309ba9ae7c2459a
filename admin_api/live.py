"""The queue's live updates, pushed to the console as server-sent events.

One watcher per process looks at the database while at least one console listens (every
`POLL_SECONDS`): a cheap fingerprint (the newest message id and the count per status) tells whether
anything changed, wherever it was changed (this process, another `serve` worker, `zaitaku-desk
worker`). When it did, every listener gets one `queue` event: the counts, the hand-offs that arrived
(with who, triage and the first line of what they wrote) and whom the duty rota has just paged. The
browser fetches its own rows again (its filters are its own) and rings for an emergency; when the
stream breaks it polls until the stream is back (static/console.js).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select

from admin_api.routes.queue import QueueItem, queue_items, status_counts
from db.models import Message
from zaitaku_desk.runtime import Runtime

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0  # a comment line, so proxies and the browser keep the stream open
STREAM_SECONDS = 600.0  # a stream ends after this; the browser reconnects at once (EventSource)
Snapshot = tuple[Any, ...]


class QueueWatch:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None

    async def stream(self) -> AsyncIterator[str]:
        """One console's event stream: a first `queue` event with the counts, then each change."""
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=50)
        self.listeners.add(inbox)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="queue-watch")
        try:
            counts = await self.runtime.run_db(self._counts)
            yield "retry: 3000\n\n" + _event({"counts": counts, "arrived": [], "paged": []})
            loop = asyncio.get_running_loop()
            ends = loop.time() + STREAM_SECONDS
            while loop.time() < ends:
                try:
                    yield _event(await asyncio.wait_for(inbox.get(), timeout=KEEPALIVE_SECONDS))
                except TimeoutError:
                    yield ": keepalive\n\n"
        finally:
            self.listeners.discard(inbox)

    async def _watch(self) -> None:
        seen: Snapshot | None = None
        waiting: dict[int, QueueItem] = {}
        while self.listeners:
            try:
                now = await self.runtime.run_db(self._fingerprint)
                if now != seen:
                    current = await self.runtime.run_db(self._waiting)
                    if seen is not None:
                        self._publish(now, waiting, current)
                    seen, waiting = now, current
            except Exception:
                log.exception("queue watch failed; trying again")
            await asyncio.sleep(POLL_SECONDS)

    def _publish(self, fingerprint: Snapshot, before: dict[int, QueueItem], current: dict[int, QueueItem]) -> None:
        arrived = [row.model_dump(mode="json", include={"id", "urgency", "needed_role", "contact_name", "preview",
                                                        "channel_label"})
                   for conversation_id, row in current.items() if conversation_id not in before]
        paged = [{"id": conversation_id, "staff_id": row.paged_staff_id, "urgency": row.urgency}
                 for conversation_id, row in current.items() if row.paged_staff_id is not None
                 and (conversation_id not in before or before[conversation_id].paged_staff_id != row.paged_staff_id)]
        event = {"counts": dict(fingerprint[1]), "arrived": arrived, "paged": paged}
        for inbox in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck browser: it fetches its rows when it wakes
                inbox.put_nowait(event)

    def _fingerprint(self) -> Snapshot:
        with self.runtime.db.session() as session:
            newest = session.scalar(select(func.max(Message.id)))
            return newest, tuple(sorted(status_counts(session).items()))

    def _counts(self) -> dict[str, int]:
        with self.runtime.db.session() as session:
            return status_counts(session)

    def _waiting(self) -> dict[int, QueueItem]:
        """The hand-offs nobody has taken yet, by id, as the queue shows them."""
        with self.runtime.db.session() as session:
            return {row.id: row for row in queue_items(session, ["waiting"], limit=1000)}


def _event(data: dict[str, Any]) -> str:
    return "event: queue\ndata: " + json.dumps(data, ensure_ascii=False) + "\n\n"
