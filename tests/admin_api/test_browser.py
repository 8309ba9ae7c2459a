"""The console and the try-out page in a real browser (Debian chromium through Playwright).

Needs `apt-get install -y chromium` (never a downloaded browser). Resident text must stay text: a
script or onerror attribute in it never runs (any dialog would be recorded and fail the test).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from db.models import Conversation
from db.session import Database
from tests.admin_api.conftest import Api, Member, conversation_of, handed_off
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--lang=ja-JP", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    yield page
    context.close()


def login(page: Page, desk: DeskServer, member: Member) -> None:
    page.goto(f"{desk.url}/admin/login")
    page.fill("#token", member.token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("相談一覧")


def test_staff_log_in_see_emergencies_and_reply_without_running_resident_html(
        desk: DeskServer, database: Database, staff: dict[str, Member], line: FakeLinePlatform, page: Page,
        tmp_path: Path) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="人と話したい"))
    desk.post_line(line_body("message-text", user=user, text=XSS))
    conversation = wait_until(lambda: (c := conversation_of(database, user)) and c.status == "waiting" and c, timeout=8)
    _, emergency = handed_off(desk, database, "父が息をしていない")

    login(page, desk, staff["nurse"])
    expect(page.locator(f'tr[data-id="{emergency}"]')).to_have_class("emergency")
    # The picture of the queue in README (docs/console-queue.png) is this screen: ZD_SCREENSHOT_DIR=docs.
    shot = Path(os.environ.get("ZD_SCREENSHOT_DIR") or tmp_path) / "console-queue.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.click(f'a[href="/admin/conversations/{conversation.id}"]')
    expect(page.locator(".messages")).to_contain_text(XSS)
    assert page.locator(".messages img").count() == 0
    page.click("button[value=claim]")
    expect(page.locator("#status")).to_contain_text("担当者対応中")
    page.fill("#reply", "ブラウザからの返信です")
    page.click("text=返信を送る")
    expect(page.locator(".done")).to_contain_text("返信を送信しました")
    wait_until(lambda: any("ブラウザからの返信です" in t for t in line.texts()), timeout=8)
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_the_queue_updates_itself_live_and_an_emergency_rings(
        desk: DeskServer, database: Database, staff: dict[str, Member], line: FakeLinePlatform, browser: Browser) -> None:
    context = browser.new_context(locale="ja-JP", permissions=["notifications"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, desk, staff["msw"])
    expect(page.locator("#live-state")).to_contain_text("リアルタイム更新中", timeout=10_000)
    page.click("#enable-alerts")
    expect(page.locator("#enable-alerts")).to_have_text("音と通知: オン")
    waiting = int(page.locator('.count[data-tab="waiting"]').inner_text())
    # Pushed, not polled: while the stream is open and nothing changes, the page asks for nothing. (What
    # changed since an earlier page of this module last listened is announced on connecting: let that
    # catch-up pass before the quiet window.)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/admin/queue/rows" in request.url else None)
    page.wait_for_timeout(1_500)
    asked.clear()
    page.wait_for_timeout(6_000)  # longer than the fallback's 5 s
    assert asked == []
    _, conversation_id = handed_off(desk, database)
    expect(page.locator(f'tr[data-id="{conversation_id}"]')).to_be_visible(timeout=10_000)
    expect(page.locator('.count[data-tab="waiting"]')).to_have_text(str(waiting + 1))
    _, emergency = handed_off(desk, database, f"父が息をしていない{XSS}")
    alert = page.locator("#alerts .alert-emergency").first
    expect(alert).to_contain_text(f"緊急の相談 #{emergency}", timeout=10_000)
    expect(alert).to_contain_text("父が息をしていない")
    assert page.locator("#alerts img").count() == 0  # what the resident wrote stays text
    expect(page.locator(f'tr[data-id="{emergency}"]')).to_have_class("emergency")
    assert errors == []
    context.close()


def test_the_try_page_answers_in_the_browser(desk: DeskServer, page: Page) -> None:
    page.goto(f"{desk.url}/try")
    page.fill("#try-text", "人と話したい")
    page.click("#try-form button")
    expect(page.locator("#try-messages")).to_contain_text("おつなぎします", timeout=10_000)
    page.fill("#try-text", XSS)
    page.click("#try-form button")
    expect(page.locator("#try-messages")).to_contain_text(XSS, timeout=10_000)
    assert page.locator("#try-messages img").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_a_resident_walks_the_try_page_from_greeting_to_a_staff_reply(
        desk: DeskServer, database: Database, staff: dict[str, Member], page: Page, tmp_path: Path) -> None:
    """greeting → starter button → FAQ answer → 「解決しない」 → an alternative → resource search (cards) →
    emergency (call button) → a staff reply; each step as the resident sees it, with screenshots."""
    shots = Path(os.environ.get("ZD_SCREENSHOT_DIR") or tmp_path)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 412, "height": 915})  # a phone
    page.goto(f"{desk.url}/try")
    chat = page.locator("#try-messages")
    expect(chat).to_contain_text("在宅医療や介護のこと")  # the greeting, on open
    page.click("#try-quick >> text=訪問看護とは")  # a starter button: an FAQ entry, not text for the router
    expect(page.locator(".bubble.mine").last).to_have_text("訪問看護とは")
    expect(chat).to_contain_text("【記録について】", timeout=10_000)
    expect(chat).to_contain_text("解決しましたか？", timeout=10_000)
    bubbles = [t for t in page.locator(".bubble:not(.mine) .text").all_inner_texts()]
    notice = next(i for i, t in enumerate(bubbles) if t.startswith("【記録について】"))
    # The notice once, in its own bubble, before the answer's two: the answer, then whom to call.
    assert "解決しましたか？" not in bubbles[notice + 1] and "解決しましたか？" in bubbles[notice + 2]
    page.click("#try-quick >> text=解決しない")
    expect(chat).to_contain_text("お尋ねは次のどれに近いですか", timeout=10_000)
    alternatives = page.locator("#try-quick button")
    chosen = alternatives.first.inner_text()
    alternatives.first.click()
    expect(page.locator(".bubble.mine").last).to_contain_text(chosen.rstrip("…"), timeout=10_000)  # the full question
    expect(chat).to_contain_text("解決しましたか？", timeout=10_000)

    page.fill("#try-text", "須坂市の訪問看護ステーションを探しています")
    page.press("#try-text", "Enter")  # Enter sends
    expect(page.locator(".card").first).to_be_visible(timeout=10_000)
    expect(page.locator(".card").first).to_contain_text("訪問看護ステーション")
    expect(page.locator(".card .actions").first).to_contain_text("電話する（サンプル）")
    page.screenshot(path=str(shots / "try-cards.png"))

    page.fill("#try-text", "一行目")
    page.press("#try-text", "Shift+Enter")  # Shift+Enter adds a line
    page.type("#try-text", "二行目")
    assert page.input_value("#try-text") == "一行目\n二行目"
    page.fill("#try-text", "父が息をしていない")
    page.press("#try-text", "Enter")
    urgent = page.locator(".bubble.urgent").last
    expect(urgent).to_contain_text("今すぐ119番", timeout=10_000)
    assert urgent.locator("a.call").get_attribute("href") == "tel:119"

    conversation = wait_until(lambda: next((c for c in _web_conversations(database) if c.urgency == "emergency"),
                                           None), timeout=8)
    api = httpx.Client(base_url=desk.url, headers={"Authorization": f"Bearer {staff['nurse'].token}"}, timeout=10)
    assert api.post(f"/admin/api/conversations/{conversation.id}/claim").status_code == 200
    assert api.post(f"/admin/api/conversations/{conversation.id}/reply",
                    json={"text": "看護師の佐藤です。救急車は呼べましたか？"}).status_code == 202
    expect(page.locator(".bubble.staff").last).to_contain_text("救急車は呼べましたか", timeout=10_000)
    page.screenshot(path=str(shots / "try-staff-reply.png"))
    assert errors == [] and page.dialogs == []  # type: ignore[attr-defined]


def _web_conversations(database: Database) -> list[Conversation]:
    with database.session() as session:
        return list(session.scalars(select(Conversation).where(Conversation.channel == "web")
                                    .order_by(Conversation.id.desc())))


def test_a_coordinator_makes_a_faq_of_an_unanswered_question_and_the_bot_answers_it(
        desk: DeskServer, staff: dict[str, Member], line: FakeLinePlatform, page: Page, tmp_path: Path) -> None:
    question = "もこもこの申し込み窓口は？"
    desk.post_line(line_body("message-text", user=new_user(), text=question))
    login(page, desk, staff["coordinator"])
    page.click("nav >> text=未回答の質問")
    item = page.locator("li.question", has_text=question)
    expect(item).to_be_visible()
    item.locator("text=新しいFAQにする").click()
    expect(page.locator("#f-question")).to_have_value(question)
    page.fill("#f-id", "resident.mokomoko")
    page.fill("#f-source", "拠点の案内（サンプル）")
    page.click("form.editor button[type=submit]")  # no answer yet: the page says which field, and keeps what was typed
    expect(page.locator("#e-answer")).to_have_text("入力してください。")
    expect(page.locator("#f-answer")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-id")).to_have_value("resident.mokomoko")
    page.fill("#f-answer", "もこもこの申し込みは{hub_name}で受け付けています（サンプル）。")
    page.click("form.editor button[type=submit]")
    expect(page.locator(".done")).to_contain_text("保存しました")
    line.reset()
    desk.post_line(line_body("message-text", user=new_user(), text=question))
    wait_until(lambda: any("もこもこの申し込みは" in t for t in line.texts()), timeout=8)
    page.click("nav >> text=未回答の質問")
    expect(page.locator("li.question", has_text=question)).to_have_count(0)


def test_the_report_draws_its_charts(desk: DeskServer, staff: dict[str, Member], page: Page,
                                     tmp_path: Path) -> None:
    login(page, desk, staff["admin"])
    page.click("nav >> text=活動報告")
    page.fill("input[name=from]", "2000-01-01")
    page.click("text=集計する")
    expect(page.locator("#fig-consultations")).not_to_have_text("0")
    assert page.locator("figure.chart rect.bar").count() >= 3
    assert page.locator("figure.chart rect.bar").first.bounding_box()["width"] > 10
    shot = Path(os.environ.get("ZD_SCREENSHOT_DIR") or tmp_path) / "console-report.png"
    page.screenshot(path=str(shot), full_page=True)
    with page.expect_download() as download:
        page.click("text=CSVで書き出す")
    assert Path(download.value.path()).read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_nurse_works_a_conversation_with_a_label_and_a_canned_reply(
        desk: DeskServer, database: Database, staff: dict[str, Member], line: FakeLinePlatform, page: Page,
        api: Api, tmp_path: Path) -> None:
    api.post("/canned", staff["coordinator"], json={
        "code": "訪問", "title": "訪問の予定", "body": "{利用者名}さん、{拠点名}の{担当者名}です。明日、訪問看護の方と一緒に伺います。"})
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="母が退院して家に戻ります。訪問看護のことを相談したい"))
    desk.post_line(line_body("message-text", user=user, text="人と話したい"))
    conversation = wait_until(lambda: (c := conversation_of(database, user)) and c.status == "waiting" and c, timeout=8)
    login(page, desk, staff["nurse"])
    page.click(f'a[href="/admin/conversations/{conversation.id}"]')
    page.click("button[value=claim]")
    page.fill("input[name=label]", "要訪問")
    page.click("text=ラベルを付ける")
    expect(page.locator("section.labels .label")).to_contain_text("要訪問")
    page.fill("#reply", "/訪問 ")  # the short code and a space: the filled text, to read before sending
    expect(page.locator("#reply")).to_have_value(re.compile("^.+さん、須高地域.+の佐藤 花子です。明日、訪問看護"))
    shot = Path(os.environ.get("ZD_SCREENSHOT_DIR") or tmp_path) / "console-conversation.png"
    page.screenshot(path=str(shot), full_page=True)
    page.click("text=返信を送る")
    expect(page.locator(".done")).to_contain_text("返信を送信しました")
    wait_until(lambda: any("明日、訪問看護の方と一緒に伺います" in t for t in line.texts()), timeout=8)
    page.goto(f"{desk.url}/admin/?tab=human&label=要訪問")
    expect(page.locator(f'tr[data-id="{conversation.id}"] .label')).to_have_text("要訪問")
    assert page.dialogs == []  # type: ignore[attr-defined]
