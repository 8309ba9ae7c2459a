"""要確認の回答 and 公開前チェック over real HTTP: a claim about the hub is listed until a coordinator
confirms it (API or console), a changed claim is open again, reloading the files keeps a confirmation,
and only coordinators and admins may confirm."""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace

from sqlalchemy import select

from db.models import AuditLog, FaqEntry
from db.session import Database
from knowledge.store import item_of, load_bundled, upsert_faq
from tests.admin_api.conftest import Api, Member, console_login, csrf_of
from tests.support import DeskServer

CLAIM = "この窓口が家族会を開いているか"
ENTRY = {"id": "resident.review_test", "audience": "resident", "question": "家族会はありますか？",
         "paraphrases": ["介護者の集まりはある？"], "answer": "家族会を毎月開いています（サンプル）。",
         "source": "general", "confirm": CLAIM, "reviewed": "2026-12-06"}


def _audited(db: Database, action: str, target: str) -> bool:
    with db.session() as session:
        return session.scalars(select(AuditLog).where(AuditLog.action == action,
                                                      AuditLog.target_id == target)).first() is not None


def test_a_claim_is_listed_until_confirmed_and_open_again_when_it_changes(
        desk: DeskServer, database: Database, api: Api, staff: dict[str, Member]) -> None:
    c = staff["coordinator"]
    assert api.post("/faq", c, json=ENTRY).status_code == 201
    with closing(console_login(desk, c)) as console:
        listed = console.get("/admin/knowledge/confirm")
        assert listed.status_code == 200 and CLAIM in listed.text and "サンプル拠点" in listed.text

        assert api.post(f"/faq/{ENTRY['id']}/confirm", staff["nurse"]).status_code == 403
        pressed = console.post(f"/admin/faq/{ENTRY['id']}/confirm?back=list", data={"csrf": csrf_of(listed.text)})
        assert pressed.status_code == 303 and pressed.headers["location"].startswith("/admin/knowledge/confirm?done=")
        assert CLAIM not in console.get("/admin/knowledge/confirm").text
        assert _audited(database, "faq.confirm", ENTRY["id"])
        entry = api.get(f"/faq/{ENTRY['id']}", c).json()
        assert entry["confirm"] == CLAIM and entry["confirmed"] and entry["confirmed_at"] and entry["confirmed_by"]

        # The same entry saved again stays confirmed; a different claim, or a different answer making
        # it, is open again.
        body = {k: v for k, v in ENTRY.items() if k != "id"}
        assert api.request("PUT", f"/faq/{ENTRY['id']}", c, json=body).json()["confirmed"]
        changed = api.request("PUT", f"/faq/{ENTRY['id']}", c, json={**body, "confirm": "家族会の開催日"}).json()
        assert changed["confirmed"] is False
        assert "家族会の開催日" in console.get("/admin/knowledge/confirm").text
        assert api.post(f"/faq/{ENTRY['id']}/confirm", staff["admin"]).json()["confirmed"]
        reworded = {**body, "confirm": "家族会の開催日", "answer": "家族会を毎週開いています（サンプル）。"}
        assert api.request("PUT", f"/faq/{ENTRY['id']}", c, json=reworded).json()["confirmed"] is False
        # Nothing to confirm: refused, with the reason.
        plain = {**ENTRY, "id": "resident.review_plain", "confirm": None}
        assert api.post("/faq", c, json=plain).status_code == 201
        refused = api.post("/faq/resident.review_plain/confirm", c)
        assert refused.status_code == 409 and "確認の必要な記述がありません" in refused.text


def test_reloading_the_files_keeps_a_confirmation_until_a_release_changes_the_entry(
        database: Database, api: Api, staff: dict[str, Member]) -> None:
    with database.session() as session:
        bundled = session.scalars(select(FaqEntry).where(FaqEntry.confirm.is_not(None),
                                                         FaqEntry.id.like("resident.%"))).first()
        assert bundled is not None, "the bundled knowledge has claims for the hub to confirm"
        item = item_of(bundled)
    assert api.post(f"/faq/{item.id}/confirm", staff["coordinator"]).json()["confirmed"]
    load_bundled(database)  # the same files again
    assert api.get(f"/faq/{item.id}", staff["coordinator"]).json()["confirmed"]
    with database.session() as session:  # a release rewords the answer that makes the claim
        upsert_faq(session, [replace(item, answer=item.answer + "\n（改訂）")])
    assert api.get(f"/faq/{item.id}", staff["coordinator"]).json()["confirmed"] is False
    load_bundled(database)  # back to the confirmed wording
    assert api.get(f"/faq/{item.id}", staff["coordinator"]).json()["confirmed"]


def test_the_review_page_shows_every_entry_resident_first_with_its_figures(
        desk: DeskServer, staff: dict[str, Member]) -> None:
    with closing(console_login(desk, staff["nurse"])) as console:  # everyone signed in may read it
        page = console.get("/admin/knowledge/review")
    assert page.status_code == 200
    text = page.text
    assert "公開前チェック" in text and "最初の吹き出し" in text and "最終確認日" in text
    first_resident = text.index("在宅医療とはどんなものですか？")
    assert first_resident < text.index("専門職")  # resident entries before the professional ones


def test_the_faq_list_shows_questions_resident_entries_first_with_sources_in_words(
        desk: DeskServer, staff: dict[str, Member]) -> None:
    with closing(console_login(desk, staff["nurse"])) as console:
        page = console.get("/admin/faq").text
    assert '<a href="/admin/faq/resident.what_is_home_care">在宅医療とはどんなものですか？</a>' in page
    last_resident = max(page.index(f'href="/admin/faq/{i}"') for i in ("resident.costs", "care.home_help"))
    assert last_resident < page.index('href="/admin/faq/pro.') < page.index('href="/admin/faq/program.')
    assert "在宅医療連携拠点事業に関するQ&amp;A（厚生労働省、平成24年度）" in page  # not 「000 Q1」
    assert "要確認" in page
