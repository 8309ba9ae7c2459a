"""Resources from files: the government's recommended open-data lists and the desk's own CSVs.

Municipalities publish two lists in the shape of the 推奨データセット: 介護サービス事業所一覧 (`care`) and
医療機関一覧 (`medical`), as UTF-8 (with or without BOM) or Shift_JIS. `read_opendata` turns either into
resource dicts with the columns of our resources.csv; `read_resources_csv` and `read_vacancies_csv` read
the desk's own files. All of them are pure: they read, check and report, and never touch the database.

A row that cannot become a resource (no name, a service we have no type for, unusable coordinates) is
left out and reported as an `ImportProblem` with its line number and a reason staff can act on; the
other rows are kept. A fault in the file itself (bytes that are neither UTF-8 nor Shift_JIS, a required
column missing from the header on line 1) is one problem and no resources.

`RESOURCE_TYPES` and `CAPABILITIES` are the one place the resource type and capability ids live.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

RESOURCE_TYPES: dict[str, str] = {
    "hospital_home_support": "在宅療養支援病院",
    "clinic_home_support": "在宅療養支援診療所",
    "hospital": "病院",
    "clinic": "診療所",
    "visiting_nurse": "訪問看護ステーション",
    "pharmacy": "薬局",
    "community_support_center": "地域包括支援センター",
    "care_management_office": "居宅介護支援事業所",
    "short_stay": "短期入所（ショートステイ）",
    "care_facility": "介護施設（特養・老健・介護医療院など）",
    "dental": "訪問歯科・在宅歯科医療連携室",
    "home_care_desk": "在宅医療・介護連携相談窓口",
    "disability_consultation": "相談支援事業所",
}

CAPABILITIES: dict[str, str] = {
    "ventilator": "人工呼吸器",
    "tracheostomy": "気管切開",
    "suction": "たんの吸引",
    "tube_feeding": "経管栄養（胃ろう等）",
    "iv_nutrition": "中心静脈栄養（IVH）",
    "oxygen": "在宅酸素",
    "terminal_care": "看取り（ターミナルケア）",
    "dementia": "認知症",
    "pediatric": "小児（医療的ケア児）",
    "around_the_clock": "24時間対応",
}

# The header of knowledge/data/resources.csv, in order; every resource dict carries these keys.
RESOURCE_COLUMNS: tuple[str, ...] = (
    "id", "name", "type", "municipality", "address", "latitude", "longitude", "phone", "hours",
    "around_the_clock", "capabilities", "accepting_new", "notes", "source", "sample", "updated_at",
)
VACANCY_COLUMNS: tuple[str, ...] = ("resource_id", "available_beds", "as_of", "note")

KIND_LABELS = {"care": "介護サービス事業所一覧", "medical": "医療機関一覧"}
_UNKNOWN_KIND = ("見出し行から種類を判別できません"
                 "（介護サービス事業所一覧の「実施サービス」か、医療機関一覧の「医療機関の種類」の列が必要です）")


@dataclass
class ImportProblem:
    row: int  # 1-based line number in the file; the header is line 1
    reason: str


@dataclass
class ImportResult:
    resources: list[dict[str, Any]]
    problems: list[ImportProblem]
    encoding: str  # "utf-8", "utf-8-sig" (with BOM) or "cp932" (Shift_JIS); "unknown" when unreadable
    kind: str  # "care", "medical", "resources" (our CSV) or "unknown"


@dataclass
class VacancyResult:
    rows: list[dict[str, Any]]
    problems: list[ImportProblem]
    encoding: str


def read_opendata(path_or_bytes: str | Path | bytes, kind: str | None = None,
                  source: str | None = None) -> ImportResult:
    """A 介護サービス事業所一覧 (`care`) or 医療機関一覧 (`medical`) as resource dicts.

    With kind None the header tells which; `source` names the origin (default: the file name).
    """
    if kind is not None and kind not in _SPECS:
        raise ValueError(f"unknown open-data kind {kind!r}; expected one of {sorted(_SPECS)}")
    table = _read_table(path_or_bytes)
    kind = kind or _detect_kind(table.columns)
    if kind is None:
        problems = table.problems or [ImportProblem(1, _UNKNOWN_KIND)]
        return ImportResult([], problems, table.encoding, "unknown")
    spec = _SPECS[kind]
    problems, usable = _check_header(table, spec.required, KIND_LABELS[kind])
    if not usable:
        return ImportResult([], problems, table.encoding, kind)
    by_key: dict[str, dict[str, Any]] = {}
    for line, cells in table.rows:
        made, reasons = spec.convert(_getter(table.columns, cells))
        problems.extend(ImportProblem(line, r) for r in reasons)
        for resource in made:
            resource.update(source=source or table.source, source_row=line)
            _merge(by_key, resource)
    return ImportResult(list(by_key.values()), _by_line(problems), table.encoding, kind)


def import_key(resource: Mapping[str, Any]) -> str:
    """What makes an imported resource the same one next time: its code, else its name and address.

    The type is part of the key because one 事業所番号 covers every service an office runs (a 特養 and the
    short stay beside it share one number), and those are separate resources here.
    """
    code = _key_text(resource.get("external_code"))
    rtype = str(resource.get("type") or "")
    key = f"code:{code}|{rtype}" if code else (
        f"name:{_key_text(resource.get('name'))}|{_key_text(resource.get('address'))}|{rtype}")
    if len(key) > 200:  # the column holds 300 characters; long names and addresses go in as a digest
        key = f"sha1:{hashlib.sha1(key.encode()).hexdigest()}|{rtype}"
    return key


def read_resources_csv(path: str | Path | bytes) -> ImportResult:
    """The desk's resources.csv (a file, or an upload's bytes): typed values, known type and capability
    ids, problems by line."""
    table = _read_table(path)
    problems, usable = _check_header(table, ("id", "name", "type", "municipality"), "resources.csv")
    if not usable:
        return ImportResult([], problems, table.encoding, "resources")
    resources: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for line, cells in table.rows:
        resource, reasons = _own_resource(_getter(table.columns, cells), table.source)
        keys = {"id": f"id:{resource['id']}", "名称・住所・種別": import_key(resource)}
        reasons += [f"{label}が {first_line[key]}行目と重複しています"
                    for label, key in keys.items() if key in first_line]
        if reasons:
            problems.extend(ImportProblem(line, r) for r in reasons)
            continue
        first_line.update(dict.fromkeys(keys.values(), line))
        resources.append({**resource, "source_row": line})
    return ImportResult(resources, _by_line(problems), table.encoding, "resources")


def read_vacancies_csv(path: str | Path, resource_ids: Collection[str] | None = None) -> VacancyResult:
    """The desk's vacancies.csv; with `resource_ids`, a row for an unknown resource is a problem too."""
    table = _read_table(path)
    problems, usable = _check_header(table, ("resource_id", "available_beds", "as_of"), "vacancies.csv")
    if not usable:
        return VacancyResult([], problems, table.encoding)
    rows: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for line, cells in table.rows:
        get = _getter(table.columns, cells)
        reasons: list[str] = []
        resource_id = get("resource_id")
        if not resource_id:
            reasons.append("resource_id が空です")
        elif resource_ids is not None and resource_id not in resource_ids:
            reasons.append(f"resource_id『{resource_id}』の資源がありません")
        elif resource_id in first_line:
            reasons.append(f"resource_id『{resource_id}』は {first_line[resource_id]}行目にもあります")
        beds = _nfkc(get("available_beds"))
        if not beds.isdigit():
            reasons.append(f"available_beds『{get('available_beds')}』は 0 以上の整数で書いてください")
        as_of = _parse_date(get("as_of"))
        if as_of is None:
            reasons.append(f"as_of『{get('as_of')}』は 2026-11-20 の形の日付で書いてください")
        if reasons:
            problems.extend(ImportProblem(line, r) for r in reasons)
            continue
        first_line[resource_id] = line
        rows.append({"resource_id": resource_id, "available_beds": int(beds), "as_of": as_of,
                     "note": get("note") or None, "source_row": line})
    return VacancyResult(rows, _by_line(problems), table.encoding)


# --- the two open-data kinds -------------------------------------------------------------------------

Getter = Callable[[str], str]


@dataclass(frozen=True)
class _Spec:
    required: tuple[str, ...]
    markers: tuple[str, ...]  # any of these in a header says the file is of this kind
    convert: Callable[[Getter], tuple[list[dict[str, Any]], list[str]]]


# 実施サービス → type and the capabilities the service implies by what it is. First match wins; each
# pattern is looked for inside the service name, so 介護予防 and 地域密着型 forms map with their base service.
_CARE_SERVICES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("在宅医療・介護連携", "home_care_desk", ()),
    ("在宅医療介護連携", "home_care_desk", ()),
    ("地域包括支援センター", "community_support_center", ()),
    ("介護予防支援", "community_support_center", ()),
    ("居宅介護支援", "care_management_office", ()),
    ("訪問看護", "visiting_nurse", ()),
    ("短期入所", "short_stay", ()),
    ("老人福祉施設", "care_facility", ()),
    ("特別養護老人ホーム", "care_facility", ()),
    ("介護老人保健施設", "care_facility", ()),
    ("介護医療院", "care_facility", ()),
    ("介護療養型医療施設", "care_facility", ()),
    ("認知症対応型共同生活介護", "care_facility", ("dementia",)),
    ("訪問歯科", "dental", ()),
    ("在宅歯科", "dental", ()),
    ("訪問薬剤", "pharmacy", ()),
    ("相談支援", "disability_consultation", ()),
)
_SERVICE_SEPARATORS = re.compile(r"[、,，;；/／|｜\n]+")
_24H = ("24時間", "24h", "二十四時間", "終日")
_NEGATION = re.compile(r"不可|なし|無し|非対応|ではない|ではありません|していない|していません"
                       r"|できない|できません|と連携|との連携|×|✕")
_CLAUSE_END = re.compile(r"[。、,，/／;；\s]")


def _convert_care(get: Getter) -> tuple[list[dict[str, Any]], list[str]]:
    reasons: list[str] = []
    name = get("介護サービス事業所名称")
    service = get("実施サービス")
    if not name:
        reasons.append("介護サービス事業所名称が空です")
    types = _care_types(service)
    if not service:
        reasons.append("実施サービスが空です")
    elif not types:
        reasons.append(f"実施サービス『{service}』は対応する種別がありません")
    common, more = _common(get, name)
    reasons += more
    if reasons:
        return [], reasons
    around_the_clock = _states(_join(" ", get("利用可能曜日特記事項"), get("備考")), _24H)
    capacity = _nfkc(get("定員"))
    resources = []
    for rtype, capabilities in types:
        resources.append({
            **common, "type": rtype,
            "hours": _join(" ", get("利用可能曜日"), get("利用可能曜日特記事項")),
            "around_the_clock": around_the_clock,
            "capabilities": _with_clock(capabilities, around_the_clock),
            "notes": _join(" / ", f"定員{capacity}名" if capacity else "", get("備考")),
            "external_code": get("事業所番号") or None,
        })
    return resources, []


def _convert_medical(get: Getter) -> tuple[list[dict[str, Any]], list[str]]:
    reasons: list[str] = []
    name = get("名称")
    category = get("医療機関の種類")
    if not name:
        reasons.append("名称が空です")
    rtype = _medical_type(category, get("備考"))
    if not category:
        reasons.append("医療機関の種類が空です")
    elif rtype is None:
        reasons.append(f"医療機関の種類『{category}』は対応する種別がありません")
    common, more = _common(get, name)
    reasons += more
    if reasons or rtype is None:
        return [], reasons
    # A 在宅療養支援診療所/病院 keeps a 24-hour line and home visits by definition.
    around_the_clock = rtype in ("clinic_home_support", "hospital_home_support") or _states(
        get("時間外における対応"), _24H)
    hours = _join(" ", get("診療曜日"), _join("-", get("診療開始時間"), get("診療終了時間")))
    beds = _nfkc(get("病床数"))
    return [{
        **common, "type": rtype, "hours": hours, "around_the_clock": around_the_clock,
        "capabilities": _with_clock([], around_the_clock),
        "notes": _join(" / ", f"診療科目: {get('診療科目')}" if get("診療科目") else "",
                       f"病床数 {beds}" if beds else "", get("診療日時特記事項"), get("時間外における対応"),
                       get("備考")),
        "external_code": get("医療機関コード") or None,
    }], []


_SPECS: dict[str, _Spec] = {
    "care": _Spec(required=("介護サービス事業所名称", "市区町村名", "実施サービス"),
                  markers=("実施サービス", "介護サービス事業所名称", "事業所番号"), convert=_convert_care),
    "medical": _Spec(required=("名称", "市区町村名", "医療機関の種類"),
                     markers=("医療機関の種類", "医療機関コード", "診療科目"), convert=_convert_medical),
}


def _care_types(service: str) -> list[tuple[str, list[str]]]:
    """Each distinct type a 実施サービス cell names, with capabilities (「訪問看護、居宅介護支援」: two)."""
    found: dict[str, list[str]] = {}
    for part in _SERVICE_SEPARATORS.split(_nfkc(service)):
        match = next(((rtype, caps) for pattern, rtype, caps in _CARE_SERVICES if pattern in part), None)
        if match:
            kept = found.setdefault(match[0], [])
            kept.extend(c for c in match[1] if c not in kept)
    return list(found.items())


def _medical_type(category: str, remarks: str) -> str | None:
    text = _nfkc(category)
    said = text + " " + _nfkc(remarks)
    if "歯科" in text:
        return "dental"
    if "薬局" in text:
        return "pharmacy"
    if "病院" in text:
        return "hospital_home_support" if _states(said, ("在宅療養支援病院", "在支病")) else "hospital"
    if "診療所" in text or "クリニック" in text:
        return "clinic_home_support" if _states(said, ("在宅療養支援診療所", "在支診")) else "clinic"
    return None


def _common(get: Getter, name: str) -> tuple[dict[str, Any], list[str]]:
    """The columns both kinds share: place, coordinates, phone."""
    reasons: list[str] = []
    municipality = _municipality(get("市区町村名"))
    if not municipality:
        reasons.append("市区町村名が空です")
    latitude, longitude, problem = _coordinates(get("緯度"), get("経度"))
    if problem:
        reasons.append(problem)
    extension = get("内線番号")
    return {
        "id": None, "name": name, "municipality": municipality,
        "address": _join(" ", get("住所"), get("方書")) or None,
        "latitude": latitude, "longitude": longitude,
        "phone": _join(" ", get("電話番号"), f"内線{extension}" if extension else "") or None,
        "accepting_new": None, "sample": False, "updated_at": None,
    }, reasons


def _detect_kind(columns: Mapping[str, int]) -> str | None:
    hits = [kind for kind, spec in _SPECS.items() if any(m in columns for m in spec.markers)]
    return hits[0] if len(hits) == 1 else None


def _merge(by_key: dict[str, dict[str, Any]], resource: dict[str, Any]) -> None:
    """Rows for one office and type (訪問看護 and 介護予防訪問看護 under one number) become one resource."""
    key = import_key(resource)
    kept = by_key.setdefault(key, resource)
    if kept is not resource:
        kept["around_the_clock"] = kept["around_the_clock"] or resource["around_the_clock"]
        kept["capabilities"] = _with_clock(
            kept["capabilities"] + [c for c in resource["capabilities"] if c not in kept["capabilities"]],
            kept["around_the_clock"])


# --- the desk's own CSV -----------------------------------------------------------------------------

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TRUE = frozenset({"true", "1", "yes", "y", "はい", "○", "〇", "可", "有", "あり"})
_FALSE = frozenset({"false", "0", "no", "n", "いいえ", "×", "不可", "無", "なし"})


def _own_resource(get: Getter, file_name: str) -> tuple[dict[str, Any], list[str]]:
    reasons: list[str] = []
    rid, name, rtype, municipality = get("id"), get("name"), get("type"), get("municipality")
    if not _ID.match(rid):
        reasons.append(f"id『{rid}』は英小文字・数字・ハイフンで書いてください（例: suzaka-vn-01）" if rid
                       else "id が空です")
    if not name:
        reasons.append("name が空です")
    if rtype not in RESOURCE_TYPES:
        reasons.append(f"type『{rtype}』は未知の種別です（使えるのは {', '.join(RESOURCE_TYPES)}）")
    if not municipality:
        reasons.append("municipality が空です")
    latitude, longitude, problem = _coordinates(get("latitude"), get("longitude"))
    if problem:
        reasons.append(problem)
    capabilities = [c for c in re.split(r"[\s,、・;]+", get("capabilities")) if c]
    unknown = [c for c in capabilities if c not in CAPABILITIES]
    if unknown:
        reasons.append(f"capabilities の {', '.join(unknown)} は未知の対応項目です"
                       f"（使えるのは {', '.join(CAPABILITIES)}）")
    flags: dict[str, bool | None] = {}
    for column, default in (("around_the_clock", False), ("accepting_new", None), ("sample", False)):
        value, problem = _parse_bool(column, get(column), default)
        flags[column] = value
        if problem:
            reasons.append(problem)
    updated_at = None
    if get("updated_at"):
        updated_at = _parse_date(get("updated_at"))
        if updated_at is None:
            reasons.append(f"updated_at『{get('updated_at')}』は 2026-11-01 の形の日付で書いてください")
    # around_the_clock is stated twice (a column and a capability); either one says it.
    around_the_clock = bool(flags["around_the_clock"]) or "around_the_clock" in capabilities
    resource = {
        "id": rid, "name": name, "type": rtype, "municipality": municipality,
        "address": get("address") or None, "latitude": latitude, "longitude": longitude,
        "phone": get("phone") or None, "hours": get("hours") or None,
        "around_the_clock": around_the_clock,
        "capabilities": _with_clock(list(dict.fromkeys(capabilities)), around_the_clock),
        "accepting_new": flags["accepting_new"], "notes": get("notes") or None,
        "source": get("source") or file_name, "sample": bool(flags["sample"]), "updated_at": updated_at,
        "external_code": None,
    }
    return resource, reasons


def _parse_bool(column: str, value: str, default: bool | None) -> tuple[bool | None, str | None]:
    text = _nfkc(value).lower()
    if not text:
        return default, None
    if text in _TRUE:
        return True, None
    if text in _FALSE:
        return False, None
    return default, f"{column}『{value}』は true か false で書いてください"


# --- shared reading -----------------------------------------------------------------------------------

_LATITUDE = (20.0, 46.0)  # Japan, with room to spare
_LONGITUDE = (122.0, 154.0)


@dataclass
class _Table:
    source: str  # the file name, or "upload" for bytes
    encoding: str
    columns: dict[str, int]  # header title → cell index
    rows: list[tuple[int, list[str]]]  # (line where the row starts, cells), blank rows left out
    problems: list[ImportProblem]  # file-level: unreadable bytes, broken quoting


def _read_table(path_or_bytes: str | Path | bytes) -> _Table:
    if isinstance(path_or_bytes, (bytes, bytearray)):
        data, source = bytes(path_or_bytes), "upload"
    else:
        data, source = Path(path_or_bytes).read_bytes(), Path(path_or_bytes).name
    decoded = _decode(data)
    if isinstance(decoded, ImportProblem):
        return _Table(source, "unknown", {}, [], [decoded])
    text, encoding = decoded
    rows: list[tuple[int, list[str]]] = []
    problems: list[ImportProblem] = []
    # A quoted cell may span lines, so the reader's line count, not a row count, gives the line numbers.
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(ImportProblem(start, f"{start}行目から先を CSV として読めません（{exc}）"))
    header = rows.pop(0)[1] if rows else []
    return _Table(source, encoding, _columns(header), rows, problems)


def _check_header(table: _Table, required: Sequence[str], label: str) -> tuple[list[ImportProblem], bool]:
    """The file-level problems so far, and whether the rows can be read (the required columns are there)."""
    if not table.columns:
        return list(table.problems) or [ImportProblem(1, "ファイルが空です")], False
    missing = [c for c in required if c not in table.columns]
    if missing:
        names = "、".join(f"「{c}」" for c in missing)
        return [ImportProblem(1, f"{label}の必須の列 {names} が見出し行にありません")], False
    return list(table.problems), True


def _by_line(problems: list[ImportProblem]) -> list[ImportProblem]:
    return sorted(problems, key=lambda p: p.row)


def _decode(data: bytes) -> tuple[str, str] | ImportProblem:
    """UTF-8 (BOM or not) when the bytes are valid UTF-8, else Shift_JIS in its Windows form (CP932)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            return _undecodable(data, exc.start + len(codecs.BOM_UTF8))
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        return _undecodable(data, exc.start)


def _undecodable(data: bytes, offset: int) -> ImportProblem:
    line = data[:offset].count(b"\n") + 1
    return ImportProblem(line, f"文字コードを読み取れません（{line}行目）。"
                               "UTF-8 か Shift_JIS で保存してください")


def _columns(header: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        columns.setdefault(re.sub(r"\s+", "", _nfkc(title.lstrip("\ufeff"))), index)
    return columns


def _getter(columns: Mapping[str, int], cells: Sequence[str]) -> Getter:
    def get(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""
    return get


def _coordinates(lat_text: str, lon_text: str) -> tuple[float | None, float | None, str | None]:
    lat_text, lon_text = _nfkc(lat_text), _nfkc(lon_text)
    if not lat_text and not lon_text:
        return None, None, None
    if not lat_text or not lon_text:
        return None, None, "緯度と経度の片方しか入っていません"
    try:
        latitude, longitude = float(lat_text), float(lon_text)
    except ValueError:
        return None, None, f"緯度・経度『{lat_text}, {lon_text}』が数値ではありません"
    if _LATITUDE[0] <= latitude <= _LATITUDE[1] and _LONGITUDE[0] <= longitude <= _LONGITUDE[1]:
        return latitude, longitude, None
    if _LATITUDE[0] <= longitude <= _LATITUDE[1] and _LONGITUDE[0] <= latitude <= _LONGITUDE[1]:
        return None, None, f"緯度・経度『{lat_text}, {lon_text}』が入れ替わっているようです"
    return None, None, f"緯度・経度『{lat_text}, {lon_text}』が日本の範囲外です"


def _states(text: str, terms: Sequence[str]) -> bool:
    """Whether the text says one of the terms without denying it right after (「24時間対応不可」)."""
    text = _nfkc(text).lower()
    for term in terms:
        term = term.lower()
        start = text.find(term)
        while start >= 0:
            clause = _CLAUSE_END.split(text[start + len(term):start + len(term) + 12])[0]
            if not _NEGATION.search(clause):
                return True
            start = text.find(term, start + 1)
    return False


def _municipality(value: str) -> str:
    """「長野県上高井郡小布施町」 → 「小布施町」: the name without prefecture and district."""
    name = re.sub(r"^(?:東京都|北海道|(?:京都|大阪)府|\S{2,3}県)", "", _nfkc(value))
    return re.sub(r"^\S+?郡(?=\S+[町村]$)", "", name) or _nfkc(value)


def _with_clock(capabilities: list[str], around_the_clock: bool) -> list[str]:
    rest = [c for c in capabilities if c != "around_the_clock"]
    return rest + ["around_the_clock"] if around_the_clock else rest


def _parse_date(value: str) -> date | None:
    """An ISO date, or the date of an ISO date-time."""
    try:
        return datetime.fromisoformat(_nfkc(value)).date()
    except ValueError:
        return None


def _key_text(value: Any) -> str:
    return re.sub(r"\s+", "", _nfkc(str(value or ""))).lower()


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def _join(separator: str, *parts: str) -> str:
    return separator.join(p for p in parts if p)
