"""What people type into the desk's forms and API bodies, cleaned before any check."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from db.session import without_nul


class Input(BaseModel):
    """A body someone typed. NUL (which PostgreSQL cannot store and nobody means) is removed before any
    field is checked, so a field of NUL only is blank and refused, not stored empty."""

    @model_validator(mode="before")
    @classmethod
    def _without_nul(cls, data: Any) -> Any:
        return without_nul(data)
