"""Resource search behind the desk: filters, nearest first for a location, vacancies with their date.

The ranking: nearest first for a shared location; then, when vacancies are wanted, those with free
beds; then those not known to refuse new users (`accepting_new` not False); then more free beds; and
last the resource id, so that equal ranks always come in the same order and pages neither repeat nor
skip. The database filters, orders and pages by everything but the distance, reading only ids (and
coordinates); only the requested page is then loaded in full. For a location the database returns
the candidates in a box around it in that order and they are stable-sorted here by great-circle
distance; a small box first, a bigger one only when the small one cannot hold the page for certain.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from sqlalchemy import ColumnElement, Row, Select, case, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from bot.messages import ResourceCard
from bot.resource_query import ResourceQuery
from db.models import Resource, Vacancy
from db.session import Database
from knowledge.opendata import CAPABILITIES, RESOURCE_TYPES

NEAR_BOX_DEGREES = 0.25  # about 25 km around a shared location
# Half-widths in degrees of the boxes tried in turn around a location, ending with the whole one: in a
# city the first already holds the nearest places, so the thousands in the whole box are not ranked.
_NEAR_STEPS = (0.03, 0.08, NEAR_BOX_DEGREES)
_EARTH_KM = 6371.0

_CARD_COLUMNS = (Resource.id, Resource.name, Resource.type, Resource.municipality, Resource.address,
                 Resource.phone, Resource.hours, Resource.capabilities, Resource.around_the_clock,
                 Resource.sample, Resource.latitude, Resource.longitude,
                 Vacancy.available_beds, Vacancy.as_of)


class ResourceSearcher:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = db.engine.dialect.name

    def __call__(self, query: ResourceQuery, near: tuple[float, float] | None = None,
                 limit: int = 5, offset: int = 0) -> tuple[str, list[ResourceCard]]:
        return heading(query, near), self.find(query, near, limit, offset)

    def find(self, query: ResourceQuery, near: tuple[float, float] | None = None,
             limit: int = 5, offset: int = 0) -> list[ResourceCard]:
        ranked = (_with_vacancy(select()).where(Resource.active, *self._filters(query))
                  .order_by(*_order(query)))
        with self.db.session() as session:
            if near is None:
                ids = list(session.scalars(ranked.add_columns(Resource.id).limit(limit).offset(offset)))
            else:
                ids = _nearest(session, ranked, near, offset + limit)[offset:]
            found = session.execute(_with_vacancy(select(*_CARD_COLUMNS)).where(Resource.id.in_(ids)))
            by_id = {row.id: row for row in found}
            rows = [by_id[rid] for rid in ids]
        return [_card(row, near) for row in rows]

    def _filters(self, query: ResourceQuery) -> Iterator[ColumnElement[bool]]:
        if query.type:
            yield Resource.type == query.type
        if query.municipality:
            yield Resource.municipality == query.municipality
        for capability in query.capabilities:
            listed = self._listed(capability)
            yield (listed | Resource.around_the_clock) if capability == "around_the_clock" else listed

    def _listed(self, capability: str) -> ColumnElement[bool]:
        """The capability is one of the elements of the resource's JSON list."""
        if self.dialect == "postgresql":
            return cast(Resource.capabilities, JSONB).contains([capability])
        element = func.json_each(Resource.capabilities).table_valued("value")
        return exists().where(element.c.value == capability)


def heading(query: ResourceQuery, near: tuple[float, float] | None) -> str:
    place = "お近く" if near else (query.municipality or "地域")
    kind = RESOURCE_TYPES.get(query.type or "", "医療・介護の事業所")
    caps = "・".join(CAPABILITIES.get(c, c) for c in query.capabilities)
    return f"{place}の{kind}" + (f"（{caps}）" if caps else "") + ("の空き状況" if query.wants_vacancy else "")


def _nearest(session: Session, ranked: Select, near: tuple[float, float], count: int) -> list[str]:
    """The ids of the first `count` resources in the box around `near`: nearest first, then as ranked."""
    lat, lon = near
    for half in _NEAR_STEPS:
        box = (Resource.latitude.between(lat - half, lat + half),
               Resource.longitude.between(lon - half, lon + half))
        candidates = session.execute(
            ranked.where(*box).add_columns(Resource.id, Resource.latitude, Resource.longitude)).all()
        found = sorted(((_distance(near, c.latitude, c.longitude), c.id) for c in candidates),
                       key=lambda f: f[0])
        # Whatever lies outside this box is farther than `reach` (the way to its east or west side, less
        # a margin for rounding; its north and south sides are farther). When the count-th found lies
        # within that, a bigger box would only add resources that rank after it.
        reach = _EARTH_KM * math.asin(math.cos(math.radians(lat)) * math.sin(math.radians(half))) * 0.999
        if len(found) >= count > 0 and found[count - 1][0] <= reach:
            break
    return [rid for _, rid in found[:count]]


def _with_vacancy(statement: Select) -> Select:
    return statement.select_from(Resource).outerjoin(Vacancy, Vacancy.resource_id == Resource.id)


def _order(query: ResourceQuery) -> list[ColumnElement]:
    """The ranking after the distance, as ORDER BY terms."""
    beds = func.coalesce(Vacancy.available_beds, 0)
    wants_beds = [case((beds > 0, 0), else_=1)] if query.wants_vacancy else []
    return [*wants_beds, case((Resource.accepting_new.is_(False), 1), else_=0), beds.desc(), Resource.id]


def _distance(near: tuple[float, float] | None, latitude: float | None,
              longitude: float | None) -> float | None:
    """Kilometres along the earth's surface (haversine)."""
    if not near or latitude is None or longitude is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (near[0], near[1], latitude, longitude))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return _EARTH_KM * 2 * math.asin(math.sqrt(a))


def _card(row: Row, near: tuple[float, float] | None) -> ResourceCard:
    labels = tuple(CAPABILITIES.get(c, c) for c in row.capabilities or [] if c != "around_the_clock")
    vacancy_text = None
    if row.available_beds is not None:
        beds = f"空き{row.available_beds}床" if row.available_beds > 0 else "満床"
        vacancy_text = f"{beds}（{row.as_of.isoformat()}時点）"
    return ResourceCard(
        name=row.name, type_label=RESOURCE_TYPES.get(row.type, row.type),
        municipality=row.municipality, address=row.address, phone=row.phone,
        hours=row.hours, capabilities=labels, around_the_clock=row.around_the_clock,
        vacancy=vacancy_text, distance_km=_distance(near, row.latitude, row.longitude), sample=row.sample,
        full=row.available_beds == 0, latitude=row.latitude, longitude=row.longitude,
    )
