"""One process's desk: database, knowledge, core, channels and the background workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from adapters.base import Channel
from adapters.line import LineChannel
from adapters.slack import SlackChannel, parse_vacancy_command
from adapters.web import WebChannel
from bot.desk import Desk
from bot.faq_match import FaqMatcher
from bot.hours import BusinessHours
from bot.route_model import model as route_model
from bot.router import Router
from db.migrate import upgrade
from db.models import utcnow
from db.session import Database
from knowledge.faq import load_synonyms
from knowledge.search import ResourceSearcher
from knowledge.store import ensure_knowledge, faq_items, update_resource_fact, update_vacancy
from zaitaku_desk import handoff
from zaitaku_desk.outbox import Outbox
from zaitaku_desk.pipeline import Acknowledgements, Pipeline, worker_id
from zaitaku_desk.settings import Settings
from zaitaku_desk.staff_relay import StaffRelay

log = logging.getLogger(__name__)
T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings, extra_channels: list[Channel] | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.hours = BusinessHours.parse(settings.business_hours, settings.closed_dates, settings.timezone,
                                         settings.observe_public_holidays)
        self.line: LineChannel | None = None
        if settings.line_enabled:
            self.line = LineChannel(settings.line_channel_secret or "", settings.line_channel_access_token or "",
                                    settings.line_api_base_url, settings.line_request_timeout_seconds)
        self.slack: SlackChannel | None = None
        if settings.slack_enabled:
            self.slack = SlackChannel(settings.slack_bot_token or "", settings.slack_api_base_url,
                                      settings.slack_staff_channel, settings.slack_emergency_mention, self.db,
                                      settings.hub_name)
        web = WebChannel() if settings.try_page_enabled else None  # the /try page is a channel too
        self.channels: dict[str, Channel] = {
            c.name: c for c in (self.line, self.slack, web, *(extra_channels or [])) if c is not None}
        self.relay = StaffRelay(self.channels, settings.hub_name)
        self.worker = worker_id()
        self.acks = Acknowledgements()  # webhook requests in flight; the inbound worker gives way to them
        self._wake_inbound = asyncio.Event()
        self._wake_outbox = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.desk: Desk
        self.pipeline: Pipeline
        self.outbox: Outbox

    def prepare(self) -> None:
        """Migrations, the bundled knowledge on a fresh database, and the core built from it."""
        upgrade(self.db.engine)
        ensure_knowledge(self.db)
        self.rebuild_desk()
        self.pipeline = Pipeline(self.db, self.desk, self.channels, self.settings.line_reply_token_ttl_seconds,
                                 staff_hook=self.relay.notify, staff_message_hook=self.relay.on_staff_message,
                                 acks=self.acks)
        self.outbox = Outbox(self.db, self.channels, self.worker, self.settings.outbox_max_attempts,
                             self.settings.outbox_backoff_base_seconds, self.settings.outbox_backoff_max_seconds)
        for name, enabled in (("LINE", self.settings.line_enabled), ("Slack", self.settings.slack_enabled)):
            log.info("channel %s: %s", name, "on" if enabled else "off (credentials not set)")

    def rebuild_desk(self) -> None:
        items = faq_items(self.db)
        router = Router(FaqMatcher(items, load_synonyms()), route_model())
        hub = {"hub_name": self.settings.hub_name, "hub_phone": self.settings.hub_phone}
        self.desk = Desk(router, items, ResourceSearcher(self.db), self.hours, hub)
        if hasattr(self, "pipeline"):
            self.pipeline.desk = self.desk

    # -- staff acts from a chat tool (sync; run in a thread) --------------------------------------
    def staff_act(self, slack_user: str, conversation_id: int, act: Callable[..., handoff.ActResult]) -> str:
        """Take / resolve / return by a Slack user; '✅ …' on success, else the reason."""
        with self.db.session() as session:
            staff = handoff.staff_by_slack(session, slack_user)
            if staff is None:
                return ("あなたのSlackアカウントはスタッフとして登録されていないため、この操作はできません。"
                        "管理者に登録を依頼してください。")
            try:
                if act is handoff.resolve:
                    result = handoff.resolve(session, conversation_id, staff, self.channels)
                else:
                    result = act(session, conversation_id, staff)
            except handoff.HandoffError as exc:
                return str(exc)
        self.wake_outbox()
        return f"✅ {result.message}"

    def update_from_slack(self, slack_user: str, text: str) -> str:
        """`空き <id> <beds>` or `更新 <id> <電話|時間|備考|受入> <value>`, by registered staff only."""
        parts = text.replace("　", " ").split(maxsplit=3)
        command = self.settings.slack_command
        with self.db.session() as session:
            staff = handoff.staff_by_slack(session, slack_user)
            if staff is None:
                return "事業所情報の更新は登録スタッフだけができます。管理者に登録を依頼してください。"
            actor = f"staff:{staff.id}"
            if parts[0] == "更新":
                if len(parts) != 4:
                    return f"書き方: `{command} 更新 <事業所ID> <電話|時間|備考|受入> <値>`"
                return update_resource_fact(session, parts[1], parts[2], parts[3], staff.id, actor)
            parsed = parse_vacancy_command(text)
            if parsed is None:
                return f"書き方: `{command} 空き <事業所ID> <空床数>`"
            return update_vacancy(session, parsed[0], parsed[1], staff.id, actor)

    # -- background work -------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._inbound_loop(), name="inbound"),
                       asyncio.create_task(self._outbox_loop(), name="outbox"),
                       asyncio.create_task(self._reminder_loop(), name="reminders")]
        self.wake()  # resume what a previous process accepted but did not finish

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

    async def _reminder_loop(self) -> None:
        handoff_after = timedelta(minutes=self.settings.handoff_reminder_minutes)
        emergency_after = timedelta(minutes=self.settings.emergency_reminder_minutes)
        interval = max(1.0, min(30.0, emergency_after.total_seconds() / 2))
        while True:
            await asyncio.sleep(interval)
            try:
                def remind() -> int:
                    with self.db.session() as session:
                        return self.relay.remind_unclaimed(session, utcnow(), handoff_after, emergency_after)
                if await asyncio.to_thread(remind):
                    self.wake_outbox()
            except Exception:
                log.exception("reminder pass failed")

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
