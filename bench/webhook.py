"""Webhook latency at fixed rates, beside floors taken in the same run (throughput: bench/ingest.py, under wrk).

1. Ingest latency: p99 at a steady 200 requests/s (SPEC: ≤ 50 ms); then how long the server takes to
   answer the 1,000 events so accepted.
2. Inbound to reply: one resident message every 10 ms (100 messages/s) for a few seconds; time from
   posting the webhook to the reply arriving at the fake LINE platform (SPEC: p99 ≤ 250 ms), beside
   the floor of one direct call to the fake platform.

Runs the real server process on SQLite and on PostgreSQL (127.0.0.1:5432/test, a scratch schema).
The fake LINE platform runs in a process of its own, as the real one would: answering the desk's
replies (a Python thread per call) must not slow down the load generator it is measured against.
Usage: .venv/bin/python bench/webhook.py [--seconds 5] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import DeskServer, line_body, line_signature, new_user

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


class FakeLine:
    """tests.fakes.line_platform.FakeLinePlatform in a child process, driven over a pipe."""

    def __enter__(self) -> FakeLine:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve_fake_line, args=(child,), daemon=True)
        self._process.start()
        self.url, self.access_token = self._pipe.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=10)

    def _ask(self, command: str) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    def reset(self) -> None:
        self._ask("reset")

    def replies(self) -> list[tuple[str | None, float]]:
        """(reply token, time.monotonic() when the platform accepted it) for each delivery so far."""
        return self._ask("replies")  # type: ignore[no-any-return]


def _serve_fake_line(pipe: Any) -> None:
    from tests.fakes.line_platform import FakeLinePlatform

    with FakeLinePlatform() as line:
        pipe.send((line.url, line.access_token))
        while (command := pipe.recv()) != "stop":
            if command == "reset":
                line.reset()
                pipe.send(None)
            elif command == "replies":
                pipe.send([(d.reply_token, d.at) for d in line.delivered])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def open_loop(url: str, make: callable, rate: float, seconds: float) -> list[float]:
    """Latencies (s) of requests started at a steady `rate` per second."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=200)) as client:
        async def one() -> None:
            method, path, content, headers = make()
            started = time.perf_counter()
            response = await client.request(method, url + path, content=content, headers=headers)
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies


def signed_event(text: str = "こんにちは") -> tuple[str, str, bytes, dict[str, str]]:
    raw = json.dumps(line_body("message-text", user=new_user(), text=text), ensure_ascii=False).encode()
    return "POST", "/webhooks/line", raw, {"Content-Type": "application/json", "X-Line-Signature": line_signature(raw)}


async def reply_latency(desk: DeskServer, line: FakeLine, rate: float, seconds: float) -> list[float]:
    posted: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            body = line_body("message-text", user=new_user(), text="訪問看護ってどうやって頼むの？")
            raw = json.dumps(body, ensure_ascii=False).encode()
            posted[body["events"][0]["replyToken"]] = time.monotonic()
            tasks.append(asyncio.create_task(client.post(
                desk.url + "/webhooks/line", content=raw,
                headers={"Content-Type": "application/json", "X-Line-Signature": line_signature(raw)})))
        await asyncio.gather(*tasks)
    deadline = time.monotonic() + 30
    while len(replies := line.replies()) < len(posted) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return [at - posted[token] for token, at in replies if token in posted]


async def line_floor(line: FakeLine, n: int = 200) -> list[float]:
    times = []
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(n):
            started = time.perf_counter()
            await client.post(line.url + "/v2/bot/message/push", headers={"Authorization": f"Bearer {line.access_token}"},
                              json={"to": "Ufloor", "messages": [{"type": "text", "text": "x"}]})
            times.append(time.perf_counter() - started)
    line.reset()
    return times


def drain(url: str, timeout: float = 120.0) -> float:
    """Wait until every stored event is processed and every reply sent; returns the seconds it took."""
    from sqlalchemy import func, select

    from db.models import InboundEvent, OutboxMessage
    from db.session import Database

    db = Database(url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            with db.session() as session:
                pending = session.scalar(select(func.count()).select_from(InboundEvent)
                                         .where(InboundEvent.processed_at.is_(None)))
                unsent = session.scalar(select(func.count()).select_from(OutboxMessage)
                                        .where(OutboxMessage.status == "pending"))
            if not pending and not unsent:
                break
            time.sleep(0.2)
    finally:
        db.dispose()
    return time.monotonic() - started


@contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    """A fresh database's URL: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        return
    schema = f"zd_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(backend: str, seconds: float) -> None:
    with scratch_database(backend) as url, FakeLine() as line:
        desk = DeskServer(url, line.url).start()
        try:
            latencies = asyncio.run(open_loop(desk.url, signed_event, 200, seconds))
            backlog = int(200 * seconds)
            drained = drain(url)
            line.reset()
            floor = asyncio.run(line_floor(line))
            replies = asyncio.run(reply_latency(desk, line, 100, seconds))
        finally:
            desk.stop()
    print(f"\n== {backend} ==")
    print(f"processing: {backlog} accepted events answered in {drained:.1f} s after the last was accepted")
    print(f"ingest latency at 200 req/s: p50 {pct(latencies, .5) * 1000:.1f} ms, p99 {pct(latencies, .99) * 1000:.1f} ms "
          f"(bar p99 ≤ 50 ms), {len(latencies)} requests")
    print(f"inbound→reply at fake LINE, 100 msg/s: p50 {pct(replies, .5) * 1000:.1f} ms, p99 {pct(replies, .99) * 1000:.1f} ms "
          f"(bar p99 ≤ 250 ms), {len(replies)} replies; floor (one call to the fake) p50 "
          f"{statistics.median(floor) * 1000:.2f} ms → ratio p99/floor {pct(replies, .99) / statistics.median(floor):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        run(backend, args.seconds)


if __name__ == "__main__":
    main()
