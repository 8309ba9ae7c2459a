"""The knowledge base as hub staff maintain it: every topic answered, validation, load, export, import."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.faq import render
from db.models import FaqEntry, Resource
from db.session import Database
from knowledge.faq import FAQ_DIR, PLACEHOLDERS, load_faq, topic_ids, validate
from tests.support import REPO, SHARED
from tests.test_opendata import CARE_HEADER, care_row, write_csv

TOPICS = SHARED / "topics.yaml"
PHONE = re.compile(r"\d{2,4}-\d{2,4}-\d{4}")
GOOD_ENTRY = """  - id: resident.costs
    audience: resident
    question: 費用はいくら？
    paraphrases: [いくらかかる]
    answer: 医療保険と介護保険が使えます。{hub_name}へ。
    source: general
"""


def desk_cli(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"DATABASE_URL": database_url} if database_url else {})}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_every_topic_has_its_entry_and_the_bundled_knowledge_is_valid() -> None:
    assert validate(topics=TOPICS) == []
    ids = {item.id for item in load_faq()}
    assert set(topic_ids(TOPICS)) <= ids  # every topic; the rest are the hub's own (care.*)
    assert {i.split(".")[0] for i in ids - set(topic_ids(TOPICS))} == {"care"}


def test_every_answer_names_its_source_and_uses_only_known_placeholders() -> None:
    values = {name: "〈値〉" for name in PLACEHOLDERS}
    for item in load_faq():
        assert item.source and item.source_label().startswith("出典: ")
        for text in (item.answer, item.next_step or ""):
            assert "{" not in render(text, values), item.id
        assert not PHONE.search(item.answer + (item.next_step or "")), f"{item.id}: no phone numbers in answers"


@pytest.mark.parametrize(("content", "expected"), [
    ("entries:\n  - id: resident.costs\n    audience: [unclosed\n", "YAML の書式エラー"),
    ("entries:\n" + GOOD_ENTRY.replace("    source: general\n", ""), "必須項目 source がありません"),
    ("entries:\n" + GOOD_ENTRY + GOOD_ENTRY, "が重複しています"),
    ("entries:\n" + GOOD_ENTRY.replace("{hub_name}", "{hub_phon}"), "プレースホルダ {hub_phon} は使えません"),
    ("entries:\n" + GOOD_ENTRY.replace("{hub_name}", "{hub_name"), "波かっこ"),
    ("entries:\n" + GOOD_ENTRY.replace("audience: resident", "audience: everyone"), "audience"),
    ("entries:\n" + GOOD_ENTRY.replace("id: resident.costs", "id: Resident Costs"), "形式が不正"),
    ("faq: []\n", "entries:"),
])
def test_validation_names_each_kind_of_problem_with_file_and_line(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "broken.yaml").write_text(content, encoding="utf-8")
    problems = validate(tmp_path)
    assert any(expected in p.message for p in problems), problems
    assert all(p.file == "broken.yaml" and p.line >= 1 for p in problems)


def test_validation_reports_missing_topics_and_unknown_ids(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("entries:\n" + GOOD_ENTRY.replace("resident.costs", "resident.unknown_topic"),
                                       encoding="utf-8")
    messages = [str(p) for p in validate(tmp_path, topics=TOPICS)]
    assert any("resident.unknown_topic は topics.yaml にない未知の id" in m and m.startswith("one.yaml:2:")
               for m in messages)
    assert any(m.startswith("topics.yaml:") and "resident.costs の FAQ エントリがありません" in m for m in messages)


def test_kb_validate_command_is_clean_and_fails_on_a_problem(tmp_path: Path) -> None:
    result = desk_cli("kb", "validate", "--topics", str(TOPICS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "knowledge is valid" in result.stderr


def test_kb_load_is_idempotent_and_export_lists_every_entry(database_url: str, database: Database) -> None:
    first = desk_cli("kb", "load", database_url=database_url)
    second = desk_cli("kb", "load", database_url=database_url)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "FAQ: 0 created, 0 updated" in second.stdout
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(FaqEntry)) == len(load_faq())
        resources = session.scalar(select(func.count()).select_from(Resource))
        assert resources and resources >= 60
        assert session.scalar(select(func.count()).select_from(Resource).where(Resource.sample.is_(False))) == 0
    exported = json.loads(desk_cli("kb", "export", "--format", "json", database_url=database_url).stdout)
    assert {e["id"] for e in exported} == {item.id for item in load_faq()}
    assert all(e["question"] for e in exported)
    csv_text = desk_cli("kb", "export", "--format", "csv", database_url=database_url).stdout
    assert csv_text.splitlines()[0].startswith("id,name,type,municipality")
    yaml_text = desk_cli("kb", "export", "--format", "yaml", database_url=database_url).stdout
    assert "resident.visiting_nurse" in yaml_text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_open_data_import_reports_the_bad_row_and_reimport_updates(
        tmp_path: Path, database_url: str, database: Database, encoding: str) -> None:
    suffix = {"utf-8": "1", "utf-8-sig": "2", "cp932": "3"}[encoding]
    rows = [care_row(事業所番号=f"20600{suffix}0001", 介護サービス事業所名称=f"取込テスト訪問看護{suffix}（架空）"),
            care_row(事業所番号=f"20600{suffix}0002", 実施サービス="福祉用具貸与"),
            care_row(事業所番号=f"20600{suffix}0003", 介護サービス事業所名称=f"取込テスト居宅{suffix}（架空）",
                     実施サービス="居宅介護支援")]
    path = write_csv(tmp_path / f"care-{encoding}.csv", CARE_HEADER, rows, encoding=encoding)
    first = desk_cli("kb", "import-opendata", str(path), database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert "2 created, 0 updated, 1 row(s) not used" in first.stdout
    assert f"{path.name}:3:" in first.stdout and "福祉用具貸与" in first.stdout
    again = desk_cli("kb", "import-opendata", str(path), "--kind", "care", database_url=database_url)
    assert "0 created, 2 updated" in again.stdout
    with database.session() as session:
        names = session.scalars(select(Resource.name).where(Resource.source == path.name)).all()
    assert sorted(names) == sorted([f"取込テスト訪問看護{suffix}（架空）", f"取込テスト居宅{suffix}（架空）"])


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = desk_cli("kb", "import-opendata", str(tmp_path / "nothing.csv"),
                      database_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_route_prints_the_prediction_shape() -> None:
    result = desk_cli("route", "訪問看護ってどうやって頼むの？", "--json")
    prediction = json.loads(result.stdout)
    assert set(prediction) == {"text", "route", "faq_id", "top", "role", "resource", "check", "offer"}
    assert prediction["route"] == "faq" and prediction["faq_id"] == "resident.visiting_nurse"


def test_eval_writes_one_prediction_per_line(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in [
        {"text": "父が息をしていない", "expect": {"route": "emergency"}},
        {"text": "須坂 訪看 人工呼吸器", "expect": {"route": "resource", "type": "visiting_nurse",
                                              "municipality": "須坂市", "capabilities": ["ventilator"]}},
    ]), encoding="utf-8")
    out = tmp_path / "predictions.jsonl"
    result = desk_cli("eval", str(cases), "--predictions", str(out))
    assert result.returncode == 0, result.stderr
    predictions = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [p["route"] for p in predictions] == ["emergency", "resource"]
    assert "emergency recall" in result.stdout


def test_chat_talks_to_the_core_in_the_terminal(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "server.cli", "chat"], cwd=REPO, input="父が息をしていない\n",
                            env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "友だち追加ありがとうございます" in result.stdout
    assert "今すぐ119番に電話してください" in result.stdout


def test_chat_asks_the_red_flag_check_and_a_number_answers_it(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "server.cli", "chat"], cwd=REPO,
                            input="母がトイレで立ち上がれなくなりました\n2\n",
                            env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    check = result.stdout.index("念のため確認させてください")
    assert "[2] 息が苦しい・していない" in result.stdout[check:]
    assert "今すぐ119番に電話してください" in result.stdout[check:]


def test_faq_files_live_with_the_code() -> None:
    assert FAQ_DIR.is_dir() and len(list(FAQ_DIR.glob("*.yaml"))) >= 3
