"""Prometheus metrics at /metrics: what this process did (counters, histograms) and what the database
holds for everyone (the backlog, the queue), read at each scrape. No text, no ids: counts and ages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from db.models import Conversation, InboundEvent, OutboxMessage, utcnow
from db.session import Database

REGISTRY = CollectorRegistry()
WEBHOOKS = Counter("zaitaku_webhook_requests", "Webhook requests by channel and answer", ["channel", "outcome"],
                   registry=REGISTRY)
ROUTED = Counter("zaitaku_routed_messages", "Inbound messages by the route the core chose", ["channel", "route"],
                 registry=REGISTRY)
SENT = Counter("zaitaku_outbox_sent", "Outbox rows sent, by channel and how", ["channel", "via"], registry=REGISTRY)
FAILED = Counter("zaitaku_outbox_failed", "Outbox rows given up on", ["channel"], registry=REGISTRY)
WAIT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
INBOUND_WAIT = Histogram("zaitaku_inbound_wait_seconds", "From a webhook's acknowledgement to its replies being "
                         "written (queued in the outbox)", buckets=WAIT_BUCKETS, registry=REGISTRY)
OUTBOX_WAIT = Histogram("zaitaku_outbox_wait_seconds", "From a reply being queued to the platform taking it",
                        ["channel"], buckets=WAIT_BUCKETS, registry=REGISTRY)


def seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


class DatabaseCollector(Collector):
    """The backlog and the queue as the database holds them for every process, at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        with self.db.session() as session:
            pending_events = session.execute(select(InboundEvent.channel, func.count())
                                             .where(InboundEvent.processed_at.is_(None))
                                             .group_by(InboundEvent.channel)).all()
            outbox = session.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count(),
                                            func.min(OutboxMessage.created_at))
                                     .where(OutboxMessage.status.in_(("pending", "failed")))
                                     .group_by(OutboxMessage.channel, OutboxMessage.status)).all()
            queue = session.execute(select(Conversation.status, Conversation.urgency, func.count(),
                                           func.min(Conversation.handed_off_at))
                                    .where(Conversation.status.in_(("waiting", "human", "snoozed")))
                                    .group_by(Conversation.status, Conversation.urgency)).all()
        events = GaugeMetricFamily("zaitaku_inbound_pending", "Stored events not processed yet", labels=["channel"])
        for channel, count in pending_events:
            events.add_metric([channel], count)
        rows = GaugeMetricFamily("zaitaku_outbox_rows", "Outbox rows pending or failed", labels=["channel", "status"])
        oldest = GaugeMetricFamily("zaitaku_outbox_oldest_pending_seconds", "Age of the oldest pending row",
                                   labels=["channel"])
        for channel, status, count, first in outbox:
            rows.add_metric([channel, status], count)
            if status == "pending":
                oldest.add_metric([channel], seconds_since(first, now))
        waiting = GaugeMetricFamily("zaitaku_queue_conversations", "Conversations staff have in hand",
                                    labels=["status", "urgency"])
        emergency = GaugeMetricFamily("zaitaku_oldest_waiting_emergency_seconds",
                                      "How long the longest-waiting unclaimed emergency has waited (0: none)")
        longest = 0.0
        for status, urgency, count, first in queue:
            waiting.add_metric([status, urgency], count)
            if status == "waiting" and urgency == "emergency":
                longest = seconds_since(first, now)
        emergency.add_metric([], longest)
        yield from (events, rows, oldest, waiting, emergency)
