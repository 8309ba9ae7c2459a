"""What a resource may say, checked in one place for every way it changes: the admin API, the console's
editor and Slack's `更新` command all validate the resource as it would be after the change."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from db.models import Resource
from knowledge.input import Input
from knowledge.opendata import CAPABILITIES, RESOURCE_TYPES

ResourceType = Literal[tuple(RESOURCE_TYPES)]  # type: ignore[valid-type]
Capability = Literal[tuple(CAPABILITIES)]  # type: ignore[valid-type]


class ResourceBody(Input):
    """A resource's facts, as they may be stored."""

    name: str = Field(min_length=1, max_length=200)
    type: ResourceType
    municipality: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    phone: str | None = Field(default=None, max_length=40)
    hours: str | None = Field(default=None, max_length=200)
    around_the_clock: bool = False
    capabilities: list[Capability] = Field(default_factory=list)
    accepting_new: bool | None = None
    notes: str | None = Field(default=None, max_length=2000)
    source: str = Field(default="staff", min_length=1, max_length=200)
    sample: bool = False

    @field_validator("phone")
    @classmethod
    def phone_digits(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[0-9#*+()\- ]{2,40}", value):
            raise ValueError("電話番号は数字とハイフンで書いてください")
        return value


def facts_of(row: Resource) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ResourceBody.model_fields}


def check_change(row: Resource, changes: dict[str, Any]) -> ResourceBody:
    """The resource as the change would leave it; pydantic.ValidationError (naming the field) if it
    could not be stored as it is."""
    return ResourceBody.model_validate({**facts_of(row), **changes})
