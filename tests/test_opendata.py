"""Importing resources: the government's open-data lists, and the desk's own resources and vacancies CSVs."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.normalize import canonical
from knowledge.faq import SYNONYMS
from knowledge.opendata import (
    CAPABILITIES,
    RESOURCE_COLUMNS,
    RESOURCE_TYPES,
    VACANCY_COLUMNS,
    import_key,
    read_opendata,
    read_resources_csv,
    read_vacancies_csv,
)

DATA = Path(__file__).resolve().parents[1] / "knowledge" / "data"
RESOURCES_CSV = DATA / "resources.csv"
VACANCIES_CSV = DATA / "vacancies.csv"

# The ids of ../shared/eval/README.md, pinned here so that a rename anywhere is noticed.
TYPE_IDS = {"hospital_home_support", "clinic_home_support", "hospital", "clinic", "visiting_nurse",
            "pharmacy", "community_support_center", "care_management_office", "short_stay", "care_facility",
            "dental", "home_care_desk", "disability_consultation"}
CAPABILITY_IDS = {"ventilator", "tracheostomy", "suction", "tube_feeding", "iv_nutrition", "oxygen",
                  "terminal_care", "dementia", "pediatric", "around_the_clock"}
MUNICIPALITIES = {"須坂市": (36.65, 138.31), "小布施町": (36.70, 138.32), "高山村": (36.68, 138.36)}

CARE_HEADER = ["都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "介護サービス事業所名称", "介護サービス事業所名称_カナ", "実施サービス", "住所", "方書", "緯度", "経度", "電話番号", "内線番号", "FAX番号", "法人番号", "法人の名称", "事業所番号", "利用可能曜日", "利用可能曜日特記事項", "定員", "URL", "備考"]
MEDICAL_HEADER = ["都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称", "名称_カナ", "医療機関の種類", "住所", "方書", "緯度", "経度", "電話番号", "内線番号", "FAX番号", "法人番号", "法人の名称", "医療機関コード", "診療曜日", "診療開始時間", "診療終了時間", "診療日時特記事項", "時間外における対応", "診療科目", "病床数", "URL", "備考"]
PLACE = {"都道府県コード又は市区町村コード": "202070", "NO": "1", "都道府県名": "長野県",
         "市区町村名": "須坂市"}


def care_row(**values: str) -> dict[str, str]:
    row = {**PLACE, "介護サービス事業所名称": "テスト訪問看護ステーション", "実施サービス": "訪問看護",
           "住所": "長野県須坂市大字須坂1000", "方書": "", "緯度": "36.650000", "経度": "138.310000",
           "電話番号": "000-0000-9001", "事業所番号": "2060000001", "利用可能曜日": "月火水木金",
           "利用可能曜日特記事項": "", "定員": "", "備考": ""}
    return {**row, **values}


def medical_row(**values: str) -> dict[str, str]:
    row = {**PLACE, "名称": "テスト内科医院", "医療機関の種類": "診療所", "住所": "長野県須坂市大字須坂2000",
           "緯度": "36.651000", "経度": "138.308000", "電話番号": "000-0000-9101",
           "医療機関コード": "2010001",
           "診療曜日": "月火水金", "診療開始時間": "9:00", "診療終了時間": "18:00",
           "時間外における対応": "", "診療科目": "内科", "病床数": "", "備考": ""}
    return {**row, **values}


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


ENCODINGS = [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("shift_jis", "cp932")]


# --- 介護サービス事業所一覧 ------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "detected"), ENCODINGS)
def test_care_list_maps_services_and_reports_the_bad_row_in_every_encoding(
        tmp_path: Path, written: str, detected: str) -> None:
    path = write_csv(tmp_path / "kaigo.csv", CARE_HEADER, [
        care_row(利用可能曜日特記事項="24時間対応（緊急時）"),
        care_row(介護サービス事業所名称="テストケアプランセンター", 実施サービス="居宅介護支援",
                 事業所番号="2060000002", 方書="2階"),
        care_row(介護サービス事業所名称="テスト福祉用具", 実施サービス="福祉用具貸与",
                 事業所番号="2060000003"),
        care_row(介護サービス事業所名称="テスト荘", 実施サービス="短期入所生活介護", 事業所番号="2060000004",
                 市区町村名="上高井郡小布施町", 定員="20"),
    ], written)

    result = read_opendata(path)

    assert (result.kind, result.encoding) == ("care", detected)
    assert [(p.row, p.reason) for p in result.problems] == [
        (4, "実施サービス『福祉用具貸与』は対応する種別がありません")]
    by_name = {r["name"]: r for r in result.resources}
    assert set(by_name) == {"テスト訪問看護ステーション", "テストケアプランセンター", "テスト荘"}
    nurse = by_name["テスト訪問看護ステーション"]
    assert nurse["type"] == "visiting_nurse"
    assert nurse["around_the_clock"] is True and nurse["capabilities"] == ["around_the_clock"]
    assert (nurse["latitude"], nurse["longitude"]) == (36.65, 138.31)
    assert (nurse["external_code"], nurse["source_row"], nurse["source"], nurse["sample"]) == (
        "2060000001", 2, "kaigo.csv", False)
    assert set(nurse) >= set(RESOURCE_COLUMNS) | {"external_code", "source_row"}
    office = by_name["テストケアプランセンター"]
    assert (office["type"], office["address"], office["around_the_clock"], office["capabilities"]) == (
        "care_management_office", "長野県須坂市大字須坂1000 2階", False, [])
    short_stay = by_name["テスト荘"]
    assert (short_stay["type"], short_stay["municipality"], short_stay["source_row"]) == (
        "short_stay", "小布施町", 5)
    assert "定員20名" in short_stay["notes"]


@pytest.mark.parametrize(("service", "expected"), [
    ("訪問看護", "visiting_nurse"),
    ("介護予防訪問看護", "visiting_nurse"),
    ("居宅介護支援", "care_management_office"),
    ("短期入所生活介護", "short_stay"),
    ("短期入所療養介護（介護老人保健施設）", "short_stay"),
    ("介護老人福祉施設", "care_facility"),
    ("地域密着型介護老人福祉施設入所者生活介護", "care_facility"),
    ("介護老人保健施設", "care_facility"),
    ("介護医療院", "care_facility"),
    ("地域包括支援センター", "community_support_center"),
    ("訪問歯科", "dental"),
    ("特定相談支援", "disability_consultation"),
    ("在宅医療・介護連携支援センター", "home_care_desk"),
])
def test_each_care_service_maps_to_its_type(tmp_path: Path, service: str, expected: str) -> None:
    result = read_opendata(write_csv(tmp_path / "k.csv", CARE_HEADER, [care_row(実施サービス=service)]))
    assert result.problems == []
    assert [r["type"] for r in result.resources] == [expected]


@pytest.mark.parametrize("service", ["福祉用具貸与", "訪問介護", "通所介護",
                                     "定期巡回・随時対応型訪問介護看護"])
def test_a_care_service_without_a_type_is_a_problem_not_an_exception(tmp_path: Path, service: str) -> None:
    result = read_opendata(write_csv(tmp_path / "k.csv", CARE_HEADER, [care_row(実施サービス=service)]))
    assert result.resources == []
    assert [(p.row, p.reason) for p in result.problems] == [
        (2, f"実施サービス『{service}』は対応する種別がありません")]


def test_one_office_with_two_services_gives_two_resources_with_their_own_keys(tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "k.csv", CARE_HEADER, [
        care_row(実施サービス="訪問看護、居宅介護支援")]))
    assert sorted(r["type"] for r in result.resources) == ["care_management_office", "visiting_nurse"]
    assert len({import_key(r) for r in result.resources}) == 2


def test_a_facility_and_its_short_stay_under_one_number_stay_two_resources(tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "k.csv", CARE_HEADER, [
        care_row(介護サービス事業所名称="テスト荘", 実施サービス="介護老人福祉施設", 事業所番号="2060000009"),
        care_row(介護サービス事業所名称="テスト荘", 実施サービス="短期入所生活介護", 事業所番号="2060000009"),
        care_row(介護サービス事業所名称="テスト荘", 実施サービス="介護予防短期入所生活介護",
                 事業所番号="2060000009"),
    ]))
    assert result.problems == []
    assert sorted(r["type"] for r in result.resources) == ["care_facility", "short_stay"]


def test_a_care_row_without_name_or_with_bad_coordinates_is_reported_and_the_rest_kept(
        tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "k.csv", CARE_HEADER, [
        care_row(介護サービス事業所名称=""),
        care_row(緯度="abc"),
        care_row(緯度="138.31", 経度="36.65"),
        care_row(事業所番号="2060000005"),
    ]))
    assert [r["source_row"] for r in result.resources] == [5]
    reasons = {p.row: p.reason for p in result.problems}
    assert reasons[2] == "介護サービス事業所名称が空です"
    assert "数値ではありません" in reasons[3] and "abc" in reasons[3]
    assert "入れ替わっている" in reasons[4]


def test_twenty_four_hours_denied_is_not_around_the_clock(tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "k.csv", CARE_HEADER, [
        care_row(備考="24時間対応はしていません")]))
    assert result.resources[0]["around_the_clock"] is False


# --- 医療機関一覧 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "detected"), ENCODINGS)
def test_medical_list_maps_kinds_and_reports_the_bad_row_in_every_encoding(
        tmp_path: Path, written: str, detected: str) -> None:
    path = write_csv(tmp_path / "iryo.csv", MEDICAL_HEADER, [
        medical_row(名称="テスト総合病院", 医療機関の種類="病院", 医療機関コード="2010002",
                    時間外における対応="24時間対応", 病床数="199"),
        medical_row(名称="テスト在宅クリニック", 医療機関コード="2010003", 備考="在宅療養支援診療所"),
        medical_row(),
        medical_row(名称="", 医療機関コード="2010004"),
        medical_row(名称="テスト歯科", 医療機関の種類="歯科診療所", 医療機関コード="2010005", 経度=""),
        medical_row(名称="テスト薬局", 医療機関の種類="薬局", 医療機関コード="2010006"),
        medical_row(名称="テスト助産所", 医療機関の種類="助産所", 医療機関コード="2010007"),
        medical_row(名称="テストリハビリ病院", 医療機関の種類="病院", 医療機関コード="2010008",
                    備考="在宅療養支援病院", 市区町村名="高山村"),
    ], written)

    result = read_opendata(path)

    assert (result.kind, result.encoding) == ("medical", detected)
    assert [(p.row, p.reason) for p in result.problems] == [
        (5, "名称が空です"),
        (6, "緯度と経度の片方しか入っていません"),
        (8, "医療機関の種類『助産所』は対応する種別がありません"),
    ]
    by_name = {r["name"]: r for r in result.resources}
    assert {n: r["type"] for n, r in by_name.items()} == {
        "テスト総合病院": "hospital", "テスト在宅クリニック": "clinic_home_support",
        "テスト内科医院": "clinic", "テスト薬局": "pharmacy", "テストリハビリ病院": "hospital_home_support"}
    hospital = by_name["テスト総合病院"]
    assert hospital["around_the_clock"] is True and hospital["capabilities"] == ["around_the_clock"]
    assert hospital["external_code"] == "2010002" and hospital["source_row"] == 2
    assert "病床数 199" in hospital["notes"]
    clinic = by_name["テスト内科医院"]
    assert (clinic["around_the_clock"], clinic["hours"], clinic["source"]) == (
        False, "月火水金 9:00-18:00", "iryo.csv")
    assert by_name["テスト在宅クリニック"]["around_the_clock"] is True
    assert by_name["テストリハビリ病院"]["municipality"] == "高山村"


def test_a_remark_that_only_mentions_a_partner_does_not_make_a_home_support_clinic(tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "m.csv", MEDICAL_HEADER, [
        medical_row(備考="在宅療養支援診療所と連携しています")]))
    assert result.resources[0]["type"] == "clinic"


def test_line_numbers_count_lines_inside_quoted_cells(tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "m.csv", MEDICAL_HEADER, [
        medical_row(備考="駐車場あり\n車いす可"),
        medical_row(医療機関の種類="助産所", 医療機関コード="2010009"),
    ]))
    assert [r["source_row"] for r in result.resources] == [2]
    assert [p.row for p in result.problems] == [4]


# --- both kinds: header, encoding, input forms ------------------------------------------------------------

def test_extra_columns_and_missing_optional_columns_are_tolerated(tmp_path: Path) -> None:
    header = ["市区町村名", "名称", "医療機関の種類", "独自の列"]
    result = read_opendata(write_csv(tmp_path / "m.csv", header, [
        {"市区町村名": "小布施町", "名称": "テスト医院", "医療機関の種類": "診療所", "独自の列": "x"}]))
    assert result.problems == []
    [resource] = result.resources
    assert (resource["type"], resource["municipality"], resource["address"], resource["latitude"],
            resource["phone"], resource["external_code"]) == ("clinic", "小布施町", None, None, None, None)
    assert import_key(resource) == import_key({"name": "テスト医院", "address": None, "type": "clinic"})


def test_a_missing_required_column_is_a_clear_problem_on_the_header_line(tmp_path: Path) -> None:
    header = [c for c in CARE_HEADER if c != "実施サービス"]
    result = read_opendata(write_csv(tmp_path / "k.csv", header, [care_row()]))
    assert result.resources == []
    assert [(p.row, p.reason) for p in result.problems] == [
        (1, "介護サービス事業所一覧の必須の列 「実施サービス」 が見出し行にありません")]


def test_a_named_kind_that_does_not_fit_the_header_names_every_missing_column(tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "k.csv", CARE_HEADER, [care_row()]), kind="medical")
    assert result.resources == [] and result.kind == "medical"
    [problem] = result.problems
    assert problem.row == 1 and "「名称」" in problem.reason and "「医療機関の種類」" in problem.reason


def test_a_header_of_neither_kind_is_a_problem(tmp_path: Path) -> None:
    result = read_opendata(write_csv(tmp_path / "x.csv", ["名前", "住所"], [{"名前": "a", "住所": "b"}]))
    assert result.resources == [] and result.kind == "unknown"
    assert result.problems[0].row == 1 and "判別できません" in result.problems[0].reason


def test_bytes_are_read_with_the_given_source_name() -> None:
    data = ",".join(MEDICAL_HEADER).encode("cp932") + b"\r\n" + ",".join(
        medical_row().get(c, "") for c in MEDICAL_HEADER).encode("cp932") + b"\r\n"
    result = read_opendata(data, source="須坂市_医療機関一覧.csv")
    assert result.encoding == "cp932"
    assert [r["source"] for r in result.resources] == ["須坂市_医療機関一覧.csv"]


def test_windows_only_characters_of_shift_jis_are_read(tmp_path: Path) -> None:
    rows = [care_row(法人の名称="㈱テスト", 備考="①駐車場あり")]
    path = write_csv(tmp_path / "k.csv", CARE_HEADER, rows, "cp932")
    result = read_opendata(path)
    assert result.encoding == "cp932" and result.problems == []
    assert "①駐車場あり" in result.resources[0]["notes"]


def test_undecodable_bytes_are_a_problem_not_an_exception() -> None:
    result = read_opendata("名称,医療機関の種類,市区町村名\r\n".encode("cp932") + b"\x85\x40,\x81\x20\r\n")
    assert result.resources == [] and result.encoding == "unknown"
    assert result.problems[0].row == 2 and "文字コード" in result.problems[0].reason


def test_an_unknown_kind_argument_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        read_opendata(b"", kind="pharmacy")


def test_import_key_prefers_the_code_and_separates_types() -> None:
    base = {"name": "テスト荘", "address": "長野県須坂市大字須坂1", "type": "short_stay"}
    assert import_key({**base, "external_code": "2060000001"}) == import_key(
        {**base, "name": "別名", "external_code": "2060000001"})
    assert import_key({**base, "external_code": None}) != import_key({**base, "name": "別名"})
    assert import_key({**base, "external_code": "2060000001"}) != import_key(
        {**base, "type": "care_facility", "external_code": "2060000001"})
    assert import_key({**base, "name": "テスト 荘"}) == import_key({**base, "name": "テスト荘"})
    assert len(import_key({**base, "name": "長" * 400})) <= 300


# --- the desk's own files --------------------------------------------------------------------------------

def test_type_and_capability_ids_are_exactly_those_of_the_evaluation_set() -> None:
    assert set(RESOURCE_TYPES) == TYPE_IDS
    assert set(CAPABILITIES) == CAPABILITY_IDS


def test_bundled_resources_parse_cleanly_and_are_all_sample_data() -> None:
    result = read_resources_csv(RESOURCES_CSV)
    assert result.problems == []
    resources = result.resources
    assert 55 <= len(resources) <= 70
    assert RESOURCES_CSV.read_text(encoding="utf-8").splitlines()[0] == ",".join(RESOURCE_COLUMNS)
    assert {r["type"] for r in resources} == TYPE_IDS
    assert all(r["sample"] is True and r["source"] == "sample" for r in resources)
    assert all(r["name"].endswith("（サンプル）") for r in resources)
    phones = [r["phone"] for r in resources]
    assert all(re.fullmatch(r"000-0000-\d{4}", p) for p in phones)
    assert len(set(phones)) == len(phones)
    assert all(r["updated_at"] == date(2026, 11, 1) for r in resources)


def test_bundled_resources_cover_every_municipality_with_plausible_places() -> None:
    resources = read_resources_csv(RESOURCES_CSV).resources
    for municipality, (lat, lon) in MUNICIPALITIES.items():
        here = [r for r in resources if r["municipality"] == municipality]
        assert {r["type"] for r in here} == TYPE_IDS, municipality
        for r in here:
            assert r["address"].startswith("長野県") and municipality in r["address"]
            assert abs(r["latitude"] - lat) < 0.05 and abs(r["longitude"] - lon) < 0.05, r["id"]
    assert {r["municipality"] for r in resources} == set(MUNICIPALITIES)


def test_bundled_around_the_clock_column_and_capability_agree_as_written() -> None:
    with RESOURCES_CSV.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            stated = "around_the_clock" in row["capabilities"].split()
            assert (row["around_the_clock"] == "true") == stated, row["id"]


def test_bundled_vacancies_cover_every_short_stay_and_nothing_else() -> None:
    resources = read_resources_csv(RESOURCES_CSV).resources
    result = read_vacancies_csv(VACANCIES_CSV, {r["id"] for r in resources})
    assert result.problems == []
    assert VACANCIES_CSV.read_text(encoding="utf-8").splitlines()[0] == ",".join(VACANCY_COLUMNS)
    short_stays = {r["id"] for r in resources if r["type"] == "short_stay"}
    assert {v["resource_id"] for v in result.rows} == short_stays
    assert len(result.rows) == len(short_stays)
    assert all(v["as_of"].year == 2026 and v["as_of"].month == 11 for v in result.rows)
    assert any(v["available_beds"] == 0 for v in result.rows)
    assert any(v["available_beds"] > 0 for v in result.rows)


def test_own_resources_csv_reports_bad_rows_by_line_and_keeps_the_rest(tmp_path: Path) -> None:
    lines = RESOURCES_CSV.read_text(encoding="utf-8").splitlines()
    good = lines[1:4]
    bad_type = good[0].replace("hospital_home_support", "hospice", 1).replace("suzaka-hhs-01", "x-1", 1)
    bad_cap = good[1].replace("suction", "sucction", 1).replace("suzaka-hhs-02", "x-2", 1)
    duplicate = good[2]
    path = tmp_path / "resources.csv"
    path.write_text("\n".join([lines[0], *good, bad_type, bad_cap, duplicate, ""]), encoding="utf-8")

    result = read_resources_csv(path)

    assert [r["id"] for r in result.resources] == ["suzaka-hhs-01", "suzaka-hhs-02", "obuse-hhs-01"]
    assert [r["source_row"] for r in result.resources] == [2, 3, 4]
    reasons: dict[int, str] = {}
    for problem in result.problems:
        reasons[problem.row] = reasons.get(problem.row, "") + problem.reason
    assert set(reasons) == {5, 6, 7}
    assert "hospice" in reasons[5] and "未知の種別" in reasons[5]
    assert "sucction" in reasons[6] and "未知の対応項目" in reasons[6]
    assert "4行目と重複" in reasons[7]


def test_own_resources_csv_in_shift_jis_and_without_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "resources.csv"
    path.write_bytes("id,name,type,municipality\r\nt-1,テスト診療所,clinic,須坂市\r\n".encode("shift_jis"))
    result = read_resources_csv(path)
    assert result.problems == [] and result.encoding == "cp932"
    [resource] = result.resources
    assert (resource["capabilities"], resource["around_the_clock"], resource["accepting_new"],
            resource["sample"], resource["source"]) == ([], False, None, False, "resources.csv")


def test_own_resources_csv_without_a_required_column_is_a_header_problem(tmp_path: Path) -> None:
    path = tmp_path / "resources.csv"
    path.write_text("id,name,municipality\nt-1,テスト,須坂市\n", encoding="utf-8")
    result = read_resources_csv(path)
    assert result.resources == []
    assert [(p.row, "「type」" in p.reason) for p in result.problems] == [(1, True)]


def test_vacancies_report_bad_rows_by_line(tmp_path: Path) -> None:
    path = tmp_path / "vacancies.csv"
    path.write_text("resource_id,available_beds,as_of,note\n"
                    "ss-1,2,2026-11-20,\n"
                    "ss-2,-1,2026-11-20,\n"
                    "ss-3,1,11/20,\n"
                    "ss-9,1,2026-11-20,\n"
                    "ss-1,0,2026-11-21,\n", encoding="utf-8")
    result = read_vacancies_csv(path, {"ss-1", "ss-2", "ss-3"})
    assert result.rows == [{"resource_id": "ss-1", "available_beds": 2, "as_of": date(2026, 11, 20),
                            "note": None, "source_row": 2}]
    assert [p.row for p in result.problems] == [3, 4, 5, 6]


# --- synonyms (read by the FAQ matcher, which rewrites substrings) --------------------------------------

def test_synonym_groups_share_no_term_and_no_variant_hides_in_a_canonical_term() -> None:
    groups = yaml.safe_load(SYNONYMS.read_text(encoding="utf-8"))["groups"]
    assert 40 <= len(groups) <= 70
    owner: dict[str, int] = {}
    for index, group in enumerate(groups):
        for term in map(canonical, map(str, group)):
            assert owner.setdefault(term, index) == index, f"{term} is in two groups"
    canonicals = [canonical(str(group[0])) for group in groups]
    for group in groups:
        for variant in map(canonical, map(str, group[1:])):
            hosts = [c for c in canonicals if variant in c and variant != c]
            assert not hosts, f"variant {variant} would be rewritten inside {hosts}"


def test_synonyms_cover_the_field_vocabulary() -> None:
    groups = yaml.safe_load(SYNONYMS.read_text(encoding="utf-8"))["groups"]
    together = {str(term): index for index, group in enumerate(groups) for term in group}
    pairs = [("ケアマネ", "介護支援専門員"), ("訪看", "訪問看護"), ("在支診", "在宅療養支援診療所"),
             ("在支病", "在宅療養支援病院"), ("包括", "地域包括支援センター"), ("ショート", "短期入所"),
             ("msw", "医療ソーシャルワーカー"), ("老健", "介護老人保健施設"), ("特養", "特別養護老人ホーム"),
             ("看取り", "ターミナルケア"), ("胃ろう", "経管栄養"), ("ivh", "中心静脈栄養"),
             ("吸引", "たんの吸引"), ("人工呼吸器", "呼吸器"), ("在宅酸素", "hot"), ("気管切開", "気切"),
             ("けあまね", "ケアマネ")]
    for a, b in pairs:
        assert a in together and b in together and together[a] == together[b], (a, b)
    for term in ("レスパイト", "医療的ケア児", "認知症", "往診", "訪問診療", "退院支援", "地域連携室",
                 "多職種", "拠点", "一般枠", "復興枠", "要介護認定", "介護保険", "高額療養費"):
        assert term in together, term
