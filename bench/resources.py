"""Resource search speed: `ResourceSearcher` end to end over 50,000 resources, against a floor.

Generates fictional resources (names say 架空 and （サンプル）, phones 000-0000-NNNN) in a made-up
region of a few hundred municipalities of very different sizes, every resource type and
capability, most with coordinates, a few inactive, and vacancies for short stays and care
facilities. They go into a scratch database built by the project's migrations: a temporary SQLite
file, and a scratch schema in PostgreSQL (127.0.0.1:5432/test) that is dropped afterwards;
PostgreSQL gets VACUUM ANALYZE after the load, as autovacuum would do shortly after a bulk import (its
statistics, and the visibility map that lets an index answer alone); SQLite gets nothing, as the desk
never runs ANALYZE there.

The queries, with a fixed seed, are an equal mix of: type only; type + municipality; type +
capability; a shared location without a type (LINE's location message); a location and a type;
vacancy wanted (short stay or care facility, by municipality or location); and page 2 (offset 5,
limit 6, as Slack's 「もっと見る」 asks). Each is timed through `ResourceSearcher.__call__` (session,
query, heading and cards), beside the floor measured right after it on the same Database: one
primary-key lookup of a resource's name in its own session and transaction.
SPEC: resource search p99 ≤ 20 ms over 50,000 resources.

Usage: .venv/bin/python bench/resources.py [--resources 50000] [--backend sqlite|postgres|both]
       [--queries 1400]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.resource_query import ResourceQuery
from db.migrate import upgrade
from db.models import Resource, Vacancy
from db.session import Database
from knowledge.opendata import CAPABILITIES, RESOURCE_TYPES
from knowledge.search import ResourceSearcher

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SEED = 20261122
BAR_P99_MS = 20.0
MUNICIPALITIES = 300
# Roughly the shares of each kind of provider in a Japanese prefecture.
TYPE_WEIGHTS = {
    "clinic": 25, "pharmacy": 20, "care_management_office": 14, "dental": 8, "visiting_nurse": 6,
    "clinic_home_support": 6, "care_facility": 6, "short_stay": 4, "disability_consultation": 4,
    "hospital": 3, "community_support_center": 2, "hospital_home_support": 1, "home_care_desk": 1,
}
MEDICAL = {"hospital_home_support", "clinic_home_support", "hospital", "clinic", "visiting_nurse"}
WITH_BEDS = {"short_stay": 0.7, "care_facility": 0.4}  # share of each type that reports vacancies
KINDS = ("type", "type+municipality", "type+capability", "near", "near+type", "vacancy", "page 2")


@dataclass(frozen=True)
class Town:
    name: str
    lat: float
    lon: float
    spread: float  # degrees; big cities sprawl
    weight: float


@dataclass(frozen=True)
class Search:
    kind: str
    query: ResourceQuery
    near: tuple[float, float] | None
    limit: int
    offset: int


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--queries", type=int, default=1400, help="timed searches per backend")
    args = parser.parse_args(argv)
    assert set(TYPE_WEIGHTS) == set(RESOURCE_TYPES), "every resource type gets a weight"

    rng = random.Random(SEED)
    towns = make_towns(rng)
    resources, vacancies = make_resources(args.resources, towns, rng)
    searches = make_searches(args.queries, towns, random.Random(SEED + 1))
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(f"{len(resources)} synthetic resources in {len(towns)} municipalities, {len(vacancies)} vacancies; "
          f"{len(searches)} searches ({len(KINDS)} kinds, equal shares); floor = one primary-key lookup "
          f"through the same Database, after each search\n")
    header = (f"{'backend':>8} {'load s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'floor p50 ms':>12} "
              f"{'p50/floor':>9} {'p99/floor':>9} {'bar p99':>8}  verdict")
    print(header)
    print("-" * len(header))
    failures = 0
    per_kind: dict[str, dict[str, list[float]]] = {}
    cards: dict[str, dict[str, float]] = {}
    for backend in backends:
        with scratch_database(backend) as db:
            started = time.perf_counter()
            load(db, resources, vacancies)
            load_s = time.perf_counter() - started
            times, floors, counts = measure(db, searches)
        p50, p99, floor = _pct(times, 0.50), _pct(times, 0.99), _pct(floors, 0.50)
        ok = p99 * 1e3 <= BAR_P99_MS
        failures += not ok
        print(f"{backend:>8} {load_s:>7.1f} {p50 * 1e3:>7.2f} {p99 * 1e3:>7.2f} {max(times) * 1e3:>7.2f} "
              f"{floor * 1e3:>12.3f} {p50 / floor:>9.1f} {p99 / floor:>9.1f} "
              f"{'≤' + format(BAR_P99_MS, 'g'):>8}  {'ok' if ok else 'TOO SLOW'}", flush=True)
        per_kind[backend] = {kind: [t for t, s in zip(times, searches, strict=True) if s.kind == kind]
                             for kind in KINDS}
        cards[backend] = {kind: sum(c for c, s in zip(counts, searches, strict=True) if s.kind == kind)
                          / max(1, sum(s.kind == kind for s in searches)) for kind in KINDS}

    print("\nby kind: p50 / p99 ms (mean cards per search)")
    print(f"{'kind':>18}" + "".join(f" {backend:>26}" for backend in backends))
    for kind in KINDS:
        cells = [f"{_pct(per_kind[b][kind], 0.5) * 1e3:.2f} / {_pct(per_kind[b][kind], 0.99) * 1e3:.2f} "
                 f"({cards[b][kind]:.1f})" for b in backends]
        print(f"{kind:>18}" + "".join(f" {cell:>26}" for cell in cells))
    return 1 if failures else 0


# -- the data ------------------------------------------------------------------------------------------

def make_towns(rng: random.Random) -> list[Town]:
    """Fictional municipalities over a 3° × 3.5° region; a few big cities, many small towns."""
    towns = []
    for n in range(MUNICIPALITIES):
        weight = 1 / (n + 1) ** 0.8
        towns.append(Town(name=f"架空{n + 1:03d}{'市町村'[n % 3]}", lat=rng.uniform(34.5, 37.5),
                          lon=rng.uniform(136.5, 140.0), spread=0.02 + 0.2 * weight, weight=weight))
    return towns


def make_resources(count: int, towns: list[Town], rng: random.Random
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    types, type_weights = list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values())
    town_weights = [t.weight for t in towns]
    capability_ids = [c for c in CAPABILITIES if c != "around_the_clock"]
    updated_at = datetime(2026, 11, 1, tzinfo=UTC)
    resources, vacancies = [], []
    for n in range(count):
        town = rng.choices(towns, town_weights)[0]
        rtype = rng.choices(types, type_weights)[0]
        medical = rtype in MEDICAL
        around_the_clock = rng.random() < (0.3 if medical else 0.05)
        capabilities = [c for c in capability_ids
                        if rng.random() < (0.3 if medical or c == "dementia" else 0.08)]
        if around_the_clock and rng.random() < 0.5:  # as in resources.csv, sometimes listed too
            capabilities.append("around_the_clock")
        located = rng.random() >= 0.03
        rid = f"bench-{n:06d}"
        resources.append({
            "id": rid, "import_key": f"bench:{rid}",
            "name": f"架空{RESOURCE_TYPES[rtype].split('（')[0]}{n:05d}（サンプル）", "type": rtype,
            "municipality": town.name, "address": f"架空県{town.name}本町{n % 50 + 1}-{n % 9 + 1}",
            "latitude": rng.gauss(town.lat, town.spread) if located else None,
            "longitude": rng.gauss(town.lon, town.spread) if located else None,
            "phone": f"000-0000-{n % 10_000:04d}", "hours": "平日 9:00-17:00",
            "around_the_clock": around_the_clock, "capabilities": capabilities,
            "accepting_new": rng.choices([True, False, None], [70, 15, 15])[0],
            "notes": "ベンチマーク用の架空データです。実在の事業所ではありません。" * 3,
            "source": "bench/resources.py（架空）", "source_row": n + 2, "external_code": None,
            "sample": True, "active": rng.random() >= 0.02, "updated_at": updated_at,
        })
        if rng.random() < WITH_BEDS.get(rtype, 0.0):
            vacancies.append({"resource_id": rid, "available_beds": rng.choice([0, 0, 0, 1, 1, 2, 3, 4, 6]),
                              "as_of": date(2026, 11, rng.randint(1, 22)), "note": None,
                              "updated_at": updated_at, "updated_by": None})
    return resources, vacancies


def make_searches(count: int, towns: list[Town], rng: random.Random) -> list[Search]:
    """An equal mix of KINDS, in a shuffled order; places weighted like the resources."""
    types, type_weights = list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values())
    town_weights = [t.weight for t in towns]
    capability_ids = list(CAPABILITIES)

    def town() -> Town:
        return rng.choices(towns, town_weights)[0]

    def rtype() -> str:
        return rng.choices(types, type_weights)[0]

    def spot() -> tuple[float, float]:
        t = town()
        return rng.gauss(t.lat, t.spread), rng.gauss(t.lon, t.spread)

    searches = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        near, limit, offset = None, 5, 0
        if kind == "type":
            query = ResourceQuery(rtype(), None, (), False)
        elif kind == "type+municipality":
            query = ResourceQuery(rtype(), town().name, (), False)
        elif kind == "type+capability":
            query = ResourceQuery(rng.choice(sorted(MEDICAL)), rng.choice([None, town().name]),
                                  tuple(rng.sample(capability_ids, rng.choice([1, 1, 2]))), False)
        elif kind == "near":
            query, near = ResourceQuery(None, None, (), False), spot()
        elif kind == "near+type":
            query, near = ResourceQuery(rtype(), None, (), False), spot()
        elif kind == "vacancy":
            by_place = rng.random() < 0.5
            query = ResourceQuery(rng.choice(sorted(WITH_BEDS)), town().name if by_place else None, (), True)
            near = None if by_place else spot()
        else:  # page 2 of a type (+ municipality) list, the way Slack pages: limit page + 1
            query = ResourceQuery(rtype(), rng.choice([None, town().name]), (), False)
            limit, offset = 6, 5
        searches.append(Search(kind, query, near, limit, offset))
    rng.shuffle(searches)
    return searches


# -- the database --------------------------------------------------------------------------------------

@contextmanager
def scratch_database(backend: str) -> Iterator[Database]:
    """A migrated, empty database: a temporary SQLite file, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            try:
                upgrade(db.engine)
                yield db
            finally:
                db.dispose()
        return
    schema = f"zd_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    db = Database(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    try:
        upgrade(db.engine)
        yield db
    finally:
        db.dispose()
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def load(db: Database, resources: list[dict[str, Any]], vacancies: list[dict[str, Any]]) -> None:
    with db.session() as session:
        for start in range(0, len(resources), 5000):
            session.execute(insert(Resource), resources[start:start + 5000])
        session.execute(insert(Vacancy), vacancies)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE resources, vacancies"))


def measure(db: Database, searches: list[Search]) -> tuple[list[float], list[float], list[int]]:
    """Seconds per search, seconds per floor call (one after each search), and cards per search."""
    searcher = ResourceSearcher(db)
    with db.session() as session:
        ids = list(session.scalars(select(Resource.id).limit(1000)))

    def floor(n: int) -> object:
        with db.session() as session:
            return session.scalar(select(Resource.name).where(Resource.id == ids[n % len(ids)]))

    for search in searches[:50]:  # warm-up: connections, statement caches, the database's pages
        searcher(search.query, search.near, search.limit, search.offset)
        floor(0)
    times, floors, counts = [], [], []
    clock = time.perf_counter
    for n, search in enumerate(searches):
        started = clock()
        _heading, found = searcher(search.query, search.near, search.limit, search.offset)
        times.append(clock() - started)
        counts.append(len(found))
        started = clock()
        floor(n)
        floors.append(clock() - started)
    return times, floors, counts


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


if __name__ == "__main__":
    sys.exit(main())
