"""Resource search on a small known data set, on SQLite and on PostgreSQL: filters, ranking, paging, cards.

The ranking: nearest first for a location; then, when vacancies are wanted, those with free beds;
then those not known to refuse new users; then more free beds; then the resource id. Besides the
hand-made cases, a random data set is searched in every combination of filters and compared with
`expected_names`, the ranking spelled out in plain Python over the rows as inserted.
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, insert

from bot.resource_query import ResourceQuery
from db.models import Resource, Vacancy
from db.session import Database
from knowledge.search import NEAR_BOX_DEGREES, ResourceSearcher

AS_OF = date(2026, 11, 20)
HOME = (36.65, 138.31)


def resource(rid: str, **values: Any) -> dict[str, Any]:
    row = {"id": rid, "import_key": f"test:{rid}", "name": f"検索テスト{rid}（架空）", "type": "short_stay",
           "municipality": "架空市", "address": None, "latitude": None, "longitude": None,
           "phone": "000-0000-0000", "hours": None, "around_the_clock": False, "capabilities": [],
           "accepting_new": True, "notes": None, "source": "test", "source_row": None, "external_code": None,
           "sample": True, "active": True, "updated_at": datetime(2026, 11, 1, tzinfo=UTC), "beds": None}
    row.update(values)
    return row


def store(db: Database, rows: list[dict[str, Any]]) -> None:
    """Replace every resource and vacancy with `rows` (their `beds`: a vacancy row, None for none)."""
    with db.session() as session:
        session.execute(delete(Vacancy))
        session.execute(delete(Resource))
        session.execute(insert(Resource), [{k: v for k, v in r.items() if k != "beds"} for r in rows])
        vacancies = [{"resource_id": r["id"], "available_beds": r["beds"], "as_of": AS_OF, "note": None,
                      "updated_at": datetime(2026, 11, 1, tzinfo=UTC), "updated_by": None}
                     for r in rows if r["beds"] is not None]
        if vacancies:
            session.execute(insert(Vacancy), vacancies)


@pytest.fixture
def search(database: Database) -> ResourceSearcher:
    return ResourceSearcher(database)


def names(searcher: ResourceSearcher, query: ResourceQuery, near: tuple[float, float] | None = None,
          limit: int = 10, offset: int = 0) -> list[str]:
    return [card.name.removeprefix("検索テスト").removesuffix("（架空）")
            for card in searcher.find(query, near, limit, offset)]


def query(type: str | None = "short_stay", municipality: str | None = None,
          capabilities: tuple[str, ...] = (), wants_vacancy: bool = False) -> ResourceQuery:
    return ResourceQuery(type, municipality, capabilities, wants_vacancy)


def test_accepting_then_more_beds_then_id(database: Database, search: ResourceSearcher) -> None:
    store(database, [
        resource("a-refuses", accepting_new=False, beds=5),
        resource("b-full", beds=0),
        resource("c-unknown", accepting_new=None),
        resource("d-two", beds=2),
        resource("e-four", beds=4),
        resource("f-none"),
        resource("g-gone", beds=9, active=False),
    ])
    assert names(search, query()) == ["e-four", "d-two", "b-full", "c-unknown", "f-none", "a-refuses"]
    # Wanting vacancies puts free beds first, even where new users are refused.
    assert names(search, query(wants_vacancy=True)) == ["e-four", "d-two", "a-refuses", "b-full", "c-unknown",
                                                        "f-none"]


def test_filters_by_type_municipality_and_capabilities(database: Database, search: ResourceSearcher) -> None:
    store(database, [
        resource("a", type="visiting_nurse", capabilities=["ventilator", "suction"]),
        resource("b", type="visiting_nurse", capabilities=["suction"], around_the_clock=True),
        resource("c", type="visiting_nurse", municipality="別の架空町", capabilities=["ventilator"]),
        resource("d", type="visiting_nurse", capabilities=["around_the_clock", "tube_feeding"]),
        resource("e", type="clinic", capabilities=["ventilator", "suction"]),
    ])
    nurse = "visiting_nurse"
    assert names(search, query(nurse)) == ["a", "b", "c", "d"]
    assert names(search, query(nurse, "架空市")) == ["a", "b", "d"]
    assert names(search, query(None, "架空市")) == ["a", "b", "d", "e"]
    assert names(search, query(nurse, capabilities=("ventilator",))) == ["a", "c"]
    assert names(search, query(nurse, capabilities=("ventilator", "suction"))) == ["a"]
    assert names(search, query(nurse, capabilities=("feeding",))) == []  # whole elements only
    # 24 hours: the column or the list says so.
    assert names(search, query(nurse, capabilities=("around_the_clock",))) == ["b", "d"]
    assert names(search, query(nurse, capabilities=("around_the_clock", "suction"))) == ["b"]
    assert names(search, query("hospital")) == []


def test_nearest_first_within_the_box_and_ties_by_the_rest(database: Database,
                                                            search: ResourceSearcher) -> None:
    lat, lon = HOME
    store(database, [
        resource("far", latitude=lat + 0.2, longitude=lon, beds=3),
        resource("near", latitude=lat + 0.01, longitude=lon),
        resource("twin-refuses", latitude=lat + 0.05, longitude=lon + 0.05, accepting_new=False, beds=4),
        resource("twin-full", latitude=lat + 0.05, longitude=lon + 0.05, beds=0),
        resource("twin-beds", latitude=lat + 0.05, longitude=lon + 0.05, beds=1),
        resource("outside", latitude=lat + NEAR_BOX_DEGREES + 0.01, longitude=lon),
        resource("nowhere", beds=5),
    ])
    anything = query(None)
    assert names(search, anything, HOME) == ["near", "twin-beds", "twin-full", "twin-refuses", "far"]
    assert names(search, query(None, wants_vacancy=True), HOME) == [
        "near", "twin-beds", "twin-refuses", "twin-full", "far"]
    cards = search.find(anything, HOME)
    assert [round(c.distance_km or 0, 1) for c in cards] == [1.1, 7.1, 7.1, 7.1, 22.2]
    assert all(card.distance_km is None for card in search.find(anything))
    assert names(search, anything, HOME, limit=2, offset=1) == ["twin-beds", "twin-full"]


def test_a_card_carries_what_the_reply_shows(database: Database, search: ResourceSearcher) -> None:
    store(database, [
        resource("full", name="満床の架空ショート（サンプル）", address="架空県架空市1-1", hours="平日 9:00-17:00",
                 capabilities=["dementia", "around_the_clock"], around_the_clock=True, beds=0,
                 latitude=HOME[0], longitude=HOME[1]),
        resource("free", name="空きのある架空ショート（サンプル）", beds=2, sample=False),
    ])
    heading, cards = search(query(wants_vacancy=True, municipality="架空市"))
    assert heading == "架空市の短期入所（ショートステイ）の空き状況"
    free, full = cards
    assert (free.name, free.vacancy, free.sample, free.distance_km) == ("空きのある架空ショート（サンプル）",
                                                                         "空き2床（2026-11-20時点）", False, None)
    assert (full.type_label, full.municipality, full.address, full.phone, full.hours) == (
        "短期入所（ショートステイ）", "架空市", "架空県架空市1-1", "000-0000-0000", "平日 9:00-17:00")
    assert full.capabilities == ("認知症",) and full.around_the_clock and full.sample
    assert full.vacancy == "満床（2026-11-20時点）"
    heading, (card,) = search(query(None, capabilities=("dementia",)), near=(HOME[0] + 0.01, HOME[1]))
    assert heading == "お近くの医療・介護の事業所（認知症）" and card.distance_km == pytest.approx(1.112, abs=0.001)


def test_pages_follow_one_another(database: Database, search: ResourceSearcher) -> None:
    store(database, [resource(f"r{n:02d}", beds=n % 3, latitude=HOME[0] + n % 4 / 100, longitude=HOME[1])
                     for n in range(13)])
    for near in (None, HOME):
        whole = names(search, query(), near, limit=20)
        pages = [names(search, query(), near, limit=5, offset=offset) for offset in (0, 5, 10, 15)]
        assert [name for page in pages for name in page] == whole and len(whole) == 13


# -- the ranking, spelled out --------------------------------------------------------------------------

TYPES = ("short_stay", "visiting_nurse", "clinic")
PLACES = ("架空市", "架空町", "架空村")
CAPS = ("ventilator", "suction", "dementia", "around_the_clock")


def random_rows(rng: random.Random, spread: float, count: int = 150) -> list[dict[str, Any]]:
    spots = [(HOME[0] + rng.uniform(-spread, spread), HOME[1] + rng.uniform(-spread, spread))
             for _ in range(40)]
    rows = []
    for n in range(count):
        lat, lon = rng.choice(spots) if rng.random() < 0.9 else (None, None)  # shared spots: equal distances
        rows.append(resource(
            f"x{rng.randrange(10**6):06d}-{n}", type=rng.choice(TYPES), municipality=rng.choice(PLACES),
            latitude=lat, longitude=lon, around_the_clock=rng.random() < 0.3,
            capabilities=[c for c in CAPS if rng.random() < 0.35],
            accepting_new=rng.choice([True, False, None]), beds=rng.choice([None, None, 0, 1, 2, 2, 5]),
            active=rng.random() < 0.95))
    return rows


def expected_names(rows: list[dict[str, Any]], q: ResourceQuery, near: tuple[float, float] | None,
                   limit: int, offset: int) -> list[str]:
    def matches(r: dict[str, Any]) -> bool:
        caps = set(r["capabilities"]) | ({"around_the_clock"} if r["around_the_clock"] else set())
        in_box = near is None or (r["latitude"] is not None
                                  and abs(r["latitude"] - near[0]) <= NEAR_BOX_DEGREES
                                  and abs(r["longitude"] - near[1]) <= NEAR_BOX_DEGREES)
        return (r["active"] and q.type in (None, r["type"]) and q.municipality in (None, r["municipality"])
                and set(q.capabilities) <= caps and in_box)

    def rank(r: dict[str, Any]) -> tuple[Any, ...]:
        beds = r["beds"] or 0
        distance = haversine(near, (r["latitude"], r["longitude"])) if near else 0.0
        return (distance, 0 if (not q.wants_vacancy or beds > 0) else 1,
                1 if r["accepting_new"] is False else 0, -beds, r["id"])

    found = sorted(filter(matches, rows), key=rank)[offset:offset + limit]
    return [r["name"].removeprefix("検索テスト").removesuffix("（架空）") for r in found]


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


# Spread out, the search widens its box around a location; dense, the first small box holds the page.
@pytest.mark.parametrize("spread", [0.3, 0.04], ids=["spread-out", "dense"])
def test_every_combination_of_filters_ranks_as_spelled_out(database: Database, search: ResourceSearcher,
                                                           spread: float) -> None:
    rng = random.Random(7)
    rows = random_rows(rng, spread)
    store(database, rows)
    spots = [None, HOME, (HOME[0] + spread * 0.7, HOME[1] - spread * 0.3)]
    capability_sets = [(), ("suction",), ("around_the_clock",), ("ventilator", "dementia")]
    checked = nonempty = 0
    for rtype, place, caps, vacancy, near, (limit, offset) in itertools.product(
            (None, *TYPES[:2]), (None, PLACES[0]), capability_sets, (False, True), spots, ((5, 0), (6, 5))):
        q = query(rtype, place, caps, vacancy)
        want = expected_names(rows, q, near, limit, offset)
        assert names(search, q, near, limit, offset) == want, (q, near, limit, offset)
        checked += 1
        nonempty += bool(want)
    assert nonempty > checked / 2
