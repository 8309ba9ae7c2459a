"""One process's desk: database, knowledge, core, channels and the background workers."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from adapters.base import Channel
from adapters.line import LineChannel
from adapters.slack import SlackChannel
from adapters.web import WebChannel
from bot.desk import Desk
from bot.faq_match import FaqMatcher
from bot.hours import BusinessHours
from bot.messages import Reply
from bot.route_model import model as route_model
from bot.router import Router
from db.migrate import startup_lock, upgrade
from db.models import KnowledgeVersion, utcnow
from db.session import Database
from knowledge.faq import load_synonyms
from knowledge.hub import load_hub_facts
from knowledge.search import ResourceSearcher
from knowledge.store import ensure_knowledge, faq_items
from zaitaku_desk import duty, handoff, retention, staff_relay
from zaitaku_desk.duty import DutyCalendar
from zaitaku_desk.outbox import Outbox
from zaitaku_desk.pipeline import Acknowledgements, GroupCommit, Pipeline, worker_id
from zaitaku_desk.settings import Settings
from zaitaku_desk.staff_commands import StaffCommands

# How often a process looks whether another changed the knowledge, for what it answers outside the
# pipeline (slash commands, FAQ picks); the pipeline looks before every batch.
KNOWLEDGE_POLL_SECONDS = 0.5
RETENTION_EVERY = timedelta(hours=1)  # how often the timers remove what is past RETENTION_DAYS

log = logging.getLogger(__name__)
T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings, extra_channels: list[Channel] | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.hours = BusinessHours.parse(settings.business_hours, settings.closed_dates, settings.timezone,
                                         settings.observe_public_holidays)
        self.duty = DutyCalendar(self.hours, settings.duty_day_starts)
        self.hub_facts = load_hub_facts(settings.hub_facts_file)
        self.line: LineChannel | None = None
        if settings.line_enabled:
            self.line = LineChannel(settings.line_channel_secret or "", settings.line_channel_access_token or "",
                                    settings.line_api_base_url, settings.line_request_timeout_seconds)
        self.slack: SlackChannel | None = None
        if settings.slack_enabled:
            self.slack = SlackChannel(settings.slack_bot_token or "", settings.slack_api_base_url,
                                      settings.slack_staff_channel, settings.slack_emergency_mention,
                                      handoff.Directory(self.db))
        web = WebChannel() if settings.try_page_enabled else None  # the /try page is a channel too
        self.channels: dict[str, Channel] = {
            c.name: c for c in (self.line, self.slack, web, *(extra_channels or [])) if c is not None}
        self.staff = StaffCommands(self.channels, settings.hub_name, settings.slack_command)
        self.knowledge_version = -1
        self._rebuilding = threading.Lock()
        self.worker = worker_id()
        self.acks = Acknowledgements()  # webhook requests in flight; the inbound worker gives way to them
        self.ingest = GroupCommit(self.db)
        self._wake_inbound = asyncio.Event()
        self._wake_outbox = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.desk: Desk
        self.pipeline: Pipeline
        self.outbox: Outbox

    def prepare(self) -> None:
        """Migrations, the bundled knowledge on a fresh database, and the core built from it."""
        with startup_lock(self.db.engine):
            upgrade(self.db.engine)
            ensure_knowledge(self.db)
        self.rebuild_desk()
        self.pipeline = Pipeline(self.db, self.desk, self.channels, self.settings.line_reply_token_ttl_seconds,
                                 staff=self.staff, acks=self.acks, refresh=self.refresh_knowledge)
        self.outbox = Outbox(self.db, self.channels, self.worker, self.settings.outbox_max_attempts,
                             self.settings.outbox_backoff_base_seconds, self.settings.outbox_backoff_max_seconds,
                             self.settings.outbox_claim_lease_seconds)
        for name, enabled in (("LINE", self.settings.line_enabled), ("Slack", self.settings.slack_enabled)):
            log.info("channel %s: %s", name, "on" if enabled else "off (credentials not set)")
        # What was built so far (the tokenizer's dictionary, the model, the knowledge) lives as long as the
        # process: kept out of the collector's full passes, which otherwise walk it all and stall every
        # request for a quarter of a second every few seconds under load.
        gc.collect()
        gc.freeze()

    def rebuild_desk(self) -> None:
        """The core built from the knowledge as it is now in the database."""
        version = self._stored_knowledge_version()
        items = faq_items(self.db)
        router = Router(FaqMatcher(items, load_synonyms()), route_model())
        hub = {"hub_name": self.settings.hub_name, "hub_phone": self.settings.hub_phone, **self.hub_facts.values}
        self.desk = Desk(router, items, ResourceSearcher(self.db), self.hours, hub, on_duty=self.first_on_duty)
        self.knowledge_version = version  # read before the items: a change meanwhile is caught next time
        if hasattr(self, "pipeline"):
            self.pipeline.desk = self.desk

    def refresh_knowledge(self) -> bool:
        """Rebuild when any process changed the knowledge since this one last built; True if it did."""
        version = self._stored_knowledge_version()
        if version == self.knowledge_version:
            return False
        with self._rebuilding:  # the pipeline's thread and the knowledge loop may both notice
            if version != self.knowledge_version:
                self.rebuild_desk()
        return True

    def _stored_knowledge_version(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(KnowledgeVersion.version).where(KnowledgeVersion.id == 1)) or 0

    def first_on_duty(self, now: datetime) -> str | None:
        """What the first person on duty is (「看護師」), outside hours; None: nobody is."""
        with self.db.session() as session:
            return duty.first_on_duty(session, self.duty, now, self.channels)

    # -- what channels' request sides ask (adapters.base.DeskIngress) ----------------------------
    async def store(self, channel: str, events: list[tuple[str, dict[str, Any]]]) -> int:
        """Store a webhook's events (committed together with other webhooks' in flight); how many were new."""
        new = await self.ingest.store(channel, events)
        if new:
            self.wake()
        return new

    async def ask(self, text: str, offset: int = 0) -> list[Reply]:
        return await self.run_db(self.desk.answer_professional, text, offset)

    async def faq(self, faq_id: str) -> list[Reply]:
        return await self.run_db(self.desk.answer_faq, faq_id)

    async def staff_command(self, staff_external_id: str, text: str) -> str:
        def update() -> str:
            with self.db.session() as session:
                return self.staff.update_resource(session, staff_external_id, text)
        return await self.run_db(update)

    # -- background work -------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._knowledge_loop(), name="knowledge")]
        if self.settings.background_work:
            self._tasks += [asyncio.create_task(self._inbound_loop(), name="inbound"),
                            asyncio.create_task(self._outbox_loop(), name="outbox"),
                            asyncio.create_task(self._timer_loop(), name="timers")]
        self.wake()  # resume what a previous process accepted but did not finish

    async def work(self) -> None:
        """A worker process: what `serve` does in the background, without HTTP, until cancelled."""
        await self.run_db(self.prepare)
        await self.start()
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.stop()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self.channels.values():
            await channel.aclose()
        self.db.dispose()

    def wake(self) -> None:
        self._wake_inbound.set()

    def wake_outbox(self) -> None:
        """Safe from any thread: the outbox worker looks at once instead of at its next poll."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_outbox.set)

    async def run_db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def _inbound_loop(self) -> None:
        poll = self.settings.worker_poll_seconds
        while True:
            try:
                await asyncio.wait_for(self._wake_inbound.wait(), timeout=poll)
            except TimeoutError:
                pass
            self._wake_inbound.clear()
            try:
                while await asyncio.to_thread(self.pipeline.process_pending, 50, self.wake_outbox):
                    pass
            except Exception:
                log.exception("inbound worker pass failed; retrying")
                await asyncio.sleep(poll)

    async def _timer_loop(self) -> None:
        """Reminders of unclaimed hand-offs, and 保留 that has run out."""
        handoff_after = timedelta(minutes=self.settings.handoff_reminder_minutes)
        emergency_after = timedelta(minutes=self.settings.emergency_reminder_minutes)
        page_after = timedelta(minutes=self.settings.duty_page_after_minutes)
        escalate_after = timedelta(minutes=self.settings.duty_escalate_minutes)
        interval = max(1.0, min(5.0, emergency_after.total_seconds() / 2))

        last_sweep: datetime | None = None

        def due() -> int:
            nonlocal last_sweep
            with self.db.session() as session:
                now = utcnow()
                if self.settings.retention_days > 0 and (last_sweep is None or now - last_sweep >= RETENTION_EVERY):
                    retention.sweep(session, now, self.settings.retention_days)
                    last_sweep = now
                return (handoff.wake_due(session, now, self.channels)
                        + staff_relay.remind_unclaimed(session, self.channels, now, handoff_after, emergency_after)
                        + duty.page_due(session, self.channels, self.duty, now, page_after, escalate_after))
        while True:
            await asyncio.sleep(interval)
            try:
                if await asyncio.to_thread(due):
                    self.wake_outbox()
            except Exception:
                log.exception("timer pass failed")

    async def _knowledge_loop(self) -> None:
        while True:
            await asyncio.sleep(KNOWLEDGE_POLL_SECONDS)
            try:
                if await asyncio.to_thread(self.refresh_knowledge):
                    log.info("knowledge changed: rebuilt (version %s)", self.knowledge_version)
            except Exception:
                log.exception("knowledge refresh failed")

    async def _outbox_loop(self) -> None:
        poll = self.settings.worker_poll_seconds
        while True:
            try:
                self._wake_outbox.clear()
                due_in = await self.outbox.deliver_due()
                timeout = poll if due_in is None else min(poll, due_in)
                if timeout > 0:
                    try:
                        await asyncio.wait_for(self._wake_outbox.wait(), timeout=timeout)
                    except TimeoutError:
                        pass
            except Exception:
                log.exception("outbox worker pass failed; retrying")
                await asyncio.sleep(poll)
