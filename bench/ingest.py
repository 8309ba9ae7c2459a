"""Webhook ingest under wrk, against floors measured in the same run.

1. The generator's reach: wrk (Debian package `wrk`; installed if missing) against a trivial HTTP server
   (a fixed answer from an asyncio protocol, one process). The generator must reach at least twice the
   desk's bare-endpoint rate, or the figures below would describe wrk, not the desk.
2. The floor: the desk's bare `GET /healthz` under the same wrk.
3. Ingest: signed LINE webhooks (`--bodies` distinct bodies, each a new event id, prepared in a Lua table)
   under the same wrk. Ratio to the floor; bar ≥ 0.5. Every request answered 200 and every event stored
   exactly once (counted in the database afterwards).

4. End to end: inbound → reply at the fake LINE at 50 %, 80 % and 100 % of the measured ingest rate,
   in one `serve` doing everything (p50 / p99, and how long the backlog took to clear).

Ingest both with `serve --workers 1` and `--workers N`, each with processing off in the web processes
(`BACKGROUND_WORK=false`; a separate `zaitaku-desk worker` answers the events afterwards, so the stored
events are also answered) — the deployment README recommends.

Usage: .venv/bin/python bench/ingest.py [--seconds 10] [--backend sqlite|postgres|both] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.webhook import FakeLine, drain, pct, scratch_database  # noqa: E402
from tests.support import DeskServer, free_port, line_body, line_signature  # noqa: E402

CONNECTIONS = 16
# Paced runs: many connections, each waiting between its requests, so that the server's latency
# changes the rate little (rate ≈ connections / (wait + latency), with the wait ≫ the latency).
PACED_CONNECTIONS = 256
TRIVIAL = b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\ncontent-type: application/json\r\n\r\n{\"status\":\"ok\"}"
LUA = """
local bodies, signatures, n, i = {}, {}, 0, 0
for line in io.lines("%(path)s") do
  local signature, body = line:match("^(%%S+) (.*)$")
  n = n + 1; signatures[n] = signature; bodies[n] = body
end
request = function()
  i = i %% n + 1
  return wrk.format("POST", "/webhooks/line",
    {["Content-Type"] = "application/json", ["X-Line-Signature"] = signatures[i]}, bodies[i])
end
"""
PACED = """
delay = function() return %(ms).3f end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def wrk(url: str, seconds: float, script: Path | None = None, connections: int = CONNECTIONS) -> dict[str, float]:
    """Requests/s, p50 and p99 (ms) and the count of answers that were not 2xx."""
    command = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rate": rate, "requests": requests, "p50": _ms(out, "50%"), "p99": _ms(out, "99%"),
            "bad": int(bad.group(1)) if bad else 0, "errors": sum(map(int, errors.groups())) if errors else 0}


def _ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


@contextmanager
def trivial_server() -> Iterator[str]:
    """A fixed 200 answer from an asyncio protocol in a process of its own: what wrk can reach."""
    port = free_port()
    code = f"""
import asyncio
ANSWER = {TRIVIAL!r}
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t
    def data_received(self, data):
        for _ in range(data.count(b"\\r\\n\\r\\n")): self.t.write(ANSWER)
async def main():
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", {port})
    await server.serve_forever()
asyncio.run(main())
"""
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        _wait_for(f"http://127.0.0.1:{port}/")
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.kill()
        process.wait()


def _wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@contextmanager
def desk(url: str, line_url: str, workers: int, background: bool = False) -> Iterator[str]:
    """`zaitaku-desk serve` as the tests run it, with `workers` web processes."""
    server = DeskServer(url, line_url, workers=workers, BACKGROUND_WORK=str(background).lower()).start()
    try:
        yield server.url
    finally:
        server.stop()


def prepare_bodies(count: int, rate: float | None = None) -> Path:
    """A wrk script posting `count` signed webhook bodies (each a new event; 500 residents in turn),
    as fast as it can, or paced to about `rate` requests per second over the connections."""
    path = Path(tempfile.mkdtemp()) / "bodies.txt"
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            body = line_body("message-text", user=f"U{n % 500:032x}", text="訪問看護ってどうやって頼むの？")
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            out.write(f"{line_signature(raw.encode())} {raw}\n")
    script = path.with_suffix(".lua")
    pacing = PACED % {"ms": 1000 * PACED_CONNECTIONS / rate} if rate else ""
    script.write_text(LUA % {"path": path} + pacing, encoding="utf-8")
    return script


def stored(url: str) -> int:
    from sqlalchemy import func, select

    from db.models import InboundEvent
    from db.session import Database

    db = Database(url)
    try:
        with db.session() as session:
            return session.scalar(select(func.count()).select_from(InboundEvent)) or 0
    finally:
        db.dispose()


def run(backend: str, seconds: float, workers: int, script: Path, bodies: int) -> dict[str, float]:
    with scratch_database(backend) as url, FakeLine() as line, desk(url, line.url, workers) as base:
        floor = wrk(f"{base}/healthz", seconds)
        ingest = wrk(f"{base}/webhooks/line", seconds, script)
        kept = stored(url)
    # Every answered request's event is stored; beyond `bodies`, requests are redeliveries (stored once);
    # up to one request per connection was still in flight when wrk stopped counting.
    answered = min(ingest["requests"], bodies)
    assert ingest["bad"] == 0 and ingest["errors"] == 0, ingest
    assert answered <= kept <= min(answered + CONNECTIONS, bodies), (kept, answered)
    return {"floor": floor["rate"], "ingest": ingest["rate"], "ratio": ingest["rate"] / floor["rate"],
            "p50": ingest["p50"], "p99": ingest["p99"], "stored": kept}


def end_to_end(backend: str, seconds: float) -> list[dict[str, float]]:
    """Inbound → reply sent, in one `serve` doing everything (the default set-up), at 50 %, 80 % and 100 %
    of that server's own ingest rate measured first. Latency is from the event's arrival (its
    `received_at`) to its reply's acceptance by the fake LINE (the outbox row's `sent_at`)."""
    results = []
    with scratch_database(backend) as url, FakeLine() as line, desk(url, line.url, 1, background=True) as base:
        capacity = wrk(f"{base}/webhooks/line", 3, prepare_bodies(20_000))["rate"]
        drain(url, 300.0)
        for share in (0.5, 0.8, 1.0):
            since = _latest_event(url)
            paced = wrk(f"{base}/webhooks/line", seconds, prepare_bodies(int(capacity * seconds * 1.5) + 100,
                                                                         capacity * share), PACED_CONNECTIONS)
            drained = drain(url, 300.0)
            latencies = _reply_latencies(url, since)
            results.append({"share": share, "capacity": capacity, "rate": paced["rate"], "replies": len(latencies),
                            "p50": 1000 * pct(latencies, 0.5), "p99": 1000 * pct(latencies, 0.99),
                            "drained": drained})
    return results


def _latest_event(url: str) -> int:
    from sqlalchemy import func, select

    from db.models import InboundEvent
    from db.session import Database

    db = Database(url)
    try:
        with db.session() as session:
            return session.scalar(select(func.max(InboundEvent.id))) or 0
    finally:
        db.dispose()



def _reply_latencies(url: str, since: int) -> list[float]:
    from sqlalchemy import select

    from db.models import InboundEvent, OutboxMessage
    from db.session import Database

    db = Database(url)
    try:
        with db.session() as session:
            arrived = {raw.get("replyToken"): at for raw, at in session.execute(
                select(InboundEvent.raw, InboundEvent.received_at).where(InboundEvent.id > since))}
            sent = session.execute(select(OutboxMessage.reply_token, OutboxMessage.sent_at)
                                   .where(OutboxMessage.sent_at.is_not(None))).all()
    finally:
        db.dispose()
    return [(at - arrived[token]).total_seconds() for token, at in sent if token in arrived]



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--bodies", type=int, default=60_000)
    args = parser.parse_args()
    with trivial_server() as url:
        reach = wrk(url, 5)["rate"]
    print(f"wrk (1 thread, {CONNECTIONS} connections) against a trivial server: {reach:,.0f} req/s")
    script = prepare_bodies(args.bodies)
    failed = False
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        for workers in args.workers:
            r = run(backend, args.seconds, workers, script, args.bodies)
            ok, outruns = r["ratio"] >= 0.5, reach >= 2 * r["floor"]
            # The bar is the one-process figure; a second process on a 2-core machine shares the cores
            # with wrk and PostgreSQL (README), so its ratio is reported, not held to the bar.
            failed |= not outruns or (workers == 1 and not ok)
            print(f"{backend:9} workers {workers}: bare /healthz {r['floor']:,.0f} req/s (generator reach "
                  f"{reach / r['floor']:.1f}× it{'' if outruns else ', BELOW 2×'}); signed LINE webhooks "
                  f"{r['ingest']:,.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms; ratio {r['ratio']:.2f} "
                  f"(bar ≥ 0.5) {'ok' if ok else 'BELOW'}; {r['stored']:,} events stored, each once")
        for r in end_to_end(backend, args.seconds):
            print(f"{backend:9} inbound→reply paced at {r['share']:.0%} of ingest {r['capacity']:,.0f}/s (reached "
                  f"{r['rate']:,.0f}/s): p50 {r['p50']:,.0f} ms, p99 {r['p99']:,.0f} ms over "
                  f"{r['replies']:,} replies; all answered {r['drained']:.1f} s after the load stopped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
