"""The staff console with a queue of 500 open conversations, against floors measured in the same run.

1. The generator's reach: wrk (Debian `wrk`) against a trivial server must be at least twice the desk's
   bare `GET /healthz` rate, or the figures would describe wrk, not the desk.
2. Page load: the console's queue page (`GET /admin/`: 400 waiting, its first 100 rows with their
   previews) for one staff member at a time (one connection), and with its rows fragment (what each
   browser fetches on a live update) under the same wrk as the bare endpoint: p50 / p99 and the rate
   as a share of the bare endpoint's.
3. Live delivery: one console listening on `/admin/queue/events` (server-sent events) while hand-offs
   arrive as signed LINE webhooks one at a time: from the webhook's POST to the event naming the new
   conversation (p50 / p99), beside the bare endpoint's own round trip from the same client.

The conversations (fictional, marked サンプル) are written straight to the database; the hand-offs go
through the desk as any resident's would.

Usage: .venv/bin/python bench/console_queue.py [--seconds 10] [--backend sqlite|postgres|both] [--handoffs 40]
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest import CONNECTIONS, trivial_server, wrk  # noqa: E402
from bench.webhook import FakeLine, pct, scratch_database  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Contact, Conversation, Message, utcnow  # noqa: E402
from db.session import Database  # noqa: E402
from tests.support import DeskServer, line_body, line_signature, new_user  # noqa: E402
from zaitaku_desk.staff import create_staff  # noqa: E402

OPEN, WAITING = 500, 400
COOKIE_LUA = 'wrk.headers["Cookie"] = "%s"\n'


def seed(url: str) -> None:
    """500 open conversations (400 waiting, 100 being handled), five messages each."""
    db = Database(url)
    upgrade(db.engine)
    now = utcnow()
    with db.session() as session:
        for n in range(OPEN):
            contact = Contact(channel="line", external_id=f"Ubench{n:027d}", display_name=f"サンプル 利用者{n}")
            session.add(contact)
            session.flush()
            conversation = Conversation(contact_id=contact.id, channel="line", reply_target=contact.external_id,
                                        status="waiting" if n < WAITING else "human", needed_role="nurse",
                                        urgency="emergency" if n % 50 == 0 else "normal",
                                        handed_off_at=now - timedelta(minutes=n), last_message_at=now)
            session.add(conversation)
            session.flush()
            for m in range(5):
                session.add(Message(conversation_id=conversation.id, direction="in" if m % 2 == 0 else "out",
                                    sender_kind="contact" if m % 2 == 0 else "bot",
                                    text=f"（サンプル）母の訪問看護について相談したいです。{m}回目のメッセージです。"))
    db.dispose()


def login(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10.0)
    page = client.get("/admin/login").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/admin/login", data={"csrf": csrf, "token": token}).status_code == 303
    return client


def live_delivery(base: str, client: httpx.Client, handoffs: int) -> tuple[list[float], list[float]]:
    """(POST → event naming the new conversation, the bare endpoint's round trip), in seconds."""
    arrived: queue.Queue[tuple[float, str]] = queue.Queue()

    def listen() -> None:
        try:
            with client.stream("GET", "/admin/queue/events", timeout=httpx.Timeout(10.0, read=120.0)) as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        for c in json.loads(line[6:])["arrived"]:
                            arrived.put((time.perf_counter(), c["preview"] or ""))
        except (httpx.HTTPError, RuntimeError):
            pass
    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)  # the stream is open and its watcher has its first look
    delivery, bare = [], []
    with httpx.Client(base_url=base, timeout=10.0) as poster:
        for n in range(handoffs):
            started = time.perf_counter()
            poster.get("/healthz")
            bare.append(time.perf_counter() - started)
            tag = f"人と話したい（サンプル{n}）"
            raw = json.dumps(line_body("message-text", user=new_user(), text=tag), ensure_ascii=False).encode()
            started = time.perf_counter()
            poster.post("/webhooks/line", content=raw,
                        headers={"Content-Type": "application/json", "X-Line-Signature": line_signature(raw)})
            deadline = started + 15
            try:
                while True:
                    at, preview = arrived.get(timeout=max(0.0, deadline - time.perf_counter()))
                    if preview == tag:
                        delivery.append(at - started)
                        break
            except queue.Empty:
                pass  # not seen in 15 s: counted as missing below
            time.sleep(0.2)
    return delivery, bare


def run(backend: str, seconds: float, handoffs: int, reach: float) -> bool:
    with scratch_database(backend) as url, FakeLine() as line:
        seed(url)
        _, token = create_staff(Database(url), "ベンチ 看護", "nurse")
        server = DeskServer(url, line.url).start()
        try:
            client = login(server.url, token)
            script = Path(tempfile.mkdtemp()) / "cookie.lua"
            script.write_text(COOKIE_LUA % "; ".join(f"{k}={v}" for k, v in client.cookies.items()), encoding="utf-8")
            rows = client.get("/admin/").text.count('" data-id="')
            floor = wrk(f"{server.url}/healthz", seconds)
            alone = wrk(f"{server.url}/admin/", seconds, script, connections=1)
            bare_alone = wrk(f"{server.url}/healthz", seconds, connections=1)
            page = wrk(f"{server.url}/admin/", seconds, script)
            fragment = wrk(f"{server.url}/admin/queue/rows", seconds, script)
            delivery, bare = live_delivery(server.url, client, handoffs)
            client.close()
        finally:
            server.stop()
    outruns = reach >= 2 * floor["rate"]
    print(f"{backend:9} bare /healthz {floor['rate']:,.0f} req/s, p99 {floor['p99']:.1f} ms (generator reach "
          f"{reach / floor['rate']:.1f}× it{'' if outruns else ', BELOW 2×'})")
    print(f"{backend:9} queue page /admin/ for one staff member at a time ({rows} rows of {OPEN} open): "
          f"p50 {alone['p50']:.1f} ms, p99 {alone['p99']:.1f} ms (bare /healthz alone p99 {bare_alone['p99']:.1f} ms, "
          f"{alone['p99'] / bare_alone['p99']:.0f}×)")
    for name, r in (("queue page /admin/", page), ("rows fragment", fragment)):
        assert r["bad"] == 0 and r["errors"] == 0, r
        print(f"{backend:9} {name} under {CONNECTIONS} connections: {r['rate']:,.0f} req/s "
              f"({r['rate'] / floor['rate']:.2f} of bare), p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms "
              f"(bare p99 {floor['p99']:.1f} ms, {r['p99'] / floor['p99']:.0f}×)")
    print(f"{backend:9} live hand-off over SSE, webhook POST → event ({len(delivery)}/{handoffs} seen): "
          f"p50 {1000 * pct(delivery, 0.5):.0f} ms, p99 {1000 * pct(delivery, 0.99):.0f} ms; "
          f"bare /healthz round trip p50 {1000 * pct(bare, 0.5):.1f} ms")
    return outruns and len(delivery) == handoffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--handoffs", type=int, default=40)
    args = parser.parse_args()
    with trivial_server() as url:
        reach = wrk(url, 5)["rate"]
    print(f"wrk (1 thread, {CONNECTIONS} connections) against a trivial server: {reach:,.0f} req/s")
    ok = True
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        ok &= run(backend, args.seconds, args.handoffs, reach)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
