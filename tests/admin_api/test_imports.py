"""Knowledge imported through the API and the console: FAQ YAML all or nothing with problems by line,
open-data CSV (Shift_JIS too) with bad rows reported by line, roles, size limit, and the bot using it."""

from __future__ import annotations

import csv
import io
import re
from contextlib import closing

import pytest
import yaml
from sqlalchemy import select

from db.models import AuditLog, FaqEntry, Resource
from db.session import Database
from tests.admin_api.conftest import Api, Member, console_login, csrf_of
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer, line_body, new_user, wait_until
from tests.test_opendata import CARE_HEADER, care_row

LIMIT = 200_000


@pytest.fixture(scope="module")
def desk_env() -> dict[str, str]:
    return {"MAX_IMPORT_BYTES": str(LIMIT)}


def care_csv(rows: list[dict[str, str]], encoding: str = "cp932") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CARE_HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def entry(**values: object) -> dict[str, object]:
    return {"id": "resident.imported_salon", "audience": "resident", "question": "介護予防サロンはどこでやっていますか？",
            "answer": "介護予防サロンは公民館で毎週水曜に開いています（サンプル）。", "source": "拠点の案内（サンプル）",
            "paraphrases": ["サロンの場所", "体操教室はどこ"], **values}


def as_yaml(entries: list[dict[str, object]]) -> bytes:
    return yaml.safe_dump({"entries": entries}, allow_unicode=True, sort_keys=False).encode("utf-8")


def test_imports_need_a_coordinator_or_admin(api: Api, staff: dict[str, Member]) -> None:
    body = as_yaml([entry()])
    assert api.post("/faq/import", None, content=body).status_code == 401
    assert api.post("/faq/import", staff["nurse"], content=body).status_code == 403
    assert api.post("/resources/import", staff["msw"], content=care_csv([care_row()])).status_code == 403


def test_a_faq_file_with_any_problem_changes_nothing_and_names_the_lines(
        api: Api, staff: dict[str, Member], database: Database) -> None:
    c = staff["coordinator"]
    bad = as_yaml([entry(id="resident.imported_ok"), entry(id="resident.no_answer", answer=""),
                   entry(id="resident.bad_placeholder", answer="{hub_fax}へどうぞ"), entry(audience="everyone")])
    response = api.post("/faq/import", c, content=bad, headers={"Content-Type": "application/yaml"})
    assert response.status_code == 422
    problems = response.json()["detail"]
    lines = sorted({p["loc"][1] for p in problems})
    assert len(lines) == 3 and all(isinstance(line, int) and line > 1 for line in lines)
    text = " ".join(p["msg"] for p in problems)
    assert "answer" in text and "hub_fax" in text and "everyone" in text
    with database.session() as session:
        assert session.get(FaqEntry, "resident.imported_ok") is None
    assert api.post("/faq/import", c, content=b"entries: [").status_code == 422
    assert api.post("/faq/import", c, content=b"").status_code == 422
    not_utf8 = api.post("/faq/import", c, content="entries: []\n# 説明".encode("cp932"))
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.json()["detail"][0]["msg"]
    too_big = api.post("/faq/import", c, content=b"#" * (LIMIT + 1))
    assert too_big.status_code == 413 and "大きすぎます" in too_big.json()["detail"]


def test_an_exported_file_edited_and_imported_is_answered_at_once(
        api: Api, staff: dict[str, Member], database: Database, desk: DeskServer, line: FakeLinePlatform) -> None:
    a = staff["admin"]
    exported = yaml.safe_load(api.get("/faq/export", a).content)["entries"]
    first = exported[0]
    first["answer"] += "（取り込みで更新）"
    assert api.post(f"/faq/{exported[1]['id']}/retire", a).status_code == 200
    response = api.post("/faq/import", a, content=as_yaml([first, exported[1], entry()]))
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "updated": 2, "unchanged": 0}
    with database.session() as session:
        assert session.get(FaqEntry, first["id"]).answer.endswith("（取り込みで更新）")
        assert session.get(FaqEntry, exported[1]["id"]).active  # in the file, so in use again
        assert session.scalars(select(AuditLog).where(AuditLog.action == "faq.import")).first().detail["created"] == 1
    desk.post_line(line_body("message-text", user=new_user(), text="体操教室はどこ"))
    wait_until(lambda: any("毎週水曜" in t for t in line.texts()), timeout=8)


def test_open_data_is_imported_with_bad_rows_reported_by_line(
        api: Api, staff: dict[str, Member], database: Database) -> None:
    c = staff["coordinator"]
    rows = [care_row(事業所番号="2060000101", 介護サービス事業所名称="取込テスト訪問看護（サンプル）"),
            care_row(事業所番号="2060000102", 介護サービス事業所名称="", 電話番号="000-0000-9102"),
            care_row(事業所番号="2060000103", 介護サービス事業所名称="取込テスト居宅（サンプル）",
                     実施サービス="居宅介護支援", 電話番号="000-0000-9103")]
    response = api.post("/resources/import", c, content=care_csv(rows), params={"source": "care_202070.csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["kind"], report["encoding"], report["created"], report["updated"]) == ("care", "cp932", 2, 0)
    assert [p["row"] for p in report["problems"]] == [3]
    names = {r["name"] for r in api.get("/resources", c, params={"q": "取込テスト"}).json()}
    assert names == {"取込テスト訪問看護（サンプル）", "取込テスト居宅（サンプル）"}

    rows[0]["電話番号"] = "000-0000-9111"
    again = api.post("/resources/import", c, content=care_csv(rows, "utf-8-sig"), params={"kind": "care"}).json()
    assert (again["encoding"], again["created"], again["updated"]) == ("utf-8-sig", 0, 2)
    with database.session() as session:
        phones = set(session.scalars(select(Resource.phone).where(Resource.name.contains("取込テスト訪問看護"))))
        assert phones == {"000-0000-9111"}

    own = api.get("/resources/export", c).content
    assert api.post("/resources/import", c, content=own).json()["kind"] == "resources"
    unknown = api.post("/resources/import", c, content="名前,電話\nA,1\n".encode())
    assert unknown.status_code == 422 and unknown.json()["detail"]
    assert api.post("/resources/import", c, content=b"x", params={"kind": "gps"}).status_code == 422


def test_the_console_imports_files_and_shows_the_problems(
        desk: DeskServer, staff: dict[str, Member], database: Database) -> None:
    with closing(console_login(desk, staff["coordinator"])) as client:
        page = client.get("/admin/resources")
        csrf = csrf_of(page.text)
        assert 'enctype="multipart/form-data"' in page.text
        upload = care_csv([care_row(事業所番号="2060000201", 介護サービス事業所名称="画面取込訪問看護（サンプル）"),
                           care_row(事業所番号="2060000202", 緯度="北緯", 介護サービス事業所名称="座標誤り（サンプル）")])
        missing_csrf = client.post("/admin/resources/import", files={"file": ("care.csv", upload, "text/csv")})
        assert missing_csrf.status_code == 403
        done = client.post("/admin/resources/import", data={"csrf": csrf, "kind": ""},
                           files={"file": ("care.csv", upload, "text/csv")})
        assert done.status_code == 200 and "取り込みました（介護サービス事業所一覧、cp932）" in done.text
        assert re.search(r"<li>3行目: [^<]*緯度", done.text), done.text
        with database.session() as session:
            assert session.scalars(select(Resource.source).where(Resource.name == "画面取込訪問看護（サンプル）")).one() \
                == "care.csv"

        bad = client.post("/admin/faq/import", data={"csrf": csrf},
                          files={"file": ("faq.yaml", as_yaml([entry(id="resident.console_import", answer="")]),
                                          "application/yaml")})
        assert bad.status_code == 422 and "何も変更していません" in bad.text and "行目: " in bad.text
        good = client.post("/admin/faq/import", data={"csrf": csrf}, follow_redirects=True,
                           files={"file": ("faq.yaml", as_yaml([entry(id="resident.console_import")]),
                                           "application/yaml")})
        assert "取り込みました: 新規 1件" in good.text
