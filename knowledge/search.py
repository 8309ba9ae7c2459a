"""Resource search behind the desk: filters, nearest first for a location, vacancies with their date."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import select

from bot.messages import ResourceCard
from bot.resource_query import ResourceQuery
from db.models import Resource, Vacancy
from db.session import Database
from knowledge.opendata import CAPABILITIES, RESOURCE_TYPES

NEAR_BOX_DEGREES = 0.25  # about 25 km around a shared location


class ResourceSearcher:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, query: ResourceQuery, near: tuple[float, float] | None = None,
                 limit: int = 5, offset: int = 0) -> tuple[str, list[ResourceCard]]:
        return heading(query, near), self.find(query, near, limit, offset)

    def find(self, query: ResourceQuery, near: tuple[float, float] | None = None,
             limit: int = 5, offset: int = 0) -> list[ResourceCard]:
        statement = select(Resource, Vacancy).outerjoin(Vacancy, Vacancy.resource_id == Resource.id).where(
            Resource.active)
        if query.type:
            statement = statement.where(Resource.type == query.type)
        if query.municipality:
            statement = statement.where(Resource.municipality == query.municipality)
        if near:
            lat, lon = near
            statement = statement.where(Resource.latitude.between(lat - NEAR_BOX_DEGREES, lat + NEAR_BOX_DEGREES),
                                        Resource.longitude.between(lon - NEAR_BOX_DEGREES, lon + NEAR_BOX_DEGREES))
        with self.db.session() as session:
            rows = session.execute(statement).all()
        wanted = set(query.capabilities)
        found = [(r, v) for r, v in rows if wanted <= _capabilities(r)]
        found.sort(key=lambda rv: _rank(rv[0], rv[1], query, near))
        return [_card(r, v, near) for r, v in found[offset:offset + limit]]


def heading(query: ResourceQuery, near: tuple[float, float] | None) -> str:
    place = "お近く" if near else (query.municipality or "地域")
    kind = RESOURCE_TYPES.get(query.type or "", "医療・介護の事業所")
    caps = "・".join(CAPABILITIES.get(c, c) for c in query.capabilities)
    return f"{place}の{kind}" + (f"（{caps}）" if caps else "") + ("の空き状況" if query.wants_vacancy else "")


def _capabilities(resource: Resource) -> set[str]:
    caps = set(resource.capabilities or [])
    if resource.around_the_clock:
        caps.add("around_the_clock")
    return caps


def _rank(resource: Resource, vacancy: Vacancy | None, query: ResourceQuery,
          near: tuple[float, float] | None) -> tuple[float, ...]:
    beds = vacancy.available_beds if vacancy else 0
    distance = _distance(resource, near) if near else 0.0
    return (distance if distance is not None else math.inf,
            0 if (not query.wants_vacancy or beds > 0) else 1,
            0 if resource.accepting_new is not False else 1,
            -beds)


def _distance(resource: Resource, near: tuple[float, float] | None) -> float | None:
    if not near or resource.latitude is None or resource.longitude is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (near[0], near[1], resource.latitude, resource.longitude))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def _card(resource: Resource, vacancy: Vacancy | None, near: tuple[float, float] | None) -> ResourceCard:
    labels: Sequence[str] = [CAPABILITIES.get(c, c) for c in resource.capabilities or [] if c != "around_the_clock"]
    vacancy_text = None
    if vacancy is not None:
        beds = f"空き{vacancy.available_beds}床" if vacancy.available_beds > 0 else "満床"
        vacancy_text = f"{beds}（{vacancy.as_of.isoformat()}時点）"
    return ResourceCard(
        name=resource.name, type_label=RESOURCE_TYPES.get(resource.type, resource.type),
        municipality=resource.municipality, address=resource.address, phone=resource.phone,
        hours=resource.hours, capabilities=tuple(labels), around_the_clock=resource.around_the_clock,
        vacancy=vacancy_text, distance_km=_distance(resource, near), sample=resource.sample,
    )
