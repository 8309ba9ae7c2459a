"""Draining a backlog: 10,000 pending replies, against the fake platform's own capacity in the same run.

1. The floor: the fake LINE platform (its own process, as in bench/webhook.py) taking pushes as fast
   as the same sender reaches it with the outbox's parallelism (50 calls in flight).
2. The drain: 10,000 pending push rows for 2,000 residents (5 each, which must go out in order)
   sent by the outbox worker until none is pending. Bar: ≥ 0.5 of the floor.
3. Ingest while draining: one webhook event stored every 10 ms (`store_events`, what the webhook
   does before its 200) in a thread beside the drain; its p99.
4. The 119 instruction behind the backlog: one urgent row enqueued a second into the drain, when
   thousands are still pending; the seconds until it is sent, beside the drain's total.

Usage: .venv/bin/python bench/backlog.py [--rows 10000] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.line import LineChannel
from bench.webhook import FakeLine, pct, scratch_database
from db.migrate import upgrade
from db.models import OutboxMessage
from db.session import Database
from zaitaku_desk.outbox import Outbox, Outgoing, enqueue
from zaitaku_desk.pipeline import store_events

PARALLEL = 50  # rows the outbox sends at once (Outbox.deliver_due's limit)
RESIDENTS = 2000


class Row:
    """Enough of an outbox row for LineChannel.send (a push: no reply token)."""

    def __init__(self, target: str) -> None:
        self.target, self.payload = target, {"messages": [{"type": "text", "text": "床（サンプル）"}]}
        self.reply_token = self.reply_token_expires_at = self.last_error = None
        self.retry_key, self.attempts, self.outcome_unknown = str(uuid.uuid4()), 0, False


async def floor(channel: LineChannel, seconds: float) -> float:
    """Pushes per second straight to the fake, PARALLEL in flight."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def sender(i: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            result = await channel.send(Row(f"Ufloor{i}"))  # type: ignore[arg-type]
            assert result.outcome == "sent", result
            done += 1
    start = time.perf_counter()
    await asyncio.gather(*(sender(i) for i in range(PARALLEL)))
    return done / (time.perf_counter() - start)


def fill(db: Database, rows: int) -> None:
    with db.session() as session:
        enqueue(session, {}, [Outgoing("line", f"Ubacklog{i % RESIDENTS:05d}", None, "bot",
                                       payload={"messages": [{"type": "text", "text": f"返信 {i}（サンプル）"}]})
                              for i in range(rows)])


def pending(db: Database) -> int:
    with db.session() as session:
        return session.query(OutboxMessage).filter(OutboxMessage.status == "pending").count()


def ingest_beside(db: Database, stop: threading.Event) -> list[float]:
    latencies = []
    next_at = time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        store_events(db, "line", [(str(uuid.uuid4()), {"type": "message", "bench": True})])
        latencies.append(time.perf_counter() - started)
        next_at += 0.01
        time.sleep(max(0.0, next_at - time.perf_counter()))
    return latencies


URGENT = "今すぐ119番に電話してください。（サンプル）"


async def drain(db: Database, channel: LineChannel) -> tuple[float, float, int]:
    """(seconds to drain, seconds the urgent row waited, rows pending when it was enqueued)."""
    outbox = Outbox(db, {"line": channel}, "bench", max_attempts=8, backoff_base=0.2, backoff_max=1.0)

    async def urgent_later() -> int:
        await asyncio.sleep(1.0)
        behind = await asyncio.to_thread(pending, db)
        with db.session() as session:
            enqueue(session, {}, [Outgoing("line", "Uurgent", None, "bot", urgent=True,
                                           payload={"messages": [{"type": "text", "text": URGENT}]})])
        return behind

    async def work() -> None:
        while await outbox.deliver_due(PARALLEL) is not None or await asyncio.to_thread(pending, db):
            await asyncio.sleep(0.01)

    start = time.perf_counter()
    behind, _ = await asyncio.gather(urgent_later(), work())
    seconds = time.perf_counter() - start
    with db.session() as session:
        row = session.query(OutboxMessage).filter(OutboxMessage.target == "Uurgent").one()
        return seconds, (row.sent_at - row.created_at).total_seconds(), behind


def run(backend: str, rows: int) -> dict[str, Any]:
    with scratch_database(backend) as url:
        db = Database(url)
        try:
            upgrade(db.engine)
            fill(db, rows)
            with FakeLine() as line:
                async def both() -> tuple[float, tuple[float, float, int]]:
                    channel = LineChannel("secret", line.access_token, line.url, timeout=5.0)
                    try:
                        fake_rate = await floor(channel, 3.0)
                        line.reset()
                        return fake_rate, await drain(db, channel)
                    finally:
                        await channel.aclose()
                stop = threading.Event()
                latencies: list[float] = []
                ingest = threading.Thread(target=lambda: latencies.extend(ingest_beside(db, stop)))
                ingest.start()
                try:
                    fake_rate, (seconds, urgent_wait, behind) = asyncio.run(both())
                finally:
                    stop.set()
                    ingest.join()
        finally:
            db.dispose()
    return {"backend": backend, "rows": rows, "fake_rate": fake_rate, "drain_rate": rows / seconds,
            "ratio": rows / seconds / fake_rate, "seconds": seconds, "urgent_wait": urgent_wait, "behind": behind,
            "ingest_p50_ms": 1000 * statistics.median(latencies), "ingest_p99_ms": 1000 * pct(latencies, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    failed = False
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        r = run(backend, args.rows)
        ok = r["ratio"] >= 0.5
        failed |= not ok
        print(f"{backend:9} {r['rows']} rows in {r['seconds']:.1f} s: {r['drain_rate']:.0f} rows/s; the fake alone "
              f"{r['fake_rate']:.0f}/s; ratio {r['ratio']:.2f} (bar ≥ 0.5) {'ok' if ok else 'BELOW'}; "
              f"ingest while draining p50 {r['ingest_p50_ms']:.1f} ms, p99 {r['ingest_p99_ms']:.1f} ms; "
              f"the 119 instruction enqueued behind {r['behind']} pending rows went out after "
              f"{r['urgent_wait']:.2f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
