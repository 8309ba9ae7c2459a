"""/metrics, scraped as Prometheus would: what happened and what waits, in counts and ages only."""

from __future__ import annotations

import json

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until


def _scrape(desk: DeskServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{desk.url}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "介護" not in response.text and "U" + "0" * 3 not in response.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def test_metrics_count_webhooks_routes_replies_and_the_queue(desk: DeskServer, line: FakeLinePlatform) -> None:
    desk.post_line(line_body("message-text", user=new_user(), text="介護保険の申請方法を教えて"))
    desk.post_line(line_body("message-text", user=new_user(), text="看護師さんと話したい"))
    assert desk.post_line(b"{}", signature="AAAA").status_code == 401
    line.wait_for_deliveries(2, timeout=10)

    def scraped() -> dict:
        metrics = _scrape(desk)
        return metrics if metrics.get(("zaitaku_outbox_sent_total", (("channel", "line"), ("via", "reply")))) else {}
    metrics = wait_until(scraped, timeout=10)
    assert metrics[("zaitaku_webhook_requests_total", (("channel", "line"), ("outcome", "200")))] >= 2
    assert metrics[("zaitaku_webhook_requests_total", (("channel", "line"), ("outcome", "401")))] >= 1
    routes = {dict(labels)["route"] for (name, labels) in metrics if name == "zaitaku_routed_messages_total"}
    assert {"faq", "handoff"} <= routes
    assert metrics[("zaitaku_queue_conversations", (("status", "waiting"), ("urgency", "normal")))] >= 1
    assert metrics[("zaitaku_oldest_waiting_emergency_seconds", ())] == 0
    assert metrics[("zaitaku_inbound_wait_seconds_count", ())] >= 2
    assert ("zaitaku_outbox_wait_seconds_count", (("channel", "line"),)) in metrics


def test_logs_are_json_lines_carrying_the_request_id(desk: DeskServer) -> None:
    since = len(desk.output())
    refused = httpx.post(f"{desk.url}/webhooks/line", content=b'{"events": []}', timeout=10,
                         headers={"Content-Type": "application/json", "X-Line-Signature": "AAAA",
                                  "X-Request-ID": "probe-42"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "probe-42"
    made_up = [httpx.get(f"{desk.url}/healthz", timeout=10).headers["x-request-id"] for _ in range(2)]
    assert all(len(i) == 16 for i in made_up) and made_up[0] != made_up[1]  # one is made up, each its own

    def logged() -> list[dict]:
        lines = [json.loads(line) for line in desk.output()[since:].splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("request_id") == "probe-42"]
    line = wait_until(logged)[0]
    assert line["level"] == "INFO" and "refused" in line["message"] and line["at"].endswith("Z")


def test_metrics_can_ask_for_a_token(database_url: str, fake_line: FakeLinePlatform) -> None:
    server = DeskServer(database_url, fake_line.url, METRICS_TOKEN="scrape-secret").start()
    try:
        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 401
        wrong = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401
        right = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer scrape-secret"}, timeout=10)
        assert right.status_code == 200 and "zaitaku_queue_conversations" in right.text
    finally:
        server.stop()
